// libFuzzer target for the frame layer of the core: Header.decode / violation / encode,
// Cipher.mask, CloseBody.decode and UTF8Validator (Sources/WebSocket/{Read,Write,Errors,
// Cipher,Close,UTF8Validator}.swift).
//
// Build and run with scripts/fuzz.sh (target name `frame-decoder`). By hand, from the
// package root:
//
//   OUT=.build-fuzz; mkdir -p $OUT
//   F="-parse-as-library -sanitize=fuzzer,address -O -g -I $OUT"
//   swiftc $F -module-name WebSocket -emit-module -emit-module-path $OUT/WebSocket.swiftmodule \
//     -emit-library -static -o $OUT/libWebSocket.a Sources/WebSocket/*.swift
//   swiftc $F -use-ld=lld -module-name FrameDecoderFuzz Fuzz/FrameDecoderFuzz/main.swift \
//     -L $OUT -lWebSocket -o $OUT/frame-decoder
//   $OUT/frame-decoder -max_total_time=60 $OUT/corpus/frame-decoder Fuzz/FrameDecoderFuzz/seeds

import WebSocket

/// Input layout: byte 0 holds options, byte 1 seeds the read-size pattern, the rest is a
/// byte stream read like a real reader reads a connection: decode a header at the current
/// offset, judge it, skip its payload when the payload has arrived (unmasking it piece by
/// piece at running offsets, decoding close bodies, validating text across fragments),
/// and go on with the next frame.
///
/// Options (byte 0): bit 0 = our role (0 client, 1 server); bits 1-3 = the RSV bits an
/// extension allows; bit 4 = strict (stop at the first violation, as a connection would)
/// rather than lenient (go on, as an inspector does).
///
/// Invariants checked: a header is 2...14 bytes and exactly the size its length form and
/// mask bit imply; "need more" is 1...14 and exact; re-encoding a decoded header with its
/// own length form reproduces the wire bytes, and with the minimal form decodes to the
/// same header; `violation` agrees with an independent statement of the rules; masking in
/// pieces equals the byte-wise reference; a frame rebuilt from the decoded header and
/// unmasked payload has the same wire bytes; close-body and UTF-8 verdicts agree with the
/// standard library.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let options = data[0]
    let role: Role = options & 1 == 0 ? .client : .server
    let allowedRSV = (options >> 1) & 0b111
    let strict = options & 0x10 != 0
    var pieces = PieceSizes(seed: data[1])
    let stream = UnsafeRawBufferPointer(start: data + 2, count: size - 2)
    var reader = Reader(role: role, allowedRSV: allowedRSV)

    var offset = 0
    while offset < stream.count {
        let rest = UnsafeRawBufferPointer(rebasing: stream[offset...])
        switch Header.decode(rest) {
        case .needMore(let missing):
            checkNeedMore(missing, available: rest)
            return 0
        case .header(let header, let headerSize):
            checkHeader(header, size: headerSize, wire: UnsafeRawBufferPointer(rebasing: rest[..<headerSize]))
            let violation = header.violation(receivedBy: role, headerSize: headerSize, allowedRSV: allowedRSV)
            checkViolation(violation, of: header, size: headerSize, role: role, allowedRSV: allowedRSV)
            if strict && violation != nil { return 0 }
            // The payload, if it has arrived.
            let available = UInt64(rest.count - headerSize)
            guard header.length <= available else { return 0 }
            let frameSize = headerSize + Int(header.length)
            let payload = UnsafeRawBufferPointer(rebasing: rest[headerSize..<frameSize])
            let unmasked = unmask(payload, header: header, pieces: &pieces)
            checkRebuild(header: header, unmasked: unmasked, wire: UnsafeRawBufferPointer(rebasing: rest[..<frameSize]))
            if !reader.frame(header, payload: unmasked, violation: violation, pieces: &pieces) && strict { return 0 }
            offset += frameSize
        }
    }
    return 0
}

// MARK: - Header checks

func fail(_ message: @autoclosure () -> String) -> Never {
    fatalError("FrameDecoderFuzz invariant: " + message())
}

func hex(_ bytes: UnsafeRawBufferPointer) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
}

/// The size a header takes given its first two bytes.
func expectedHeaderSize(_ wire: UnsafeRawBufferPointer) -> Int {
    let length7 = wire[1] & 0x7F
    return 2 + (length7 == 126 ? 2 : length7 == 127 ? 8 : 0) + (wire[1] & 0x80 != 0 ? 4 : 0)
}

func checkNeedMore(_ missing: Int, available: UnsafeRawBufferPointer) {
    guard missing >= 1, missing <= Header.maximumSize else { fail("needMore(\(missing)) out of range") }
    if available.count < 2 {
        guard missing == 2 - available.count else { fail("needMore(\(missing)) with \(available.count) bytes") }
        return
    }
    let size = expectedHeaderSize(available)
    guard available.count < size, missing == size - available.count else {
        fail("needMore(\(missing)) with \(available.count) of \(size) bytes: \(hex(available))")
    }
}

func checkHeader(_ header: Header, size: Int, wire: UnsafeRawBufferPointer) {
    guard size >= Header.minimumSize, size <= Header.maximumSize, size == wire.count else {
        fail("header size \(size) out of range")
    }
    guard size == expectedHeaderSize(wire) else { fail("header size \(size) for \(hex(wire))") }
    // Field by field against the RFC 6455 5.2 layout.
    let b0 = wire[0]
    let b1 = wire[1]
    guard header.fin == (b0 & 0x80 != 0), header.rsv1 == (b0 & 0x40 != 0), header.rsv2 == (b0 & 0x20 != 0),
        header.rsv3 == (b0 & 0x10 != 0), header.opcode.rawValue == b0 & 0x0F, header.masked == (b1 & 0x80 != 0)
    else { fail("flags of \(hex(wire)) decoded as \(header)") }
    var length = UInt64(b1 & 0x7F)
    let lengthBytes = length == 126 ? 2 : length == 127 ? 8 : 0
    if lengthBytes > 0 {
        length = 0
        for index in 2..<(2 + lengthBytes) { length = length << 8 | UInt64(wire[index]) }
    }
    guard header.length == length else { fail("length of \(hex(wire)) decoded as \(header.length)") }
    if header.masked {
        let key = Array(wire[(size - 4)...])
        guard header.maskKeyBytes == key else { fail("mask key of \(hex(wire))") }
    }

    // Every strict prefix asks for exactly what is missing.
    for count in 0..<size {
        let expected = count < 2 ? 2 - count : size - count
        guard Header.decode(UnsafeRawBufferPointer(rebasing: wire[..<count])) == .needMore(expected) else {
            fail("prefix \(count) of \(hex(wire))")
        }
    }

    // Re-encoding with the wire's own length form gives the wire bytes back.
    let form: LengthEncoding = lengthBytes == 8 ? .extended64 : lengthBytes == 2 ? .extended16 : .minimal
    guard header.encodedSize(lengthEncoding: form) == size else { fail("encodedSize(\(form)) for \(hex(wire))") }
    var buffer = (UInt64(0), UInt64(0))
    withUnsafeMutableBytes(of: &buffer) { out in
        let written = header.encode(into: out, lengthEncoding: form)
        guard written == size, out.prefix(size).elementsEqual(wire) else { fail("re-encoding \(hex(wire)) as \(form)") }
    }
    // The minimal encoding decodes to the same header, in its own (minimal) size.
    withUnsafeMutableBytes(of: &buffer) { out in
        let written = header.encode(into: out)
        guard written == header.encodedSize, written <= size else { fail("minimal encoding of \(hex(wire))") }
        guard Header.decode(UnsafeRawBufferPointer(rebasing: out[..<written])) == .header(header, size: written) else {
            fail("minimal re-encoding of \(hex(wire)) decodes differently")
        }
        // Too small a buffer: nothing written.
        guard header.encode(into: UnsafeMutableRawBufferPointer(rebasing: out[..<(written - 1)])) == 0 else {
            fail("encode into \(written - 1) bytes")
        }
    }
}

/// The header rules restated independently of `Header.violation`, in its order.
func checkViolation(_ violation: ProtocolViolation?, of header: Header, size: Int, role: Role, allowedRSV: UInt8) {
    let expected: ProtocolViolation?
    let rsv = (header.rsv1 ? 4 : 0) | (header.rsv2 ? 2 : 0) | (header.rsv3 ? 1 : 0) as UInt8
    let op = header.opcode.rawValue
    if rsv & ~allowedRSV != 0 {
        expected = .reservedBitsSet(rsv & ~allowedRSV)
    } else if (3...7).contains(op) || op >= 11 {
        expected = .reservedOpcode(header.opcode)
    } else if op >= 8 && !header.fin {
        expected = .fragmentedControlFrame(header.opcode)
    } else if op >= 8 && header.length > 125 {
        expected = .controlFrameTooLong(header.opcode, length: header.length)
    } else if role == .server && !header.masked {
        expected = .unmaskedClientFrame
    } else if role == .client && header.masked {
        expected = .maskedServerFrame
    } else if header.length >= 1 << 63 {
        expected = .lengthMostSignificantBitSet
    } else if (size - (header.masked ? 4 : 0)) != (header.length < 126 ? 2 : header.length < 65536 ? 4 : 10) {
        expected = .nonMinimalLength(header.length)
    } else {
        expected = nil
    }
    guard violation == expected else { fail("violation \(String(describing: violation)), expected \(String(describing: expected)) for \(header)") }
    if let violation, violation.closeCode != .protocolError { fail("\(violation) closes with \(violation.closeCode)") }
}

// MARK: - Payload

/// Payload piece sizes, as successive reads would deliver them.
struct PieceSizes {
    var state: UInt32
    init(seed: UInt8) { state = UInt32(seed) &* 0x9E37_79B9 | 1 }
    mutating func next() -> Int {
        state ^= state << 13
        state ^= state >> 17
        state ^= state << 5
        // Mostly small pieces (odd offsets and short tails), sometimes large ones.
        return state & 3 == 0 ? Int(state >> 8 & 0x3FF) + 1 : Int(state >> 8 & 0xF) + 1
    }
}

/// The payload unmasked piece by piece at running offsets, checked against the one-shot
/// and byte-wise unmasking.
func unmask(_ payload: UnsafeRawBufferPointer, header: Header, pieces: inout PieceSizes) -> [UInt8] {
    guard header.masked else { return Array(payload) }
    var inPieces = Array(payload)
    var oneShot = inPieces
    var reference = inPieces
    inPieces.withUnsafeMutableBytes { buffer in
        var position = 0
        while position < buffer.count {
            let end = min(buffer.count, position + pieces.next())
            Cipher.mask(UnsafeMutableRawBufferPointer(rebasing: buffer[position..<end]), key: header.maskKey, offset: position)
            position = end
        }
    }
    oneShot.withUnsafeMutableBytes { Cipher.mask($0, key: header.maskKey) }
    reference.withUnsafeMutableBytes { Cipher.maskBytewise($0, key: header.maskKey) }
    guard inPieces == reference, oneShot == reference else { fail("masking differs from maskBytewise, \(payload.count) bytes") }
    // Masking is its own inverse.
    oneShot.withUnsafeMutableBytes { Cipher.mask($0, key: header.maskKey) }
    guard oneShot.elementsEqual(payload) else { fail("masking twice did not restore") }
    return inPieces
}

/// A frame rebuilt from what was decoded has the exact wire bytes it came from.
func checkRebuild(header: Header, unmasked: [UInt8], wire: UnsafeRawBufferPointer) {
    let length7 = wire[1] & 0x7F
    let form: LengthEncoding = length7 == 127 ? .extended64 : length7 == 126 ? .extended16 : .minimal
    let rebuilt = Frame(header: header, payload: unmasked).wireBytes(lengthEncoding: form)
    guard rebuilt.elementsEqual(wire) else { fail("rebuilt frame differs: \(hex(wire))") }
    // The zero-copy writer gives the minimal encoding of the same frame.
    var output: [UInt8] = [0x55]
    unmasked.withUnsafeBytes { Frame.write(header: header, payload: $0, into: &output) }
    output.withUnsafeBytes { bytes in
        let written = UnsafeRawBufferPointer(rebasing: bytes[1...])
        guard case .header(let again, let size) = Header.decode(written), again == header,
            size == header.encodedSize, size + unmasked.count == written.count
        else { fail("Frame.write of \(header)") }
        var payload = Array(written[size...])
        if header.masked { payload.withUnsafeMutableBytes { Cipher.mask($0, key: header.maskKey) } }
        guard payload == unmasked else { fail("Frame.write payload of \(header)") }
    }
}

/// Message-level state: a text message's UTF-8 validated across its fragments, fed in
/// pieces; close bodies decoded.
struct Reader {
    let role: Role
    let allowedRSV: UInt8
    /// The opcode of the message in progress, if a fragmented one is.
    var message: OpCode?
    var validator = UTF8Validator()
    var validatorFailed = false
    var text: [UInt8] = []

    init(role: Role, allowedRSV: UInt8) {
        self.role = role
        self.allowedRSV = allowedRSV
    }

    /// Returns false when a real reader would fail the connection here.
    mutating func frame(_ header: Header, payload: [UInt8], violation: ProtocolViolation?, pieces: inout PieceSizes) -> Bool {
        var ok = violation == nil
        switch header.opcode {
        case .close:
            checkClose(payload)
            if case .failure = CloseBody.decode(payload) { ok = false }
        case .ping, .pong:
            break
        case .text, .binary:
            if message != nil { ok = false }  // expected a continuation
            message = header.opcode
            validator.reset()
            validatorFailed = false
            text.removeAll(keepingCapacity: true)
            ok = feed(payload, fin: header.fin, pieces: &pieces) && ok
        case .continuation:
            guard message != nil else { return false }  // nothing to continue
            ok = feed(payload, fin: header.fin, pieces: &pieces) && ok
        default:
            return false  // reserved opcode
        }
        return ok
    }

    mutating func feed(_ payload: [UInt8], fin: Bool, pieces: inout PieceSizes) -> Bool {
        var ok = true
        if message == .text {
            var position = 0
            while position < payload.count && !validatorFailed {
                let end = min(payload.count, position + pieces.next())
                let piece = Array(payload[position..<end])
                let before = validator
                if !piece.withUnsafeBytes({ validator.validate($0) }) {
                    validatorFailed = true
                    checkFailFast(from: before, piece: piece)
                }
                text += piece
                position = end
            }
            if validatorFailed {
                ok = false
            } else if !isValidPrefix(text) {
                fail("validator missed invalid UTF-8 in \(text.count) bytes")
            }
            if fin {
                let valid = !validatorFailed && validator.isComplete
                if !validatorFailed {
                    guard valid == (String(validating: text, as: UTF8.self) != nil) else {
                        fail("UTF-8 verdict \(valid) on \(text.count) bytes disagrees with the stdlib")
                    }
                    guard UTF8Validator.isValid(text) == valid else { fail("isValid disagrees with incremental validation") }
                }
                ok = ok && valid
            }
        }
        if fin {
            message = nil
            text.removeAll(keepingCapacity: true)
        }
        return ok
    }

    /// The piece failed validation: find the failing byte one byte at a time, and check
    /// that the text up to it could still have been valid and the text through it cannot.
    func checkFailFast(from state: UTF8Validator, piece: [UInt8]) {
        var validator = state
        for index in piece.indices {
            let accepted = [piece[index]].withUnsafeBytes { validator.validate($0) }
            if accepted { continue }
            guard isValidPrefix(text + piece[..<index]) else { fail("validator failed late, at byte \(text.count + index)") }
            guard !isValidPrefix(text + piece[...index]) else { fail("validator failed early, at byte \(text.count + index)") }
            return
        }
        fail("a piece failed as a whole but not byte by byte")
    }
}

/// Whether some continuation makes `bytes` valid UTF-8: only a cut final character can be
/// completed, and 0x80, 0x90 or 0xA0 fit every continuation position's range.
func isValidPrefix(_ bytes: [UInt8]) -> Bool {
    if String(validating: bytes, as: UTF8.self) != nil { return true }
    for count in 1...3 {
        for pattern in 0..<(1 << (2 * count)) {
            var candidate = bytes
            for index in 0..<count {
                let choice = pattern >> (2 * index) & 3
                candidate.append(choice == 0 ? 0x80 : choice == 1 ? 0x90 : 0xA0)
            }
            if String(validating: candidate, as: UTF8.self) != nil { return true }
        }
    }
    return false
}

/// The close-body verdict restated with the standard library.
func checkClose(_ payload: [UInt8]) {
    let result = CloseBody.decode(payload)
    let raw = payload.withUnsafeBytes { CloseBody.decode($0) }
    switch (result, raw) {
    case (.success(let decoded), .success(let decodedRaw)):
        guard decoded.code == decodedRaw.code else { fail("close decoders disagree") }
        if payload.isEmpty {
            guard decoded.code == nil, decoded.reason.isEmpty else { fail("empty close body") }
            return
        }
        guard payload.count >= 2 else { fail("accepted a close body of \(payload.count) byte") }
        let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
        guard decoded.code?.rawValue == code, CloseCode(code).isAllowedOnWire else {
            fail("accepted close body \(payload.prefix(4))")
        }
        guard let reason = String(validating: payload[2...], as: UTF8.self), reason == decoded.reason else {
            fail("accepted close reason that the stdlib rejects")
        }
    case (.failure(let violation), .failure(let violationRaw)):
        guard violation == violationRaw else { fail("close decoders disagree") }
        switch violation {
        case .closePayloadTooShort:
            guard payload.count == 1 else { fail("closePayloadTooShort for \(payload.count) bytes") }
        case .invalidCloseCode(let code):
            guard payload.count >= 2, code == UInt16(payload[0]) << 8 | UInt16(payload[1]), !CloseCode(code).isAllowedOnWire else {
                fail("invalidCloseCode(\(code))")
            }
        case .invalidUTF8:
            guard payload.count >= 2, String(validating: payload[2...], as: UTF8.self) == nil else {
                fail("invalidUTF8 for a valid reason")
            }
            guard violation.closeCode == .invalidPayloadData else { fail("invalid reason closes with \(violation.closeCode)") }
            return
        default:
            fail("unexpected close violation \(violation)")
        }
        guard violation.closeCode == .protocolError else { fail("\(violation) closes with \(violation.closeCode)") }
    default:
        fail("close decoders disagree")
    }
}
