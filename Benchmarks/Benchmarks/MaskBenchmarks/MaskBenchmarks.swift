// Masking throughput: Cipher.mask in place vs memcpy of the same size (source and
// destination distinct, both warm) vs NIO's ByteBuffer.webSocketMask(_:indexOffset:) in
// place on a uniquely owned ByteBuffer. One operation = one whole buffer.

import Benchmark
import BenchmarkSupport
import NIOCore
import NIOWebSocket
import WebSocket

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

let sizes: [(name: String, bytes: Int)] = [("64KiB", 64 << 10), ("1MiB", 1 << 20)]

/// Per-call times of Cipher.mask and memcpy measured back to back in the same iteration
/// (see "paired" below): run.sh takes its mask/memcpy ratio from these medians, which are
/// robust to load that comes and goes between separately run benchmarks.
let pairedMask = BenchmarkMetric.custom("paired Cipher.mask (ns)", polarity: .prefersSmaller, useScalingFactor: false)
let pairedMemcpy = BenchmarkMetric.custom("paired memcpy (ns)", polarity: .prefersSmaller, useScalingFactor: false)

@inline(__always) func monotonicNanoseconds() -> Int {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return time.tv_sec &* 1_000_000_000 &+ time.tv_nsec
}

let benchmarks: @Sendable () -> Void = {
    for (name, size) in sizes {
        let config = configuration(ops: .one, bytesPerOp: size)

        let buffer = Lazy { makeBuffer(count: size) }
        Benchmark("Cipher.mask/\(name)", configuration: config) { benchmark in
            let buffer = buffer.value
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                Cipher.mask(buffer, key: benchmarkMaskKey)
            }
            benchmark.stopMeasurement()
            blackHole(buffer.baseAddress)
        }

        // Start 3 bytes past an aligned address and 1 byte into the key: the unaligned path.
        let unaligned = Lazy { makeBuffer(count: size + 3) }
        Benchmark("Cipher.mask/\(name) unaligned+offset", configuration: config) { benchmark in
            let buffer = UnsafeMutableRawBufferPointer(rebasing: unaligned.value[3...])
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                Cipher.mask(buffer, key: benchmarkMaskKey, offset: 1)
            }
            benchmark.stopMeasurement()
            blackHole(buffer.baseAddress)
        }

        let source = Lazy { makeBuffer(count: size) }
        let destination = Lazy { makeBuffer(count: size) }
        Benchmark("memcpy/\(name)", configuration: config) { benchmark in
            let source = source.value
            let destination = destination.value
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                memcpy(destination.baseAddress!, source.baseAddress!, size)
            }
            benchmark.stopMeasurement()
            blackHole(destination.baseAddress)
        }

        // Paired: each iteration masks the buffer and then copies a same-size buffer, timing
        // each call separately. The wall clock of an iteration covers both.
        var paired = configuration(ops: .one, bytesPerOp: size)
        paired.metrics += [pairedMask, pairedMemcpy]
        Benchmark("Paired Cipher.mask+memcpy/\(name)", configuration: paired) { benchmark in
            let buffer = buffer.value
            let source = source.value
            let destination = destination.value
            benchmark.startMeasurement()
            let start = monotonicNanoseconds()
            Cipher.mask(buffer, key: benchmarkMaskKey)
            let middle = monotonicNanoseconds()
            memcpy(destination.baseAddress!, source.baseAddress!, size)
            let end = monotonicNanoseconds()
            benchmark.stopMeasurement()
            benchmark.measurement(pairedMask, middle &- start)
            benchmark.measurement(pairedMemcpy, end &- middle)
            blackHole(buffer.baseAddress)
            blackHole(destination.baseAddress)
        }

        let nioBuffer = Lazy { () -> ByteBuffer in
            var buffer = ByteBufferAllocator().buffer(capacity: size)
            buffer.writeRepeatingByte(0x5A, count: size)
            return buffer
        }
        Benchmark("NIO webSocketMask/\(name)", configuration: config) { benchmark in
            // Take the buffer out of the box so that it is uniquely referenced while
            // masking (no copy-on-write), and put it back afterwards.
            var buffer = nioBuffer.take()
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                buffer.webSocketMask(nioMaskKey)
            }
            benchmark.stopMeasurement()
            blackHole(buffer.readableBytes)
            nioBuffer.put(buffer)
        }
    }
}
