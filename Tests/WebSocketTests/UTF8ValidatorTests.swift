import Foundation
import Testing
import WebSocket

/// `UTF8Validator` against the standard library's UTF-8 decoder.
struct UTF8ValidatorTests {
    // MARK: Oracles

    /// The standard library's verdict on a whole message.
    static func stdlibValid(_ bytes: [UInt8]) -> Bool {
        String(validating: bytes, as: UTF8.self) != nil
    }

    /// Whether some continuation of `bytes` is valid UTF-8, i.e. a fail-fast validator must
    /// not have failed yet. At most three bytes can be missing, and 0x80, 0x90 or 0xA0
    /// satisfy the narrowest range any continuation position allows.
    static func stdlibValidPrefix(_ bytes: [UInt8]) -> Bool {
        if stdlibValid(bytes) { return true }
        let candidates: [UInt8] = [0x80, 0x90, 0xA0]
        var tails: [[UInt8]] = [[]]
        for _ in 0..<3 {
            tails = tails.flatMap { tail in candidates.map { tail + [$0] } }
            if tails.contains(where: { stdlibValid(bytes + $0) }) { return true }
        }
        return false
    }

    static func validate(_ bytes: [UInt8], into validator: inout UTF8Validator) -> Bool {
        bytes.withUnsafeBytes { validator.validate($0) }
    }

    /// The validator fed `bytes` in two parts split at `split`: valid and complete.
    static func validInTwoParts(_ bytes: [UInt8], split: Int) -> Bool {
        var validator = UTF8Validator()
        return validate(Array(bytes[..<split]), into: &validator)
            && validate(Array(bytes[split...]), into: &validator)
            && validator.isComplete
    }

    /// The index of the byte at which the validator, fed one byte at a time, fails; nil if
    /// it never does.
    static func failingIndex(_ bytes: [UInt8]) -> Int? {
        var validator = UTF8Validator()
        for index in bytes.indices where !validate([bytes[index]], into: &validator) { return index }
        return nil
    }

    /// Checks everything the validator claims about `bytes` against the oracles: the
    /// whole-message verdict (one go, byte by byte, at every split in two) and fail-fast.
    static func checkAgreement(_ bytes: [UInt8], splits: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) {
        let expected = stdlibValid(bytes)
        let hex = FrameFixture.hexString(Array(bytes.prefix(48)))
        #expect(UTF8Validator.isValid(bytes) == expected, "isValid \(hex)", sourceLocation: sourceLocation)

        var validator = UTF8Validator()
        let oneGo = validate(bytes, into: &validator)
        #expect((oneGo && validator.isComplete) == expected, "\(hex)", sourceLocation: sourceLocation)
        // One go says false exactly when some byte can never be part of valid UTF-8.
        let failure = failingIndex(bytes)
        #expect(oneGo == (failure == nil), "one go vs byte by byte \(hex)", sourceLocation: sourceLocation)
        if let failure {
            // Fail fast: everything before the failing byte could still have been valid,
            // and nothing that includes it can be.
            #expect(stdlibValidPrefix(Array(bytes[..<failure])), "failed late \(hex) at \(failure)", sourceLocation: sourceLocation)
            #expect(!stdlibValidPrefix(Array(bytes[...failure])), "failed early \(hex) at \(failure)", sourceLocation: sourceLocation)
        } else {
            #expect(stdlibValidPrefix(bytes), "missed an error in \(hex)", sourceLocation: sourceLocation)
        }
        if splits {
            for split in 0...bytes.count where validInTwoParts(bytes, split: split) != expected {
                Issue.record("split at \(split) disagrees with the stdlib: \(hex)", sourceLocation: sourceLocation)
            }
        }
    }

    // MARK: Random input

    /// Random bytes biased toward the interesting ones: leads, continuations, the special
    /// leads E0/ED/F0/F4 and their boundary continuations, and some ASCII.
    static func biasedBytes(_ count: Int, _ random: inout FrameTestRandom) -> [UInt8] {
        let interesting: [UInt8] = [
            0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF,
            0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xF7, 0xF8, 0xFE, 0xFF, 0x00, 0x7F, 0x41,
        ]
        return (0..<count).map { _ in
            switch random.next() % 8 {
            case 0, 1: return 0x80 | UInt8(random.next() % 0x40)  // continuation
            case 2, 3: return interesting[Int(random.next() % UInt64(interesting.count))]
            case 4: return UInt8(random.next() % 0x80)  // ASCII
            default: return 0x80 | random.byte()  // any high byte
            }
        }
    }

    /// A random scalar of 1, 2, 3 or 4 UTF-8 bytes (never a surrogate).
    static func randomScalar(_ random: inout FrameTestRandom) -> Unicode.Scalar {
        while true {
            let value: UInt32
            switch random.next() % 5 {
            case 0: value = UInt32(random.next() % 0x80)
            case 1: value = 0x80 + UInt32(random.next() % (0x800 - 0x80))
            case 2: value = 0x800 + UInt32(random.next() % (0x1_0000 - 0x800))
            case 3: value = 0x1_0000 + UInt32(random.next() % (0x11_0000 - 0x1_0000))
            default:
                // Boundaries of each length and of the special ranges.
                let edges: [UInt32] = [0, 0x7F, 0x80, 0x7FF, 0x800, 0xFFF, 0x1000, 0xD7FF, 0xE000, 0xFFFD, 0xFFFE, 0xFFFF, 0x1_0000, 0x3_FFFF, 0x4_0000, 0x10_FFFF]
                value = edges[Int(random.next() % UInt64(edges.count))]
            }
            if let scalar = Unicode.Scalar(value) { return scalar }
        }
    }

    static func randomString(_ scalars: Int, _ random: inout FrameTestRandom) -> String {
        var view = String.UnicodeScalarView()
        for _ in 0..<scalars { view.append(randomScalar(&random)) }
        return String(view)
    }

    @Test func agreesWithTheStdlibOnRandomBytes() {
        var random = FrameTestRandom(seed: 0x07F8)
        for round in 0..<3000 {
            let count = round < 2500 ? Int(random.next() % 12) : Int(random.next() % 200)
            let bytes = round % 3 == 0 ? random.bytes(count) : Self.biasedBytes(count, &random)
            Self.checkAgreement(bytes, splits: count < 40)
        }
    }

    /// Valid text with one byte changed: mostly invalid, but near the boundary of valid.
    @Test func agreesWithTheStdlibOnMutatedText() {
        var random = FrameTestRandom(seed: 0x3A7E)
        for _ in 0..<2000 {
            var bytes = Array(Self.randomString(1 + Int(random.next() % 8), &random).utf8)
            let index = Int(random.next() % UInt64(bytes.count))
            switch random.next() % 4 {
            case 0: bytes[index] = random.byte()
            case 1: bytes[index] ^= UInt8(1) << (random.next() % 8)
            case 2: bytes.remove(at: index)
            default: bytes.insert(0x80 | UInt8(random.next() % 0x40), at: index)
            }
            Self.checkAgreement(bytes)
        }
    }

    /// Long mostly-ASCII input with one bad byte at every position, to cross the eight-byte
    /// ASCII fast path at every alignment.
    @Test func findsABadByteAnywhereInAnASCIIRun() {
        for count in [1, 7, 8, 9, 15, 16, 17, 31, 64, 65] {
            for position in 0..<count {
                for bad: UInt8 in [0x80, 0xC0, 0xFF, 0xE2] {
                    var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: count)
                    bytes[position] = bad
                    let failure = Self.failingIndex(bytes)
                    if bad == 0xE2 {
                        // A lead byte: fails at the next byte, or is an open character at the end.
                        #expect(failure == (position == count - 1 ? nil : position + 1))
                    } else {
                        #expect(failure == position)
                    }
                    #expect(!UTF8Validator.isValid(bytes))
                    var validator = UTF8Validator()
                    let ok = Self.validate(bytes, into: &validator)
                    #expect(ok == (failure == nil))
                }
            }
        }
    }

    @Test func randomValidStringsAtEverySplit() {
        var random = FrameTestRandom(seed: 0x5717)
        for round in 0..<400 {
            let text = Self.randomString(round < 300 ? Int(random.next() % 12) : 200, &random)
            let bytes = Array(text.utf8)
            #expect(UTF8Validator.isValid(bytes))
            // Offsets where a scalar starts: a split there leaves no character open.
            var boundaries = Set<Int>([bytes.count])
            var offset = 0
            for scalar in text.unicodeScalars {
                boundaries.insert(offset)
                offset += UTF8.width(scalar)
            }
            for split in 0...bytes.count {
                var validator = UTF8Validator()
                #expect(Self.validate(Array(bytes[..<split]), into: &validator))
                #expect(validator.isComplete == boundaries.contains(split), "split \(split) of \(FrameFixture.hexString(bytes))")
                #expect(Self.validate(Array(bytes[split...]), into: &validator))
                #expect(validator.isComplete)
            }
        }
    }

    /// Fed in random pieces, as fragments and reads deliver a message.
    @Test func randomValidStringsInManyPieces() {
        var random = FrameTestRandom(seed: 0x9EC5)
        for _ in 0..<200 {
            let bytes = Array(Self.randomString(Int(random.next() % 300), &random).utf8)
            var validator = UTF8Validator()
            var position = 0
            while position < bytes.count {
                let length = min(bytes.count - position, Int(random.next() % 9))
                #expect(Self.validate(Array(bytes[position..<(position + length)]), into: &validator))
                position += length
            }
            #expect(validator.isComplete)
        }
    }

    // MARK: Adversarial input

    static func invalid(_ hex: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let bytes = FrameFixture.hex(hex)
        #expect(!Self.stdlibValid(bytes), "oracle thinks \(hex) is valid", sourceLocation: sourceLocation)
        #expect(!UTF8Validator.isValid(bytes), "\(hex)", sourceLocation: sourceLocation)
        // Also inside text, where the sequence is followed by more characters.
        #expect(!UTF8Validator.isValid(Array("ok ".utf8) + bytes + Array(" ok".utf8)), "\(hex) inside text", sourceLocation: sourceLocation)
        checkAgreement(bytes, sourceLocation: sourceLocation)
        checkAgreement(Array("héllo ".utf8) + bytes + Array(" wörld €".utf8), sourceLocation: sourceLocation)
    }

    static func valid(_ hex: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let bytes = FrameFixture.hex(hex)
        #expect(Self.stdlibValid(bytes), "oracle thinks \(hex) is invalid", sourceLocation: sourceLocation)
        #expect(UTF8Validator.isValid(bytes), "\(hex)", sourceLocation: sourceLocation)
        checkAgreement(bytes, sourceLocation: sourceLocation)
    }

    @Test func overlongEncodings() {
        for hex in ["C0 80", "C1 BF", "C0 AF", "E0 80 80", "E0 80 AF", "E0 9F BF", "F0 80 80 80", "F0 80 80 AF", "F0 8F BF BF"] {
            Self.invalid(hex)
        }
        // The shortest forms of the same boundaries are fine.
        for hex in ["C2 80", "E0 A0 80", "F0 90 80 80"] { Self.valid(hex) }
    }

    @Test func surrogates() {
        // Every surrogate ED A0 80 ... ED BF BF.
        for second in UInt8(0xA0)...0xBF {
            for third in UInt8(0x80)...0xBF {
                let bytes: [UInt8] = [0xED, second, third]
                #expect(!UTF8Validator.isValid(bytes))
                #expect(Self.failingIndex(bytes) == 1, "fails at the second byte: \(FrameFixture.hexString(bytes))")
            }
        }
        // Kuhn 5.1 and 5.2: single and paired surrogates.
        for hex in [
            "ED A0 80", "ED AD BF", "ED AE 80", "ED AF BF", "ED B0 80", "ED BE 80", "ED BF BF",
            "ED A0 80 ED B0 80", "ED A0 80 ED BF BF", "ED AD BF ED B0 80", "ED AF BF ED BF BF",
        ] {
            Self.invalid(hex)
        }
        // Neighbours of the surrogate block.
        Self.valid("ED 9F BF")
        Self.valid("EE 80 80")
    }

    @Test func aboveUnicodeRange() {
        Self.invalid("F4 90 80 80")
        Self.invalid("F4 BF BF BF")
        Self.valid("F4 8F BF BF")
        for lead in UInt8(0xF5)...0xFF {
            let bytes: [UInt8] = [lead, 0x80, 0x80, 0x80]
            #expect(!UTF8Validator.isValid(bytes))
            #expect(Self.failingIndex(bytes) == 0)
            #expect(Self.failingIndex([lead]) == 0, "a lone \(lead) fails at once")
            Self.checkAgreement(bytes)
        }
    }

    @Test func loneContinuationBytes() {
        for byte in UInt8(0x80)...0xBF {
            #expect(Self.failingIndex([byte]) == 0)
            #expect(Self.failingIndex([0x41, byte]) == 1)
            Self.checkAgreement([0x41, byte, 0x41])
        }
        // Kuhn 3.1.9: all 64 continuation bytes in a row.
        Self.invalid((0x80...0xBF).map { String($0, radix: 16) }.joined(separator: " "))
        // A continuation too many after a complete character.
        Self.invalid("C3 A9 A9")
        Self.invalid("E2 82 AC 80")
        Self.invalid("F0 9F 98 80 80")
    }

    /// Valid so far but cut inside a character: `validate` says true, `isComplete` false,
    /// and the message as a whole is invalid.
    @Test(arguments: ["C3", "DF", "E2", "E2 82", "E0 A0", "ED 9F", "EF BF", "F0", "F0 9F", "F0 9F 98", "F4 8F BF", "F3 BF BF"])
    func truncatedSequences(hex: String) {
        let bytes = FrameFixture.hex(hex)
        var validator = UTF8Validator()
        #expect(Self.validate(bytes, into: &validator))
        #expect(!validator.isComplete)
        #expect(!UTF8Validator.isValid(bytes))
        #expect(!Self.stdlibValid(bytes))
        #expect(Self.stdlibValidPrefix(bytes))
        // Text before the cut does not matter.
        var afterText = UTF8Validator()
        #expect(Self.validate(Array("naïve ".utf8) + bytes, into: &afterText))
        #expect(!afterText.isComplete)
        // Anything but a continuation next is an error: ASCII, a lead, or the end.
        var ascii = validator
        #expect(!Self.validate([0x41], into: &ascii))
        var lead = validator
        #expect(!Self.validate([0xC3], into: &lead))
        Self.checkAgreement(bytes)
    }

    /// The validator reports an invalid byte in the chunk it arrives in, without waiting for
    /// the rest of the message.
    @Test func failsFastOnTheChunkWithTheInvalidByte() {
        let chunks: [[UInt8]] = [
            Array("hello".utf8) + [0xFF], [0xC0], [0xC1], [0xF5], [0xFE], [0x80],
            [0xE0, 0x80], [0xE0, 0x9F], [0xED, 0xA0], [0xF0, 0x80], [0xF0, 0x8F], [0xF4, 0x90],
            [0xE2, 0x41], [0xF0, 0x9F, 0x41], Array("a long run of ascii text".utf8) + [0xBF] + Array("more".utf8),
        ]
        for chunk in chunks {
            var validator = UTF8Validator()
            #expect(Self.validate(Array("earlier fragment €".utf8), into: &validator))
            #expect(!Self.validate(chunk, into: &validator), "\(FrameFixture.hexString(chunk))")
        }
        // The same holds across a boundary: the lead came in an earlier chunk.
        for (lead, next) in [([UInt8(0xE0)], [UInt8(0x80)]), ([0xED], [0xA0]), ([0xF4], [0x90]), ([0xF0, 0x9F], [0x41])] {
            var validator = UTF8Validator()
            #expect(Self.validate(lead, into: &validator))
            #expect(!Self.validate(next, into: &validator))
        }
    }

    @Test func resetStartsOver() {
        var validator = UTF8Validator()
        #expect(Self.validate([0xE2, 0x82], into: &validator))
        #expect(!validator.isComplete)
        validator.reset()
        #expect(validator.isComplete)
        #expect(validator == UTF8Validator())
        #expect(Self.validate(Array("ok".utf8), into: &validator))
        #expect(Self.validate([], into: &validator))
        #expect(validator.isComplete)
    }

    // MARK: Markus Kuhn's UTF-8 decoder capability and stress test

    @Test func kuhnCorrectText() {
        // 1: "κόσμε".
        Self.valid("CE BA E1 BD B9 CF 83 CE BC CE B5")
        #expect(UTF8Validator.isValid(Array("κόσμε".utf8)))
    }

    @Test func kuhnBoundaryConditions() {
        // 2.1 First possible sequence of each length (1-4 valid; 5 and 6 bytes are not UTF-8).
        for hex in ["00", "C2 80", "E0 A0 80", "F0 90 80 80"] { Self.valid(hex) }
        for hex in ["F8 88 80 80 80", "FC 84 80 80 80 80"] { Self.invalid(hex) }
        // 2.2 Last possible sequence of each length.
        for hex in ["7F", "DF BF", "EF BF BF"] { Self.valid(hex) }
        for hex in ["F7 BF BF BF", "FB BF BF BF BF", "FD BF BF BF BF BF"] { Self.invalid(hex) }
        // 2.3 Other boundary conditions.
        for hex in ["ED 9F BF", "EE 80 80", "EF BF BD", "F4 8F BF BF"] { Self.valid(hex) }
        Self.invalid("F4 90 80 80")
    }

    @Test func kuhnMalformedSequences() {
        // 3.1 Unexpected continuation bytes.
        for hex in ["80", "BF", "80 BF", "80 BF 80", "80 BF 80 BF", "80 BF 80 BF 80", "80 BF 80 BF 80 BF", "80 BF 80 BF 80 BF 80"] {
            Self.invalid(hex)
        }
        // 3.2 Lonely start characters, each followed by a space.
        for lead in UInt8(0xC0)...0xFD {
            let bytes: [UInt8] = [lead, 0x20]
            #expect(!UTF8Validator.isValid(bytes))
            Self.checkAgreement(bytes)
        }
        Self.checkAgreement((UInt8(0xC0)...0xFD).flatMap { [$0, 0x20] })
        // 3.3 Sequences with the last continuation byte missing (at the end, and followed by
        // a space), and 3.4 all of them concatenated.
        let missingLast = [
            "C0", "E0 80", "F0 80 80", "F8 80 80 80", "FC 80 80 80 80",
            "DF", "EF BF", "F7 BF BF", "FB BF BF BF", "FD BF BF BF BF",
        ]
        for hex in missingLast {
            Self.invalid(hex)
            Self.invalid(hex + " 20")
        }
        Self.invalid(missingLast.joined(separator: " "))
        // 3.5 Impossible bytes.
        for hex in ["FE", "FF", "FE FE FF FF"] { Self.invalid(hex) }
    }

    @Test func kuhnOverlongSequences() {
        // 4.1 "/" overlong, 4.2 maximum overlongs, 4.3 overlong NUL.
        for hex in [
            "C0 AF", "E0 80 AF", "F0 80 80 AF", "F8 80 80 80 AF", "FC 80 80 80 80 AF",
            "C1 BF", "E0 9F BF", "F0 8F BF BF", "F8 87 BF BF BF", "FC 83 BF BF BF BF",
            "C0 80", "E0 80 80", "F0 80 80 80", "F8 80 80 80 80", "FC 80 80 80 80 80",
        ] {
            Self.invalid(hex)
        }
    }

    @Test func kuhnNoncharactersAreValidUTF8() {
        // 5.3 U+FFFE, U+FFFF, U+FDD0...U+FDEF and the last two of every plane are
        // noncharacters, but valid UTF-8 (RFC 6455 accepts them; so does Autobahn 6.x).
        Self.valid("EF BF BE")
        Self.valid("EF BF BF")
        for scalar: UInt32 in 0xFDD0...0xFDEF {
            #expect(UTF8Validator.isValid(Array(String(Unicode.Scalar(scalar)!).utf8)))
        }
        for plane: UInt32 in 1...16 {
            for low: UInt32 in [0xFFFE, 0xFFFF] {
                let bytes = Array(String(Unicode.Scalar(plane << 16 | low)!).utf8)
                #expect(UTF8Validator.isValid(bytes))
                Self.checkAgreement(bytes)
            }
        }
    }

    /// Every scalar of the BMP and the first and last of the supplementary planes.
    @Test func everyBMPScalarIsValid() {
        var failures = 0
        for value: UInt32 in 0...0xFFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            var bytes: [UInt8] = []
            UTF8.encode(scalar) { bytes.append($0) }
            if !UTF8Validator.isValid(bytes) { failures += 1 }
        }
        #expect(failures == 0)
    }

    /// Every two-byte sequence, and every lead and second byte of three- and four-byte
    /// sequences with the later bytes at the edges of the continuation range.
    @Test func exhaustiveShortSequencesAgreeWithTheStdlib() {
        let edges: [UInt8] = [0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF]
        var mismatches: [String] = []
        func compare(_ bytes: [UInt8]) {
            if UTF8Validator.isValid(bytes) != Self.stdlibValid(bytes) { mismatches.append(FrameFixture.hexString(bytes)) }
        }
        for b0 in UInt8(0)...255 {
            for b1 in UInt8(0)...255 {
                compare([b0, b1])
                guard b0 >= 0xE0 else { continue }
                for b2 in edges {
                    compare([b0, b1, b2])
                    guard b0 >= 0xF0, b2 >= 0x7F, b2 <= 0xC0 else { continue }
                    for b3: UInt8 in [0x7F, 0x80, 0xBF, 0xC0] { compare([b0, b1, b2, b3]) }
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(20))")
    }

    /// Foundation agrees too, for good measure, on a sample of text.
    @Test func foundationAgreesOnSampleText() {
        let samples = ["", "ASCII only", "Grüße, 世界! 🎉🇸🇪", "e\u{301}\u{302}", "\u{0}\u{7F}\u{80}\u{7FF}\u{800}\u{FFFF}\u{10000}\u{10FFFF}"]
        for sample in samples {
            let data = Data(sample.utf8)
            #expect(String(data: data, encoding: .utf8) == sample)
            #expect(UTF8Validator.isValid(Array(data)))
        }
    }
}
