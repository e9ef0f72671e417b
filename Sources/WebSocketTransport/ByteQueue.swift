import Glibc

/// A reusable FIFO of bytes: appends at the tail, consumes from the head, and compacts
/// (moves the live bytes to the front) instead of reallocating when that frees enough
/// room. A large buffer is released when it empties so idle connections stay small.
struct ByteQueue: ~Copyable {
    private var storage: UnsafeMutableRawPointer?
    private(set) var capacity = 0
    private var head = 0
    private var tail = 0

    static let minimumCapacity = 16 * 1024
    /// Emptied buffers above this size are freed rather than kept.
    static let keepCapacity = 1 << 20

    init() {}

    deinit { storage?.deallocate() }

    var count: Int { tail - head }
    var isEmpty: Bool { tail == head }

    /// The queued bytes; valid until the next mutation.
    var readable: UnsafeRawBufferPointer {
        guard let storage else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: storage + head, count: tail - head)
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        (storage! + tail).copyMemory(from: source, byteCount: bytes.count)
        tail += bytes.count
    }

    mutating func consume(_ byteCount: Int) {
        precondition(byteCount <= count)
        head += byteCount
        if head == tail {
            head = 0
            tail = 0
            if capacity > Self.keepCapacity { release() }
        }
    }

    mutating func release() {
        storage?.deallocate()
        storage = nil
        capacity = 0
        head = 0
        tail = 0
    }

    private mutating func reserve(_ extra: Int) {
        if capacity - tail >= extra { return }
        let live = tail - head
        // Compact when the live bytes are at most half the buffer (so each byte moves at
        // most a bounded number of times); grow otherwise.
        if let storage, live + extra <= capacity, live <= capacity / 2 {
            if live > 0 { memmove(storage, storage + head, live) }  // regions may overlap
            head = 0
            tail = live
            return
        }
        var newCapacity = max(Self.minimumCapacity, capacity)
        while newCapacity < live + extra { newCapacity *= 2 }
        let newStorage = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        if let storage {
            if live > 0 { newStorage.copyMemory(from: storage + head, byteCount: live) }
            storage.deallocate()
        }
        storage = newStorage
        capacity = newCapacity
        head = 0
        tail = live
    }
}
