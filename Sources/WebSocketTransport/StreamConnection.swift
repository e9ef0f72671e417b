/// A byte stream on an `EventLoop`, as session code uses it: a plain `TCPConnection` or a
/// `TLSConnection` over one. Use it only on the loop's thread.
public protocol StreamConnection: AnyObject {
    /// Held weakly.
    var delegate: ConnectionDelegate? { get set }
    /// Unique per loop and increasing, for display.
    var id: Int { get }
    /// "127.0.0.1:54321", "[::1]:80".
    var remoteDescription: String { get }
    /// True until `close()`/`abort()` is called or the connection ends.
    var isOpen: Bool { get }
    /// Bytes accepted by `write` and not yet handed to the kernel.
    var pendingOutputBytes: Int { get }

    /// Sends what it can now and queues the rest (copied). Ignored after `close()`/`abort()`.
    /// A failure closes the connection; the delegate hears of it in `connectionDidClose`.
    func write(_ bytes: UnsafeRawBufferPointer)
    func write(_ bytes: [UInt8])
    /// Graceful close: flushes what is queued (for TLS, then sends close_notify) and
    /// closes. No more `didRead`; `connectionDidClose` follows once the output is gone.
    func close()
    /// Immediate close: drops queued output. `connectionDidClose` (nil error) follows on
    /// the next loop iteration unless it already happened.
    func abort()
    /// Stops `didRead` (and the peer's writes block once the buffers fill) until
    /// `resumeReading`. Output keeps flowing.
    func pauseReading()
    func resumeReading()
}

/// Receives what happens on a `StreamConnection`. All calls come from the event loop.
public protocol ConnectionDelegate: AnyObject {
    /// Bytes arrived. `bytes` is the loop's reusable read buffer: valid only during the
    /// call; copy what must outlive it. Writing, closing or pausing from here is fine.
    func connection(_ connection: StreamConnection, didRead bytes: UnsafeRawBufferPointer)
    /// The connection is over; called exactly once, from the loop (never from inside a
    /// call to `write`, `close` or `abort`). `error` is nil for an orderly end (the peer's
    /// EOF, or our `close()`/`abort()`).
    func connectionDidClose(_ connection: StreamConnection, error: TransportError?)
    /// Output that had to be queued has all gone to the kernel (pending output went from
    /// above 0 to 0). Not called when a `write` goes out at once. For backpressure.
    func connectionDidDrain(_ connection: StreamConnection)
    /// A `TLSConnection`'s handshake completed; `info` is also in its `negotiated`.
    /// Application data is read and delivered only after this call, so a delegate set
    /// from here receives all of it.
    func connectionDidEstablishTLS(_ connection: StreamConnection, info: TLSInfo)
}

extension ConnectionDelegate {
    public func connectionDidDrain(_ connection: StreamConnection) {}
    public func connectionDidEstablishTLS(_ connection: StreamConnection, info: TLSInfo) {}
}
