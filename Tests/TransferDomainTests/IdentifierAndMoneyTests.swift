import Foundation
import Testing
import TransferDomain

@Suite("Identifiers and money")
struct IdentifierAndMoneyTests {
    @Test("GB 11643 check characters: the standard's examples and X for 10", arguments: [
        "11010519491231002X",  // GB 11643-1999 example: check value 10 is written X
        "440524188001010014",  // GB 11643-1999 example
    ])
    func validIDs(text: String) throws {
        let id = try CitizenID(String(text))
        #expect(id.rawValue == String(text))
    }

    @Test("invalid IDs are refused, naming the field and the reason", arguments: [
        ("11010519491231002", "18 characters"),
        ("110105194912310021", "check character"),  // should be X
        ("440524188001010015", "check character"),
        ("4405241880010100A4", "17 characters must be digits"),
        ("440524188013010014", "birth date"),  // month 13 (check digit recomputed below)
    ])
    func invalidIDs(text: String, reason: String) {
        var candidate = text
        if reason == "birth date" {
            let first17 = String(text.prefix(17))
            candidate = first17 + String(CitizenID.checkCharacter(forFirst17: first17))
        }
        let error = #expect(throws: ValidationError.self) { try CitizenID(candidate) }
        #expect(error?.field == "citizenId")
        #expect(error?.reason.contains(reason) == true, "\(error?.reason ?? "")")
    }

    @Test("lower-case x is read as X; birth date and sex come from the number")
    func derivedFacts() throws {
        let woman = try CitizenID("11010519491231002x")
        #expect(woman.rawValue == "11010519491231002X")
        #expect(woman.birthDate == Fixtures.date("1949-12-31"))
        #expect(woman.sex == .female)
        let man = try CitizenID("440524188001010014")
        #expect(man.sex == .male)
        #expect(man.masked == "440524********0014")
    }

    @Test("office codes: 6 digits with a real province; province is the first two")
    func officeCodes() throws {
        #expect(try OfficeCode("510100").province.rawValue == "51")
        #expect(Fixtures.shenzhen.sameProvince(as: Fixtures.guangzhou))
        #expect(!Fixtures.shenzhen.sameProvince(as: Fixtures.chengdu))
        for bad in ["51010", "5101000", "99xxxx", "990100", "abcdef"] {
            let error = #expect(throws: ValidationError.self) { try OfficeCode(bad) }
            #expect(error?.field == "officeCode")
        }
        // The province is checked from the code's digits: the same answer as reading it as text.
        for number in 0..<100 {
            let province = String(format: "%02d", number)
            let asText = try? ProvinceCode(province)
            #expect((try? OfficeCode(province + "0100"))?.province == asText, "\(province)")
        }
        #expect(throws: ValidationError(field: "officeCode", reason: "\"99\" is not a province code of GB/T 2260")) { try OfficeCode("990100") }
    }

    @Test("document numbers carry their issuer and refuse other shapes")
    func documentNumbers() throws {
        let letter = ContactLetterNumber(office: Fixtures.chengdu, year: 2026, sequence: 42)
        #expect(letter.rawValue == "CL-510100-2026-000042")
        #expect(letter.issuer == Fixtures.chengdu)
        #expect(try ContactLetterNumber("CL-510100-2026-000042") == letter)
        let error = #expect(throws: ValidationError.self) { try RemittanceID("CL-510100-2026-000042") }
        #expect(error?.field == "remittanceId")
    }

    @Test("money parses and prints yuan with two decimals, exactly in fen")
    func moneyText() throws {
        #expect(try Money("108753.48").fen == 10_875_348)
        #expect(try Money("0.05").description == "0.05")
        #expect(try Money("7").description == "7.00")
        #expect(try Money("7.5").description == "7.50")
        #expect(try Money("-12.30").fen == -1230)
        #expect(Money(fen: -5).description == "-0.05")
        for bad in ["", "1.234", "1,00", "abc", "1.", ".5", "--1", "1e5", "12345678901234.00"] {
            let error = #expect(throws: ValidationError.self) { try Money(bad, field: "amount") }
            #expect(error?.field == "amount", "\(bad)")
        }
    }

    @Test("rates multiply money rounding half-up to the fen")
    func halfUp() throws {
        #expect(try Money(fen: 5).times(.percent("50")).fen == 3)  // 2.5 → 3
        #expect(try Money(fen: 4).times(.percent("50")).fen == 2)
        #expect(try Money(fen: 161_224).times(.percent("3.97")).fen == 6401)  // 6400.5928
        #expect(try Money(fen: 11_021).times(.percent("2.5")).fen == 276)  // 275.525
        #expect(try Money(fen: -5).times(.percent("50")).fen == -3)  // ties away from zero
        #expect(Rate.percent("8.31").description == "8.31")
        #expect(Rate.percent("12").description == "12")
    }

    @Test("money text and arithmetic round-trip over many random amounts")
    func moneyProperties() throws {
        var generator = SplitMix64(seed: 20_261_129)
        for _ in 0..<5000 {
            let a = Money(fen: Int.random(in: -10_000_000_000...10_000_000_000, using: &generator))
            let b = Money(fen: Int.random(in: -10_000_000...10_000_000, using: &generator))
            #expect(try Money(a.description) == a)
            #expect(try (a + b) - b == a)
            #expect(try [a, b, a].sum() == a + b + a)
            let codec = try JSONDecoder().decode(Money.self, from: JSONEncoder().encode(a))
            #expect(codec == a)
        }
    }

    @Test("amounts are read byte by byte with the same answers and the same reasons as before")
    func moneyTextReasons() throws {
        let good: [(String, Int)] = [("12", 1200), ("12.5", 1250), ("12.05", 1205), ("-3.1", -310), ("0", 0), ("0001.50", 150), ("0000000000000099.00", 9900)]
        for (text, fen) in good { #expect(try Money(text).fen == fen, "\(text)") }
        let bad: [(String, String)] = [
            ("1.2.3", "is not an amount"), (".5", "is not an amount"), ("-", "is not an amount"), ("", "is not an amount"), ("--5", "is not an amount"),
            ("+5", "is not an amount"), ("1 2", "is not an amount"), ("１２.00", "is not an amount"), ("12.", "one or two decimals"),
            ("12.345", "one or two decimals"), ("12.x", "one or two decimals"), ("12.٣", "one or two decimals"),
            ("10000000000000.00", "too large"), ("99999999999999.1.2", "is not an amount"),
        ]
        for (text, reason) in bad {
            let error = #expect(throws: ValidationError.self, "\(text)") { try Money(text, field: "base") }
            #expect(error?.reason.contains(reason) == true && error?.field == "base", "\(text): \(error?.reason ?? "")")
        }
    }

    @Test("amounts are bounded and arithmetic is checked: out of range throws, never traps")
    func moneyRange() throws {
        let largest = try Money("9999999999999.99")
        #expect(largest.fen == Money.limit)
        #expect(try Money("-9999999999999.99").fen == -Money.limit)
        let tooLarge = #expect(throws: ValidationError.self) { try Money("10000000000000.00", field: "base") }
        #expect(tooLarge?.field == "base")
        // Sums, differences and products that leave the range throw DomainError.
        #expect(throws: DomainError.self) { try largest + Money(fen: 1) }
        #expect(throws: DomainError.self) { try Money(fen: -Money.limit) - Money(fen: 1) }
        #expect(throws: DomainError.self) { try [largest, largest].sum() }
        #expect(throws: DomainError.self) { try largest.times(try Rate(percent: "100.5")) }
        // Products are exact at double width: the largest amount times a rate does not overflow.
        #expect(try largest.times(.percent("100")) == largest)
        #expect(try largest.times(.percent("8")).fen == 80_000_000_000_000)  // 79 999 999 999 999.92 fen, half-up
        #expect(try Money.multiplyDividingRoundingHalfUp(Int.max, 2, by: 4, "test") == 4_611_686_018_427_387_904)  // 2^62 - 0.5, half-up
        // A form for a ledger whose bases sum beyond the range is an error, not a crash.
        let huge = ContributionMonth(
            period: Fixtures.month("2023-01"), base: largest, employerRate: .percent("16"), personalRate: .percent("8"), placeCode: Fixtures.shenzhen)
        var second = huge
        second.period = Fixtures.month("2023-02")
        #expect(throws: DomainError.self) {
            try TransferCalculator.informationForm(months: [huge, second], pre1998Account: .zero, kind: .general, transferYear: 2023, rates: CreditingRates())
        }
    }

    /// The general reading of a percentage (how every rate was read before the byte-by-byte
    /// path): the answer the fast path must give wherever it answers.
    /// The rule for a percentage, written the slow way: digits (no sign) of at most 100, an
    /// optional point with up to four decimals, an optional final `%`.
    static func generalPercent(_ text: String) -> Int? {
        let body = text.hasSuffix("%") ? String(text.dropLast()) : text
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts[0].allSatisfy({ $0.isASCII && $0.isNumber }),
              let whole = Int(parts[0]), whole <= 100
        else { return nil }
        var fraction = parts.count == 2 ? String(parts[1]) : ""
        guard fraction.count <= 4, fraction.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        fraction += String(repeating: "0", count: 4 - fraction.count)
        return whole * 10_000 + (Int(fraction) ?? 0)
    }

    @Test("rates and months are read byte by byte as their rules say, on thousands of near misses")
    func ratesAndMonthsByteByByte() throws {
        // A sign is refused, never dropped: "-0.5" was once read as 0.5 %.
        for signed in ["-0.5", "+8", "-0", "+0.25%"] {
            #expect(throws: ValidationError.self, "\"\(signed)\"") { try Rate(percent: signed) }
        }
        #expect(try Rate(percent: "0008.31%").partsPerMillion == 83_100)
        #expect(throws: ValidationError(field: "rate", reason: "\"12.34567\" has more than four decimals")) { try Rate(percent: "12.34567") }
        #expect(throws: ValidationError(field: "crediting.rates", reason: "\"8.3x\" is not a percentage like 8.31")) {
            try Rate(percent: "8.3x", field: "crediting.rates")
        }
        var generator = SplitMix64(seed: 22)
        let alphabet = Array("0123456789.%-+ x")
        var texts = ["8.31", "8.31%", "100", "100.0000", "100.0001", "101", "0", "0.", ".5", "8..3", "12.34567", "007", "+8", "-0.5", "8.3%%", "%", ""]
        for _ in 0..<20_000 {
            texts.append(String((0..<Int.random(in: 0...8, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }))
        }
        var accepted = 0
        for text in texts {
            let rate = try? Rate(percent: text)
            #expect(rate?.partsPerMillion == Self.generalPercent(text), "\"\(text)\"")
            if rate != nil { accepted += 1 }
        }
        #expect(accepted > 1_000, "only \(accepted) of \(texts.count) accepted: the comparison would prove little")

        let monthAlphabet = Array("0123456789-x ")
        var months = ["2024-03", "1900-01", "2200-12", "1899-12", "2201-01", "2024-13", "2024-00", "2024-3", "2024--3", "20240-3", "２０２４-03"]
        for _ in 0..<20_000 {
            // A month of these centuries, then maybe one character changed.
            var text = Array(String(format: "%04d-%02d", Int.random(in: 1890...2210, using: &generator), Int.random(in: 0...13, using: &generator)))
            if Bool.random(using: &generator) { text[Int.random(in: 0..<7, using: &generator)] = monthAlphabet.randomElement(using: &generator)! }
            months.append(String(text))
        }
        accepted = 0
        for text in months {
            let general: (Int, Int)? = {
                let bytes = Array(text.utf8)
                guard bytes.count == 7, bytes[4] == UInt8(ascii: "-"), [0, 1, 2, 3, 5, 6].allSatisfy({ (48...57).contains(bytes[$0]) }),
                      let y = Int(text.prefix(4)), let m = Int(text.suffix(2)), (1900...2200).contains(y), (1...12).contains(m)
                else { return nil }
                return (y, m)
            }()
            let month = try? YearMonth(text)
            #expect(month.map { [$0.year, $0.month] } == general.map { [$0.0, $0.1] }, "\"\(text)\"")
            if month != nil { accepted += 1 }
        }
        #expect(accepted > 5_000 && accepted < 19_000, "\(accepted) of \(months.count) months accepted")
    }

    @Test("rate literals in the code are what they say (a typo would stop the program, never read as 0 %)")
    func rateLiterals() {
        #expect(CreditingRates.national[2016]?.partsPerMillion == 83_100)
        #expect(CreditingRates.national[2024]?.partsPerMillion == 26_200)
        #expect(CreditingRates.national.values.allSatisfy { $0 > .zero })
        #expect(TransferCalculator.pooledShare.partsPerMillion == 120_000)
    }

    @Test("dates: civil arithmetic, weekdays and ages")
    func dates() throws {
        #expect(Fixtures.date("1970-01-01").daysSinceEpoch == 0)
        #expect(Fixtures.date("2024-02-29").adding(days: 1) == Fixtures.date("2024-03-01"))
        #expect(Fixtures.date("2026-11-29").isoWeekday == 7)  // a Sunday
        #expect(LocalDate(year: 2023, month: 2, day: 29) == nil)
        #expect(Fixtures.date("2025-06-14").years(since: Fixtures.date("1975-06-15")) == 49)
        #expect(Fixtures.date("2025-06-15").years(since: Fixtures.date("1975-06-15")) == 50)
        var generator = SplitMix64(seed: 7)
        for _ in 0..<2000 {
            let days = Int.random(in: -30_000...60_000, using: &generator)
            let date = LocalDate(daysSinceEpoch: days)
            #expect(date.daysSinceEpoch == days)
            #expect(try LocalDate(date.description) == date)
        }
        #expect(throws: ValidationError.self) { try YearMonth("2024-13") }
        #expect(Fixtures.month("2024-12").advanced(by: 1) == Fixtures.month("2025-01"))
    }

    @Test("the office directory has at least 10 offices in 8 provinces, accounts marked fictional")
    func directory() {
        let offices = OfficeDirectory.standard.offices.values
        #expect(offices.count >= 10)
        #expect(Set(offices.map(\.code.province)).count >= 8)
        for code in ["440300", "330100", "510100"] { #expect(OfficeDirectory.standard[Fixtures.office(code)] != nil) }
        #expect(offices.allSatisfy { $0.account.bankName.contains("FICTIONAL") && $0.account.isValid })
    }

    @Test("one province, one card: a card is valid in every city of its province, never across")
    func cards() {
        let person = Fixtures.citizenID(birth: "19880101", sequence: "011")
        let shenzhenCard = SocialSecurityCard(holder: person, issuer: Fixtures.shenzhen, issuedOn: Fixtures.date("2015-01-01"))
        #expect(shenzhenCard.isValid(at: Fixtures.guangzhou))
        #expect(!shenzhenCard.isValid(at: Fixtures.chengdu))
        let wallet = [shenzhenCard]
        #expect(!wallet.needsNewCard(at: Fixtures.guangzhou))
        #expect(wallet.needsNewCard(at: Fixtures.chengdu))
        let both = wallet + [SocialSecurityCard(holder: person, issuer: Fixtures.chengdu, issuedOn: Fixtures.date("2024-01-01"))]
        #expect(both.valid(at: Fixtures.chengdu)?.issuer == Fixtures.chengdu)
        #expect(both.valid(at: Fixtures.guangzhou)?.issuer == Fixtures.shenzhen)
    }
}

/// A small seedable generator so randomized tests repeat exactly.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
