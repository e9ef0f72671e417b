// swift-tools-version:6.0
import PackageDescription

// Layering (see ../shared/DESIGN.md): each target may import only the ones listed as its
// dependencies. The core `WebSocket` target depends on nothing but the standard library.
let package = Package(
    name: "wscope",
    products: [
        .library(name: "WebSocket", targets: ["WebSocket"]),
        .library(name: "WebSocketUtil", targets: ["WebSocketUtil"]),
        .library(name: "WebSocketDeflate", targets: ["WebSocketDeflate"]),
        .library(name: "WebSocketTransport", targets: ["WebSocketTransport"]),
        // For the benchmark package (Benchmarks/), which can only use products.
        .library(name: "Inspector", targets: ["Inspector"]),
        .library(name: "TerminalUI", targets: ["TerminalUI"]),
        .executable(name: "wscope", targets: ["wscope"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CNCurses", pkgConfig: "ncursesw", providers: [.apt(["libncurses-dev"])]),

        .target(name: "WebSocket"),
        .target(name: "WebSocketUtil", dependencies: ["WebSocket"]),
        .target(name: "WebSocketDeflate", dependencies: ["WebSocket", "WebSocketUtil", "CZlib"]),
        .target(name: "WebSocketTransport", dependencies: ["COpenSSL"]),
        .target(
            name: "Inspector",
            dependencies: ["WebSocket", "WebSocketUtil", "WebSocketDeflate", "WebSocketTransport"]
        ),
        .target(name: "TerminalUI", dependencies: ["Inspector", "CNCurses"]),
        .executableTarget(
            name: "wscope",
            dependencies: [
                "Inspector", "TerminalUI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .testTarget(name: "WebSocketTests", dependencies: ["WebSocket"]),
        .testTarget(name: "WebSocketUtilTests", dependencies: ["WebSocketUtil"]),
        .testTarget(name: "WebSocketDeflateTests", dependencies: ["WebSocketDeflate", "CZlib"]),
        .testTarget(name: "WebSocketTransportTests", dependencies: ["WebSocketTransport"]),
        .testTarget(name: "InspectorTests", dependencies: ["Inspector", "WebSocketTransport"]),
        .testTarget(name: "TerminalUITests", dependencies: ["TerminalUI", "Inspector", "WebSocket"]),
    ]
)
