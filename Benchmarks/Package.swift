// swift-tools-version:6.1
import PackageDescription
import Foundation

// The main package is a path dependency; SwiftPM names it after its directory, which is
// not always "wscope" (worktrees, CI clones), so derive the identity from the path.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let wscope = root.lastPathComponent.lowercased()

// Benchmark executables (Benchmarks/<Name>/) and the wscope products each one uses.
let benchmarkTargets: [(String, [String])] = [
    ("HeaderBenchmarks", ["WebSocket"]),
    ("MaskBenchmarks", ["WebSocket"]),
    ("FrameBenchmarks", ["WebSocket"]),
    ("ConnectionBenchmarks", ["WebSocket", "WebSocketUtil"]),
    ("UpgradeBenchmarks", ["WebSocket"]),
    ("DeflateBenchmarks", ["WebSocket", "WebSocketUtil", "WebSocketDeflate"]),
    ("RecordingBenchmarks", ["WebSocket", "Inspector"]),
    ("TimelineBenchmarks", ["WebSocket", "Inspector", "TerminalUI"]),
]

let package = Package(
    name: "wscope-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .target(
            name: "BenchmarkSupport",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "WebSocket", package: wscope),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),
    ] + benchmarkTargets.map { name, products in
        .executableTarget(
            name: name,
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ] + products.map { .product(name: $0, package: wscope) },
            path: "Benchmarks/\(name)",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    }
)
