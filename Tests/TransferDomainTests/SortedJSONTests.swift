import Foundation
import Testing
@testable import TransferDomain

/// The hot values write their own JSON (``SortedJSONWritable``); `JSONEncoder` with the same
/// options, through their synthesized `Codable`, is the reference they must equal byte for byte.
@Suite("Sorted JSON written without Codable")
struct SortedJSONTests {
    static func reference<Value: Encodable>(_ value: Value) throws -> Data { try SortedJSON.encoder().encode(value) }

    /// The same bytes as the reference, and (`readBack`, for values the contract allows) read back as they were.
    static func expectSame<Value: Codable & Equatable>(
        _ value: Value, readBack: Bool = true, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        #expect(value is any SortedJSONWritable, sourceLocation: sourceLocation)
        let written = try SortedJSON.encode(value)
        let expected = try reference(value)
        #expect(
            written == expected, "\(String(decoding: written, as: UTF8.self))\n!=\n\(String(decoding: expected, as: UTF8.self))",
            sourceLocation: sourceLocation)
        if readBack { #expect(try JSONDecoder().decode(Value.self, from: written) == value, sourceLocation: sourceLocation) }
    }

    /// Rates for every year a random record can hold (the national table covers only 2016-2024).
    static let rates = CreditingRates(overrides: Dictionary(uniqueKeysWithValues: (1990...2035).map { ($0, Rate.percent("2.5")) }))

    /// A random contribution record: 1 to 240 months between 1992 and 2026 at up to three places,
    /// bases with fen, rates with decimals.
    static func randomMonths(_ generator: inout SplitMix64) -> [ContributionMonth] {
        let places = ["440300", "510100", "330100"].map(Fixtures.office)
        let first = Int.random(in: 1992 * 12...2026 * 12, using: &generator)
        let count = Int.random(in: 1...240, using: &generator)
        return (0..<count).compactMap { offset -> ContributionMonth? in
            let index = first + offset
            guard index < 2026 * 12 + 6 else { return nil }
            let base = Int.random(in: 100_000...3_000_000, using: &generator)
            return Fixtures.contribution(
                "\(index / 12)-\(String(format: "%02d", index % 12 + 1))", base: "\(base / 100).\(String(format: "%02d", base % 100))",
                employer: ["16", "20", "14.5", "12.25"].randomElement(using: &generator)!, personal: ["8", "7.75"].randomElement(using: &generator)!,
                place: places.randomElement(using: &generator)!.rawValue)
        }
    }

    @Test("information forms, their ledgers and months: the same bytes as JSONEncoder, over hundreds of random records")
    func forms() throws {
        var generator = SplitMix64(seed: 22)
        var written = 0
        for _ in 0..<300 {
            let months = Self.randomMonths(&generator)
            guard
                var form = try? TransferCalculator.informationForm(
                    months: months, pre1998Account: Fixtures.money("\(Int.random(in: 0...99_999, using: &generator)).07"),
                    kind: Bool.random(using: &generator) ? .general : .temporary, transferYear: 2026, rates: Self.rates)
            else { continue }
            try Self.expectSame(form)
            // Forms from producers before `months` and rows before `places` leave them out.
            form.months = nil
            form.ledger = form.ledger.map { var row = $0; row.places = nil; return row }
            try Self.expectSame(form)
            written += 1
        }
        #expect(written > 250)
        // Numbers at the ends of Int's range, zero and negatives, as JSONEncoder writes them.
        for number in [0, 1, -1, 9, 10, -10, 1998, Int.max, Int.min, Int.max - 1, Int.min + 1] {
            let row = LedgerRow(
                year: number, placeCode: Fixtures.shenzhen, months: number, monthlyBase: .zero, employerRate: .percent("0"),
                personalRate: .percent("0"), credited: .zero, interest: .zero, closingBalance: .zero,
                places: [PlaceMonths(placeCode: Fixtures.chengdu, months: number, lastMonth: Fixtures.month("2026-12"))])
            try Self.expectSame(row)
        }
    }

    @Test("amounts, rates, months and dates are written digit by digit as their text reads, edges and odd values included")
    func numbers() throws {
        var generator = SplitMix64(seed: 2026)
        let fens = [0, 1, 9, 10, 99, 100, 101, 1_000_000, -1, -5, -100, -12_345, Int.max, Int.min, Money.limit, -Money.limit]
            + (0..<2_000).map { _ in Int.random(in: -10_000_000_000...10_000_000_000, using: &generator) }
        let ppms = [0, 1, 10, 100, 1_000, 10_000, 83_100, 160_000, 1_000_000, 12_345, 100_001, -1, -3_100, -83_100, Int.max, Int.min]
            + (0..<2_000).map { _ in Int.random(in: 0...1_000_000, using: &generator) }
        // A negative rate (no reading gives one) is written with its sign; it used to stop the program.
        #expect(Rate(partsPerMillion: -83_100).description == "-8.31")
        #expect(Rate(partsPerMillion: Int.min).description == "-922337203685477.5808")
        for (index, fen) in fens.enumerated() {
            let ppm = ppms[index % ppms.count]
            let year = [0, 7, 99, 1998, 2026, 12_345][index % 6]
            let month = ContributionMonth(
                period: YearMonth(validYear: year, month: index % 12 + 1), base: Money(fen: fen), employerRate: Rate(partsPerMillion: ppm),
                personalRate: Rate(partsPerMillion: ppms[(index + 1) % ppms.count]), placeCode: Fixtures.shenzhen)
            try Self.expectSame(month, readBack: false)
        }
        for ppm in ppms {
            let month = ContributionMonth(
                period: Fixtures.month("2026-10"), base: .zero, employerRate: Rate(partsPerMillion: ppm), personalRate: .zero, placeCode: Fixtures.shenzhen)
            try Self.expectSame(month, readBack: (0...1_000_000).contains(ppm))
        }
        for (year, month, day) in [(1, 1, 1), (99, 10, 5), (1998, 1, 31), (2026, 10, 9), (2026, 12, 31), (9999, 12, 31)] {
            let date = try #require(LocalDate(year: year, month: month, day: day))
            try Self.expectSame(DestinationCaseEvent.completed(on: date), readBack: LocalDate.validYears.contains(year))
            try Self.expectSame(DestinationCaseEvent.formReceived(EventContractTests.form, on: date), readBack: LocalDate.validYears.contains(year))
        }
    }

    @Test("strings are escaped as JSONEncoder escapes them: quotes, backslashes, every control character; slashes and non-ASCII as they are")
    func strings() throws {
        var names = (0..<128).map { "a\(String(UnicodeScalar(UInt8($0))))b" }
        names += ["", "\"", "\\", "/", "李伟", "Zoë \u{2028} \u{2029} \u{7F} \u{FEFF}", "🇨🇳 𝄞", "\\\"\n\r\t\u{0}\u{1F}", "a/b\\/c", "</script>"]
        for name in names {
            var person = EventContractTests.person
            person.name = name
            try Self.expectSame(person)
            try Self.expectSame(OfficeRef(code: Fixtures.chengdu, name: name))
        }
    }

    @Test("events: every type's data() is JSONEncoder's sorted JSON, the form and relationship events written by hand among them")
    func events() throws {
        var handWritten: Set<EventType> = []
        for event in EventContractTests.samples {
            let cloudEvent = EventContractTests.cloudEvent(event)
            #expect(try cloudEvent.data() == (try Self.reference(event.payload)), "\(event.type)")
            if event.payload is any SortedJSONWritable { handWritten.insert(event.type) }
        }
        #expect(handWritten == [.infoFormIssued, .relationshipReceived])
        let infoForm = try #require(EventContractTests.samples.first { $0.type == .infoFormIssued }?.payload as? InfoFormIssued)
        try Self.expectSame(infoForm)
        let received = try #require(EventContractTests.samples.first { $0.type == .relationshipReceived }?.payload as? RelationshipReceived)
        try Self.expectSame(received)
    }

    @Test("case-history entries: the form's entry written by hand, every other through JSONEncoder, all read back as they were")
    func caseHistoryEntries() throws {
        let form = EventContractTests.form
        let day = Fixtures.date("2026-03-02")
        let remittance = RemittanceID(office: Fixtures.shenzhen, year: 2026, sequence: 1)
        let destination: [DestinationCaseEvent] = [
            .formReceived(form, on: day), .heldForCertificate(until: day, on: day),
            .reviewed(.contactLetter, letter: EventContractTests.letter, on: day), .reviewed(.rejected([.receivesPension]), letter: nil, on: day),
            .letterReturned([.arrearsOutstanding], on: day), .fundsReceived(remittance, form.totalRemitted, on: day),
            .excessRefunded(remittance, Fixtures.money("0.01"), on: day), .completed(on: day),
        ]
        for event in destination { try Self.expectSame(event) }
        let origin: [OriginCaseEvent] = [
            .formIssued(form, on: day), .returned([.arrearsOutstanding], on: day), .fundsRemitted(remittance, form.totalRemitted, on: day),
            .relationshipTerminated(on: day), .discrepancyRaised(expected: Fixtures.money("2.00"), received: Fixtures.money("1.00"), on: day),
            .claimRefused(event: "e-1", reason: "a \"quoted\" reason\nover two lines / with a slash", on: day), .completed(on: day),
        ]
        for event in origin { try Self.expectSame(event) }
    }
}
