import Foundation
import Testing
@testable import TransferDomain

@Suite("Event contract (v3: v1 data, signed records, per-role inboxes, forms with their months)")
struct EventContractTests {
    static let person = PersonRef(
        PersonFacts(citizenID: Fixtures.citizenID(birth: "19850310", sequence: "013"), name: "Li Wei", hukouProvince: Fixtures.sichuan))
    static let caseID = CaseID()
    static let letter = ContactLetterNumber(office: Fixtures.chengdu, year: 2026, sequence: 3)
    static let shenzhen = OfficeRef(OfficeDirectory.standard[Fixtures.shenzhen]!)
    static let chengdu = OfficeRef(OfficeDirectory.standard[Fixtures.chengdu]!)
    static let day = Fixtures.date("2026-03-02")
    static let form = try! TransferCalculator.informationForm(
        months: [Fixtures.contribution("1997-06", base: "900.00"), Fixtures.contribution("2025-01", base: "10000.00"),
                 Fixtures.contribution("2026-01", base: "10000.00")],
        pre1998Account: Fixtures.money("321.00"), kind: .general, transferYear: 2026,
        rates: CreditingRates(overrides: [2025: .percent("2")]))

    /// One event of every type, every optional field filled.
    static let samples: [TransferEvent] = {
        let account = OfficeDirectory.standard[Fixtures.chengdu]!.account
        let payer = OfficeDirectory.standard[Fixtures.shenzhen]!.account
        let remittance = RemittanceID(office: Fixtures.shenzhen, year: 2026, sequence: 1)
        return [
            .contactLetterIssued(ContactLetterIssued(
                caseId: caseID, contactLetterNo: letter, person: person, origin: shenzhen, destination: chengdu,
                destinationAccount: account, certificateNo: CertificateNumber(office: Fixtures.shenzhen, year: 2026, sequence: 5),
                applicationDate: day, issuedOn: day)),
            .applicationRejected(ApplicationRejected(
                caseId: caseID, person: person, origin: shenzhen, destination: chengdu, reasons: [.receivesPension, .transferAlreadyOpen],
                decidedOn: day)),
            .temporaryAccountOpened(TemporaryAccountOpened(caseId: caseID, person: person, origin: shenzhen, destination: chengdu, openedOn: day)),
            .reconciliationDiscrepancyRaised(try! ReconciliationDiscrepancyRaised(
                caseId: caseID, contactLetterNo: letter, expected: Fixtures.money("100.00"), received: Fixtures.money("99.99"), raisedOn: day)),
            .excessRefunded(ExcessRefunded(
                caseId: caseID, contactLetterNo: letter, refundId: RemittanceID(office: Fixtures.chengdu, year: 2026, sequence: 1),
                amount: Fixtures.money("0.01"), payerAccount: account, payeeAccount: payer, valueDate: day)),
            .transferCompleted(TransferCompleted(caseId: caseID, contactLetterNo: letter, receivedTotal: form.totalRemitted, completedOn: day)),
            .paymentCertificateIssued(PaymentCertificateIssued(
                certificateNo: CertificateNumber(office: Fixtures.shenzhen, year: 2026, sequence: 5), person: person, origin: shenzhen,
                insuredFrom: Fixtures.month("1997-06"), insuredTo: Fixtures.month("2026-01"), monthsPaid: 3,
                individualAccountBalance: form.individualAccountTotal, issuedOn: day)),
            .contactLetterReturned(ContactLetterReturned(caseId: caseID, contactLetterNo: letter, reasons: [.arrearsOutstanding], returnedOn: day)),
            .infoFormIssued(InfoFormIssued(caseId: caseID, contactLetterNo: letter, person: person, form: form, issuedOn: day)),
            .fundsRemitted(FundsRemitted(
                caseId: caseID, contactLetterNo: letter, remittanceId: remittance, amount: form.totalRemitted, payerAccount: payer,
                payeeAccount: account, valueDate: day, supplementary: false)),
            .originRelationshipTerminated(OriginRelationshipTerminated(
                caseId: caseID, contactLetterNo: letter, citizenId: person.citizenId, terminatedOn: day)),
            .relationshipReceived(RelationshipReceived(
                caseId: caseID, person: person, from: shenzhen, accountKind: .general, pre1998Account: form.pre1998Account,
                months: form.months ?? [], completedOn: day)),
        ]
    }()

    static func cloudEvent(_ event: TransferEvent) -> CloudEvent {
        let origin = event.type.writer == .origin
        return CloudEvent(
            source: origin ? Fixtures.shenzhen : Fixtures.chengdu, recipient: origin ? Fixtures.chengdu : Fixtures.shenzhen,
            time: Date(timeIntervalSince1970: 1_772_400_000.123), event: event)
    }

    static func headerMap(_ event: CloudEvent) -> [String: String] {
        Dictionary(uniqueKeysWithValues: event.headers.map { ($0.name, $0.value) })
    }

    @Test("there is a sample of every event type")
    func everyType() {
        #expect(Set(Self.samples.map(\.type)) == Set(EventType.allCases))
    }

    @Test("every event round-trips through headers and JSON", arguments: samples)
    func roundTrip(event: TransferEvent) throws {
        let cloudEvent = Self.cloudEvent(event)
        let decoded = try CloudEvent.decode(headers: Self.headerMap(cloudEvent), data: try cloudEvent.data())
        #expect(decoded == cloudEvent)
        #expect(decoded.type == event.type)
    }

    @Test("produced events validate strictly against their schemas", arguments: samples)
    func schemaValid(event: TransferEvent) {
        #expect(Self.cloudEvent(event).schemaViolations() == [])
    }

    @Test("CloudEvents headers follow the Kafka binding; keys are the case id or the person")
    func headers() throws {
        let funds = Self.cloudEvent(Self.samples.first { $0.type == .fundsRemitted }!)
        let headers = Self.headerMap(funds)
        #expect(headers["ce_specversion"] == "1.0")
        #expect(headers["ce_type"] == "pension.transfer.funds-remitted.v1")
        #expect(headers["ce_source"] == "/offices/440300")
        #expect(headers["ce_recipient"] == "510100")
        #expect(headers["ce_subject"] == Self.caseID.description)
        #expect(headers["ce_time"] == "2026-03-01T21:20:00.123Z")
        #expect(headers["content-type"] == "application/json")
        #expect(UUID(uuidString: headers["ce_id"] ?? "") != nil)
        #expect(funds.key == Self.caseID.description)
        let certificate = Self.cloudEvent(Self.samples.first { $0.type == .paymentCertificateIssued }!)
        #expect(certificate.key == "PC-440300-2026-000005", "keyed by its number, never by the citizen ID (issue 21, item 14)")
        #expect(certificate.subject == "PC-440300-2026-000005")
        // Money is a string with exactly two decimals.
        let json = String(decoding: try funds.data(), as: UTF8.self)
        #expect(json.contains("\"amount\":\"\(Self.form.totalRemitted)\""))
    }

    @Test("the decoder tells unknown type, unknown major version and malformed apart")
    func decodingErrors() throws {
        let event = Self.cloudEvent(Self.samples.first { $0.type == .transferCompleted }!)
        let data = try event.data()
        var headers = Self.headerMap(event)

        headers["ce_type"] = "pension.transfer.transfer-postponed.v1"
        #expect(throws: EventDecodingError.unknownType("pension.transfer.transfer-postponed.v1")) {
            try CloudEvent.decode(headers: headers, data: data)
        }
        headers["ce_type"] = "org.example.other"
        #expect(throws: EventDecodingError.unknownType("org.example.other")) { try CloudEvent.decode(headers: headers, data: data) }
        headers["ce_type"] = "pension.transfer.transfer-completed.v2"
        #expect(throws: EventDecodingError.unknownMajorVersion("pension.transfer.transfer-completed.v2")) {
            try CloudEvent.decode(headers: headers, data: data)
        }
        headers["ce_type"] = "pension.transfer.transfer-completed.v1"

        func reason(_ headers: [String: String], _ data: Data?) -> String? {
            do {
                _ = try CloudEvent.decode(headers: headers, data: data)
                return nil
            } catch {
                guard case .malformed(let detail) = error else { return "not malformed: \(error)" }
                return detail
            }
        }
        #expect(reason(headers, Data("{not json".utf8))?.contains("not JSON") == true)
        #expect(reason(headers, nil)?.contains("no data") == true)
        var missingID = headers
        missingID["ce_id"] = nil
        #expect(reason(missingID, data)?.contains("ce_id") == true)
        var wrongSubject = headers
        wrongSubject["ce_subject"] = CaseID().description
        #expect(reason(wrongSubject, data)?.contains("ce_subject") == true)
        // Schema: money without two decimals, and a missing required field, each named.
        let badMoney = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\"receivedTotal\":\"", with: "\"receivedTotal\":\"1")
            .replacingOccurrences(of: ".", with: "")
        #expect(reason(headers, Data(badMoney.utf8))?.contains("receivedTotal") == true)
        let missing = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        var trimmed = missing
        trimmed["completedOn"] = nil
        #expect(reason(headers, try JSONSerialization.data(withJSONObject: trimmed))?.contains("completedOn: is required") == true)
        // Values the schema's pattern lets through are still checked: an ID with a wrong check digit.
        let terminated = Self.cloudEvent(Self.samples.first { $0.type == .originRelationshipTerminated }!)
        let badID = String(decoding: try terminated.data(), as: UTF8.self)
            .replacingOccurrences(of: Self.person.citizenId.rawValue, with: String(Self.person.citizenId.rawValue.dropLast()) + "0")
        if badID != String(decoding: try terminated.data(), as: UTF8.self) {
            #expect(reason(Self.headerMap(terminated), Data(badID.utf8))?.contains("check character") == true)
        }
        // A month of a form is named by its place (the months are read without JSONDecoder).
        let form = Self.cloudEvent(Self.samples.first { $0.type == .infoFormIssued }!)
        var formObject = try JSONSerialization.jsonObject(with: try form.data()) as! [String: Any]
        var formBody = formObject["form"] as! [String: Any]
        var months = try #require(formBody["months"] as? [[String: Any]])
        try #require(months.count > 1)
        months[1]["period"] = "2016-13"
        formBody["months"] = months
        formObject["form"] = formBody
        let badMonth = try #require(reason(Self.headerMap(form), try JSONSerialization.data(withJSONObject: formObject)))
        #expect(badMonth.contains("form.months[1].period"), "\(badMonth)")
        months[1]["period"] = nil
        formBody["months"] = months
        formObject["form"] = formBody
        let noPeriod = try #require(reason(Self.headerMap(form), try JSONSerialization.data(withJSONObject: formObject)))
        #expect(noPeriod.contains("period"), "\(noPeriod)")
    }

    @Test("consumers tolerate JSON fields they do not know")
    func unknownFields() throws {
        let event = Self.cloudEvent(Self.samples.first { $0.type == .contactLetterReturned }!)
        var object = try JSONSerialization.jsonObject(with: try event.data()) as! [String: Any]
        object["addedInV1_1"] = ["anything": true]
        let decoded = try CloudEvent.decode(headers: Self.headerMap(event), data: try JSONSerialization.data(withJSONObject: object))
        #expect(decoded == event)
        // ...while a producer's own output must not carry fields its schema lacks.
        let strict = (TransferEvent.schemas[.contactLetterReturned]!).validate(
            try JSONValue.parse(try JSONSerialization.data(withJSONObject: object)), strict: true)
        #expect(strict == ["$.addedInV1_1: is not in the schema"])
    }

    @Test("the compiled schema check agrees with the violations walk on every event type and thousands of edits of them")
    func compiledSchemasAgree() throws {
        var generator = SplitMix64(seed: 2026)
        var checked = 0
        var refused = 0
        for sample in Self.samples {
            let value = try JSONValue.parse(try Self.cloudEvent(sample).data())
            let schema = try #require(TransferEvent.schemas[sample.type])
            let compiled = CompiledSchema(schema)
            var values = [value]
            for _ in 0..<400 { values.append(Self.edit(value, using: &generator)) }
            for candidate in values {
                for strict in [false, true] {
                    let conforms = compiled.conforms(candidate, strict: strict)
                    let violations = schema.violations(candidate, strict: strict, path: "$")
                    #expect(conforms == violations.isEmpty, "\(sample.type) strict \(strict): \(violations)")
                    checked += 1
                    if !conforms { refused += 1 }
                }
            }
        }
        // Both answers are exercised, not only one.
        #expect(refused > checked / 10 && refused < checked * 9 / 10, "\(refused) of \(checked) refused")
    }

    /// One random edit somewhere in `value`: a member dropped, set to null, added or edited in
    /// turn; an array emptied or one item edited; a scalar turned into another kind or a near miss.
    static func edit(_ value: JSONValue, using generator: inout SplitMix64) -> JSONValue {
        switch value {
        case .object(var members):
            guard let key = members.keys.sorted().randomElement(using: &generator) else { return .object(["added": .bool(true)]) }
            switch Int.random(in: 0..<6, using: &generator) {
            case 0: members[key] = nil
            case 1: members[key] = .null
            case 2: members["added\(Int.random(in: 0..<2, using: &generator))"] = .string("x")
            default: members[key] = edit(members[key]!, using: &generator)
            }
            return .object(members)
        case .array(var items):
            guard let index = items.indices.randomElement(using: &generator) else { return .array([.string("x")]) }
            if Int.random(in: 0..<5, using: &generator) == 0 { items.removeAll() } else { items[index] = edit(items[index], using: &generator) }
            return .array(items)
        case .string(let text):
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: return .integer(1)
            case 1: return .string(String(text.dropLast()))
            case 2: return .string(text + "0")
            default: return .string("")
            }
        case .integer(let number): return Bool.random(using: &generator) ? .integer(number - 1_000_000) : .string("\(number)")
        case .bool(let flag): return Bool.random(using: &generator) ? .bool(!flag) : .string("true")
        case .number, .null: return .string("x")
        }
    }

    /// The schema files are generated from the Swift schemas; this fails when one drifts.
    /// Regenerate with `UPDATE_SCHEMAS=1 swift test --filter EventContractTests`.
    @Test("the JSON Schema files in the repo are the ones generated from the Swift schemas")
    func schemaFiles() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Shared/TransferDomain/Schemas")
        let update = ProcessInfo.processInfo.environment["UPDATE_SCHEMAS"] == "1"
        for type in EventType.allCases {
            let file = directory.appendingPathComponent(type.schemaFileName)
            let generated = type.schemaDocument.prettyText()
            if update { try generated.write(to: file, atomically: true, encoding: .utf8) }
            let committed = try? String(contentsOf: file, encoding: .utf8)
            #expect(committed == generated, "\(type.schemaFileName) is out of date: run UPDATE_SCHEMAS=1 swift test --filter EventContractTests")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }
        #expect(Set(files) == Set(EventType.allCases.map(\.schemaFileName)), "no stray schema files")
    }

    @Test("the strict reader gives the values Foundation's decoder gives, on every event type and on tricky text, and refuses what is not strict JSON")
    func strictReader() throws {
        var texts = try Self.samples.map { sample in
            String(decoding: try Self.cloudEvent(sample).data(), as: UTF8.self)
        }
        texts += [
            #"{"a":"tab\tquote\" slash\/ back\\ nl\n \u00e9 \ud83d\ude00 \u4e2d","b":[1,-2,0,1.5,-0.25,1e3,2E-2,1.0],"c":{"d":null,"e":true,"f":false},"g":[]}"#,
            #"{"big":123456789012345678901234567890,"neg":-9007199254740991,"nested":[[[{}]]],"dup":1,"dup":2}"#,
            #"  "just a string 中文"  "#, "0", "-0", "[ ]",
        ]
        for text in texts {
            let strict = try StrictJSON.parse(Array(text.utf8))
            let foundation = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
            #expect(strict == foundation, "\(text)")
        }
        let refused = [
            "{\"a\":1,}", "[1,]", "01", "1.", "-", "1e", "\u{FEFF}{}", "{'a':1}", "{a:1}", "NaN", "[1] x", "\"a\u{01}b\"",
            #""\x""#, #""\u12""#, #""abc"#, "tru", String(repeating: "[", count: 65) + String(repeating: "]", count: 65),
        ]
        for text in refused {
            #expect(throws: StrictJSON.SyntaxError.self, "\(text.debugDescription)") { try StrictJSON.parse(Array(text.utf8)) }
        }
    }

    @Test("ce_time is read without a formatter as the formatter reads it, over centuries, offsets and fractions; other shapes are left to the formatter")
    func rfc3339() throws {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var random = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let instant = Date(timeIntervalSince1970: Double.random(in: -2_000_000_000...7_000_000_000, using: &random).rounded() / 1000 * 1000
                + Double(Int.random(in: 0..<1000, using: &random)) / 1000)
            let offsetMinutes = [0, 480, -300, 330, 59, -59].randomElement(using: &random)!
            formatter.timeZone = TimeZone(secondsFromGMT: offsetMinutes * 60)
            let text = formatter.string(from: instant)
            let parsed = try #require(RFC3339.parse(text), "\(text)")
            #expect(abs(parsed.timeIntervalSince(instant)) < 0.0005, "\(text)")
        }
        #expect(RFC3339.parse("2026-06-15T08:30:12Z") == Date(timeIntervalSince1970: 1_781_512_212))
        #expect(RFC3339.parse("2026-06-15t16:30:12.5+08:00") == Date(timeIntervalSince1970: 1_781_512_212.5))
        #expect(RFC3339.parse("2024-02-29T00:00:00Z") != nil)
        for text in ["2025-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-06-15T24:00:00Z", "2026-06-15T08:30:60Z", "2026-06-15T08:30:12",
                     "2026-06-15T08:30:12.Z", "2026-06-15 08:30:12Z", "2026-06-15T08:30:12+0800", "2026-06-15T08:30:12Zx", ""] {
            #expect(RFC3339.parse(text) == nil, "\(text)")
        }
    }
}
