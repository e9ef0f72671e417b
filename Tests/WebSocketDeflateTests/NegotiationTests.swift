import Testing
import WebSocketDeflate

@Suite struct ExtensionHeaderTests {
    @Test func parsesElementsParametersAndQuotedValues() throws {
        let elements = try ExtensionHeader.parse(
            #"permessage-deflate ; client_max_window_bits;server_max_window_bits = "10" ,, x-foo;bar="b\az",baz"#)
        #expect(elements == [
            ExtensionElement(name: "permessage-deflate", parameters: [
                ExtensionParameter("client_max_window_bits"), ExtensionParameter("server_max_window_bits", "10"),
            ]),
            ExtensionElement(name: "x-foo", parameters: [ExtensionParameter("bar", "baz")]),
            ExtensionElement(name: "baz"),
        ])
    }

    @Test func unescapesQuotedPairs() throws {
        let elements = try ExtensionHeader.parse(#"a; b="1\5""#)
        #expect(elements == [ExtensionElement(name: "a", parameters: [ExtensionParameter("b", "15")])])
    }

    @Test func joinsSeveralHeaderLines() throws {
        let elements = try ExtensionHeader.parse(["a; x", "", "b, c"])
        #expect(elements.map(\.name) == ["a", "b", "c"])
    }

    @Test(arguments: [
        "; x", "a;", "a b", "a; b=\"", "a; b=\"x y\"", "a; b=\"\"", "a; b=", "a; =1", "a, b c", "a; b=1=2", "\u{e9}",
    ])
    func rejectsMalformedHeaders(_ header: String) {
        #expect(throws: DeflateNegotiationError.self) { try ExtensionHeader.parse(header) }
    }

    @Test func describesElementsAsTheyAppearOnTheWire() {
        let element = ExtensionElement(name: "permessage-deflate", parameters: [
            ExtensionParameter("server_no_context_takeover"), ExtensionParameter("client_max_window_bits", "10"),
            ExtensionParameter("x", "a b"),
        ])
        #expect(element.description == #"permessage-deflate; server_no_context_takeover; client_max_window_bits=10; x="a b""#)
    }
}

@Suite struct ServerNegotiationTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let config: PerMessageDeflateConfig
        let offers: [String]
        /// nil: declined.
        let response: String?
        let parameters: DeflateParameters?
        var testDescription: String { offers.joined(separator: " | ") }

        init(_ offers: [String], _ response: String?, _ parameters: DeflateParameters? = nil,
             config: PerMessageDeflateConfig = PerMessageDeflateConfig()) {
            self.config = config
            self.offers = offers
            self.response = response
            self.parameters = response == nil ? nil : (parameters ?? DeflateParameters())
        }
        init(_ offer: String, _ response: String?, _ parameters: DeflateParameters? = nil,
             config: PerMessageDeflateConfig = PerMessageDeflateConfig()) {
            self.init([offer], response, parameters, config: config)
        }
    }

    static let defaultConfigCases: [Case] = [
        Case("permessage-deflate", "permessage-deflate"),
        Case("permessage-deflate; client_max_window_bits", "permessage-deflate"),
        Case("permessage-deflate; client_max_window_bits=10", "permessage-deflate; client_max_window_bits=10",
             DeflateParameters(clientMaxWindowBits: 10)),
        Case("permessage-deflate; server_max_window_bits=10", "permessage-deflate; server_max_window_bits=10",
             DeflateParameters(serverMaxWindowBits: 10)),
        Case("permessage-deflate; server_max_window_bits=8", "permessage-deflate; server_max_window_bits=8",
             DeflateParameters(serverMaxWindowBits: 8)),
        Case("permessage-deflate; server_max_window_bits=15", "permessage-deflate; server_max_window_bits=15"),
        Case("permessage-deflate; client_no_context_takeover; server_no_context_takeover",
             "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
             DeflateParameters(serverNoContextTakeover: true, clientNoContextTakeover: true)),
        Case(#"permessage-deflate; server_max_window_bits="12"; client_max_window_bits="9""#,
             "permessage-deflate; server_max_window_bits=12; client_max_window_bits=9",
             DeflateParameters(serverMaxWindowBits: 12, clientMaxWindowBits: 9)),
        // Other extensions are skipped, the first acceptable offer wins.
        Case("x-webkit-deflate-frame, permessage-deflate; client_max_window_bits=11, permessage-deflate",
             "permessage-deflate; client_max_window_bits=11", DeflateParameters(clientMaxWindowBits: 11)),
        Case(["permessage-deflate; server_max_window_bits=16", "permessage-deflate; server_max_window_bits=12"],
             "permessage-deflate; server_max_window_bits=12", DeflateParameters(serverMaxWindowBits: 12)),
        Case("permessage-deflate; foo, permessage-deflate", "permessage-deflate"),
        // Declined offers.
        Case("x-webkit-deflate-frame", nil),
        Case("", nil),
        Case("permessage-deflate; foo", nil),
        Case("permessage-deflate; server_max_window_bits=10; server_max_window_bits=10", nil),
        Case("permessage-deflate; server_no_context_takeover; server_no_context_takeover", nil),
        Case("permessage-deflate; client_max_window_bits; client_max_window_bits=10", nil),
        Case("permessage-deflate; server_max_window_bits", nil),
        Case("permessage-deflate; server_max_window_bits=7", nil),
        Case("permessage-deflate; server_max_window_bits=16", nil),
        Case("permessage-deflate; server_max_window_bits=010", nil),
        Case("permessage-deflate; server_max_window_bits=+9", nil),
        Case("permessage-deflate; server_max_window_bits=ten", nil),
        Case("permessage-deflate; client_max_window_bits=7", nil),
        Case("permessage-deflate; server_no_context_takeover=true", nil),
        Case("permessage-deflate; client_no_context_takeover=\"x\"", nil),
        Case("Permessage-Deflate", nil),
        // A malformed header is declined as a whole, even its well-formed first offer.
        Case("permessage-deflate, permessage-deflate; server_max_window_bits=\"1", nil),
    ]

    @Test(arguments: defaultConfigCases)
    func defaultConfiguration(_ testCase: Case) {
        check(testCase)
    }

    static let configuredCases: [Case] = [
        Case("permessage-deflate", "permessage-deflate; server_max_window_bits=10",
             DeflateParameters(serverMaxWindowBits: 10), config: .init(serverMaxWindowBits: 10)),
        Case("permessage-deflate; server_max_window_bits=12", "permessage-deflate; server_max_window_bits=10",
             DeflateParameters(serverMaxWindowBits: 10), config: .init(serverMaxWindowBits: 10)),
        Case("permessage-deflate; server_max_window_bits=9", "permessage-deflate; server_max_window_bits=9",
             DeflateParameters(serverMaxWindowBits: 9), config: .init(serverMaxWindowBits: 10)),
        // A client window limit needs client_max_window_bits in the offer.
        Case("permessage-deflate", nil, config: .init(clientMaxWindowBits: 10)),
        Case("permessage-deflate; client_max_window_bits", "permessage-deflate; client_max_window_bits=10",
             DeflateParameters(clientMaxWindowBits: 10), config: .init(clientMaxWindowBits: 10)),
        Case("permessage-deflate; client_max_window_bits=12", "permessage-deflate; client_max_window_bits=10",
             DeflateParameters(clientMaxWindowBits: 10), config: .init(clientMaxWindowBits: 10)),
        Case("permessage-deflate; client_max_window_bits=9", "permessage-deflate; client_max_window_bits=9",
             DeflateParameters(clientMaxWindowBits: 9), config: .init(clientMaxWindowBits: 10)),
        Case("permessage-deflate, permessage-deflate; client_max_window_bits",
             "permessage-deflate; client_max_window_bits=8",
             DeflateParameters(clientMaxWindowBits: 8), config: .init(clientMaxWindowBits: 8)),
        Case("permessage-deflate", "permessage-deflate; server_no_context_takeover",
             DeflateParameters(serverNoContextTakeover: true), config: .init(serverNoContextTakeover: true)),
        Case("permessage-deflate", "permessage-deflate; client_no_context_takeover",
             DeflateParameters(clientNoContextTakeover: true), config: .init(clientNoContextTakeover: true)),
        Case("permessage-deflate; server_no_context_takeover", nil,
             config: .init(acceptsServerNoContextTakeover: false)),
        Case("permessage-deflate; server_no_context_takeover, permessage-deflate", "permessage-deflate",
             config: .init(acceptsServerNoContextTakeover: false)),
        // Out-of-range configuration values are clamped.
        Case("permessage-deflate", "permessage-deflate; server_max_window_bits=8",
             DeflateParameters(serverMaxWindowBits: 8), config: .init(serverMaxWindowBits: 3)),
    ]

    @Test(arguments: configuredCases)
    func configuredServer(_ testCase: Case) {
        check(testCase)
    }

    private func check(_ testCase: Case) {
        let result = testCase.config.negotiate(offers: testCase.offers)
        #expect(result?.response == testCase.response)
        #expect(result?.parameters == testCase.parameters)
    }

    @Test func respondExplainsEveryDecline() throws {
        let config = PerMessageDeflateConfig()
        func reason(_ offer: String) -> DeflateNegotiationError? {
            do {
                let elements = try ExtensionHeader.parse(offer)
                _ = try config.respond(to: elements[0])
                return nil
            } catch {
                return error
            }
        }
        #expect(reason("permessage-deflate; foo=1") == .unknownParameter("foo"))
        #expect(reason("permessage-deflate; client_no_context_takeover; client_no_context_takeover")
            == .duplicateParameter("client_no_context_takeover"))
        #expect(reason("permessage-deflate; server_max_window_bits")
            == .invalidValue(parameter: "server_max_window_bits", value: nil))
        #expect(reason("permessage-deflate; server_max_window_bits=16")
            == .invalidValue(parameter: "server_max_window_bits", value: "16"))
        #expect(reason("permessage-deflate; server_no_context_takeover=1")
            == .invalidValue(parameter: "server_no_context_takeover", value: "1"))
        #expect(reason("x-foo") == .notPermessageDeflate("x-foo"))
        #expect(reason("permessage-deflate") == nil)

        let limited = PerMessageDeflateConfig(clientMaxWindowBits: 10)
        #expect(throws: DeflateNegotiationError.unsupportedOffer(
            "the offer lacks client_max_window_bits, needed to limit the client window to 10")) {
            try limited.respond(to: ExtensionElement(name: "permessage-deflate"))
        }
        #expect(DeflateNegotiationError.invalidValue(parameter: "server_max_window_bits", value: "16").description
            == #"invalid value "16" for server_max_window_bits (expected 8 to 15)"#)
    }
}

@Suite struct ClientNegotiationTests {
    @Test func offers() {
        #expect(PerMessageDeflateConfig().offer() == "permessage-deflate; client_max_window_bits")
        #expect(PerMessageDeflateConfig(offersClientMaxWindowBits: false).offer() == "permessage-deflate")
        let everything = PerMessageDeflateConfig(
            serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 12)
        #expect(everything.offer()
            == "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12")
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let config: PerMessageDeflateConfig
        let response: String
        let outcome: Result<DeflateParameters?, DeflateNegotiationError>
        var testDescription: String { response }

        init(_ response: String, _ outcome: Result<DeflateParameters?, DeflateNegotiationError>,
             config: PerMessageDeflateConfig = PerMessageDeflateConfig()) {
            self.config = config
            self.response = response
            self.outcome = outcome
        }
    }

    static let cases: [Case] = [
        Case("permessage-deflate", .success(DeflateParameters())),
        Case("", .success(nil)),
        Case("x-other; a=1", .success(nil)),
        Case("x-other, permessage-deflate", .success(DeflateParameters())),
        Case("permessage-deflate; server_no_context_takeover; client_no_context_takeover",
             .success(DeflateParameters(serverNoContextTakeover: true, clientNoContextTakeover: true))),
        // The server may limit its own window unasked, and ours because we offered the parameter.
        Case("permessage-deflate; server_max_window_bits=12", .success(DeflateParameters(serverMaxWindowBits: 12))),
        Case(#"permessage-deflate; client_max_window_bits="10""#, .success(DeflateParameters(clientMaxWindowBits: 10))),
        Case("permessage-deflate; client_max_window_bits=8", .success(DeflateParameters(clientMaxWindowBits: 8))),
        // Failures.
        Case("permessage-deflate; client_max_window_bits",
             .failure(.invalidValue(parameter: "client_max_window_bits", value: nil))),
        Case("permessage-deflate; server_max_window_bits",
             .failure(.invalidValue(parameter: "server_max_window_bits", value: nil))),
        Case("permessage-deflate; server_max_window_bits=16",
             .failure(.invalidValue(parameter: "server_max_window_bits", value: "16"))),
        Case("permessage-deflate; client_max_window_bits=07",
             .failure(.invalidValue(parameter: "client_max_window_bits", value: "07"))),
        Case("permessage-deflate; x-unknown", .failure(.unknownParameter("x-unknown"))),
        Case("permessage-deflate; server_no_context_takeover; server_no_context_takeover",
             .failure(.duplicateParameter("server_no_context_takeover"))),
        Case("permessage-deflate; client_no_context_takeover=yes",
             .failure(.invalidValue(parameter: "client_no_context_takeover", value: "yes"))),
        Case("permessage-deflate, permessage-deflate", .failure(.multipleAcceptances(2))),
        Case("permessage-deflate; server_max_window_bits=\"", .failure(.malformedHeader(
            "unterminated quoted value for server_max_window_bits at offset 43"))),
        // What we asked for must be confirmed.
        Case("permessage-deflate", .failure(.missingParameter("server_no_context_takeover")),
             config: .init(serverNoContextTakeover: true)),
        Case("permessage-deflate; server_no_context_takeover",
             .success(DeflateParameters(serverNoContextTakeover: true)), config: .init(serverNoContextTakeover: true)),
        Case("permessage-deflate", .failure(.missingParameter("server_max_window_bits")),
             config: .init(serverMaxWindowBits: 10)),
        Case("permessage-deflate; server_max_window_bits=11",
             .failure(.windowBitsAboveOffer(parameter: "server_max_window_bits", offered: 10, received: 11)),
             config: .init(serverMaxWindowBits: 10)),
        Case("permessage-deflate; server_max_window_bits=9", .success(DeflateParameters(serverMaxWindowBits: 9)),
             config: .init(serverMaxWindowBits: 10)),
        Case("permessage-deflate; client_max_window_bits=10", .failure(.unsolicitedParameter("client_max_window_bits")),
             config: .init(offersClientMaxWindowBits: false)),
        // Our hint binds us even when the server allows more.
        Case("permessage-deflate", .success(DeflateParameters(clientMaxWindowBits: 11)),
             config: .init(clientMaxWindowBits: 11)),
        Case("permessage-deflate; client_max_window_bits=13", .success(DeflateParameters(clientMaxWindowBits: 11)),
             config: .init(clientMaxWindowBits: 11)),
        Case("permessage-deflate; client_max_window_bits=9", .success(DeflateParameters(clientMaxWindowBits: 9)),
             config: .init(clientMaxWindowBits: 11)),
        // We declared no context takeover, so we keep to it.
        Case("permessage-deflate", .success(DeflateParameters(clientNoContextTakeover: true)),
             config: .init(clientNoContextTakeover: true)),
    ]

    @Test(arguments: cases)
    func accept(_ testCase: Case) {
        let outcome = Result { () throws(DeflateNegotiationError) in try testCase.config.accept(response: testCase.response) }
        #expect(outcome == testCase.outcome)
    }

    @Test func errorMessagesSayWhatWentWrong() {
        #expect(DeflateNegotiationError.unsolicitedParameter("client_max_window_bits").description
            == "the server sent client_max_window_bits, which the offer did not include")
        #expect(DeflateNegotiationError.windowBitsAboveOffer(parameter: "server_max_window_bits", offered: 10, received: 11)
            .description == "the server answered server_max_window_bits=11, above the offered 10")
    }

    /// A client and a server with any mix of preferences agree on the same parameters.
    @Test(arguments: [
        (PerMessageDeflateConfig(), PerMessageDeflateConfig()),
        (PerMessageDeflateConfig(serverNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 12),
         PerMessageDeflateConfig(clientNoContextTakeover: true, serverMaxWindowBits: 12, clientMaxWindowBits: 9)),
        (PerMessageDeflateConfig(clientNoContextTakeover: true, serverMaxWindowBits: 8),
         PerMessageDeflateConfig(serverNoContextTakeover: true, clientMaxWindowBits: 8)),
        (PerMessageDeflateConfig(clientMaxWindowBits: 9), PerMessageDeflateConfig(serverMaxWindowBits: 11)),
    ])
    func clientAndServerAgree(client: PerMessageDeflateConfig, server: PerMessageDeflateConfig) throws {
        let negotiated = try #require(server.negotiate(offers: [client.offer()]))
        let accepted = try client.accept(response: negotiated.response)
        #expect(accepted == negotiated.parameters)
    }
}
