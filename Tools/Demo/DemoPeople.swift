import Foundation
import TransferDomain

/// What happens to a generated person's application; spread over the batch so that every final
/// state and most reason codes appear.
enum Scenario: String, CaseIterable {
    case transfer, pensioner, arrears, stillContributing, temporaryRule, sameProvince, notRegistered, certificateMismatch, nameMismatch

    /// 11 of 20 transfer; one each of the others.
    static func of(index: Int) -> Scenario {
        switch index % 20 {
        case 11: return .pensioner
        case 12: return .arrears
        case 13: return .stillContributing
        case 14: return .temporaryRule
        case 15: return .sameProvince
        case 16: return .notRegistered
        case 17: return .certificateMismatch
        case 18: return .nameMismatch
        default: return .transfer
        }
    }
}

/// A seedable generator, so the same seed gives the same people.
struct DemoRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

enum CitizenIDFactory {
    /// A citizen ID for the area and birth date that is not in `taken` (large batches would
    /// otherwise give two people born the same day the same ID now and then); added to `taken`.
    static func make(area: String, birth: LocalDate, male: Bool, index: Int, taken: inout Set<String>) -> CitizenID {
        let birthText = String(format: "%04d%02d%02d", birth.year, birth.month, birth.day)
        var attempt = 0
        while true {
            let sequence = ((index + attempt) % 499) * 2 + (male ? 1 : 0)
            let first17 = area + birthText + String(format: "%03d", sequence)
            // The check character is computed, so this cannot fail.
            let id = (try? CitizenID(first17 + String(CitizenID.checkCharacter(forFirst17: first17))))!
            if taken.insert(id.rawValue).inserted { return id }
            attempt += 1
        }
    }
}

/// Today in Asia/Shanghai (UTC+8, no daylight saving).
func shanghaiToday() -> LocalDate {
    LocalDate(daysSinceEpoch: Int(((Date().timeIntervalSince1970 + 8 * 3600) / 86_400).rounded(.down)))
}

/// One generated person: their record at the origin, their registration at the destination and
/// their application.
struct Person: Sendable {
    let index: Int
    let scenario: Scenario
    let id: CitizenID
    let name: String
    let hukou: ProvinceCode
    let origin: OfficeCode
    let destination: OfficeCode
    let months: [ContributionMonth]
    let pre1998: Money
    let kind: AccountKind
    var certificateNo: String?

    static let surnames = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu", "Xu", "Sun", "Ma", "Zhu", "Hu", "Guo"]
    static let givenNames = ["Wei", "Fang", "Na", "Min", "Jing", "Lei", "Qiang", "Yan", "Jun", "Tao", "Ping", "Hui", "Xin", "Lin", "Bo", "Ying"]
    static let provinces = ["11", "31", "32", "33", "37", "42", "43", "44", "50", "61"]

    static func make(index: Int, origins: [OfficeCode], destination: OfficeCode, using random: inout DemoRandom, taken: inout Set<String>) -> Person {
        let scenario = Scenario.of(index: index)
        let today = shanghaiToday()
        let origin: OfficeCode = scenario == .sameProvince ? (try? OfficeCode("510700"))! : origins[index % origins.count]
        let male = scenario == .temporaryRule ? true : Bool.random(using: &random)
        let birthYear = scenario == .temporaryRule ? Int.random(in: 1962...1974, using: &random) : Int.random(in: 1966...1998, using: &random)
        let birth = LocalDate(year: birthYear, month: Int.random(in: 1...12, using: &random), day: Int.random(in: 1...28, using: &random))!
        let age = today.years(since: birth)
        // Older movers return to their hukou province (Sichuan) unless the temporary-account rule is
        // the point; that keeps the rule's outcome where the scenario wants it.
        var hukou = (try? ProvinceCode(provinces[Int.random(in: 0..<provinces.count, using: &random)]))!
        if scenario != .temporaryRule && ((male && age >= 50) || (!male && age >= 40)) { hukou = (try? ProvinceCode("51"))! }
        if scenario == .temporaryRule { hukou = (try? ProvinceCode("44"))! }
        let id = CitizenIDFactory.make(area: origin.rawValue, birth: birth, male: male, index: index, taken: &taken)
        let name = surnames[Int.random(in: 0..<surnames.count, using: &random)] + " " + givenNames[Int.random(in: 0..<givenNames.count, using: &random)]

        // A multi-year ledger: work from age 18-25 (but some from before 1998), to two months ago.
        let earliest = max(birthYear + 18, 1992)
        let startYear = index % 5 == 0 ? max(earliest, min(1996, today.year - 3)) : min(Int.random(in: max(earliest, 1999)...max(earliest, 2021), using: &random), today.year - 2)
        let start = (try? YearMonth(startYear, Int.random(in: 1...12, using: &random)))!
        let end = today.yearMonth.advanced(by: -2)
        var months: [ContributionMonth] = []
        var base = 1200.0 + Double(Int.random(in: 0...800, using: &random))
        var period = start
        let kind: AccountKind = (scenario == .transfer && index % 7 == 3) ? .temporary : .general
        while period <= end {
            // Contribution gaps: a few months between jobs now and then.
            if Int.random(in: 0..<100, using: &random) < 2 { period = period.advanced(by: Int.random(in: 1...4, using: &random)); continue }
            let employer: Rate = period.year < 2019 ? .percent("20") : .percent("16")
            months.append(ContributionMonth(
                period: period, base: Money(fen: Int(base * 100)), employerRate: employer, personalRate: .percent("8"),
                placeCode: origin))
            if period.month == 12 { base *= 1.0 + Double(Int.random(in: 2...9, using: &random)) / 100 }
            period = period.advanced(by: 1)
        }
        let pre1998Months = months.filter { $0.period.year < 1998 }
        // ①: the person's own pre-1998 contributions with interest, a figure the origin holds.
        let pre1998 = Money(fen: pre1998Months.reduce(0) { $0 + ((try? $1.base.times(.percent("8")))?.fen ?? 0) } * 13 / 10)
        return Person(
            index: index, scenario: scenario, id: id, name: name, hukou: hukou, origin: origin, destination: destination, months: months,
            pre1998: pre1998, kind: kind)
    }

    var wantsCertificate: Bool { scenario == .certificateMismatch || (scenario == .transfer && index % 4 == 0) }

    /// Registers at the origin (ledger, suspension, certificate) and the destination.
    mutating func register(client: HTTP, origin originURL: URL, destination destinationURL: URL) async throws {
        if scenario != .sameProvince {
            let person = originURL.appendingPathComponent("v1/persons/\(id.rawValue)")
            let _: JSONAny = try await client.send("PUT", person, body: [
                "name": .string(scenario == .nameMismatch ? name + " Jr" : name), "hukouProvince": .string(hukou.rawValue),
                "status": .string("contributing"), "arrears": .string(scenario == .arrears ? "350.00" : "0.00"),
                "pre1998Account": .string(pre1998.description), "receivesPension": .bool(false), "accountKind": .string(kind.rawValue),
            ])
            let _: JSONAny = try await client.send("POST", person.appendingPathComponent("months"), body: monthsBody(months))
            if scenario != .stillContributing {
                let _: JSONAny = try await client.send("POST", person.appendingPathComponent("suspension"), body: [:])
            }
            if wantsCertificate {
                let certificate: [String: JSONAny] = try await client.send("POST", person.appendingPathComponent("certificates"), body: [
                    "destinationOffice": .string(destination.rawValue),
                    "materials": .object([
                        "identityDocument": .string("ID card \(id.masked)"), "householdRegister": .string("hukou booklet \(hukou.rawValue)"),
                        "laborContractTermination": .string("termination notice \(index)"),
                    ]),
                ])
                certificateNo = certificate["certificateNo"]?.string
            }
        }
        if scenario != .notRegistered {
            let today = shanghaiToday()
            let _: JSONAny = try await client.send("PUT", destinationURL.appendingPathComponent("v1/persons/\(id.rawValue)"), body: [
                "name": .string(name), "hukouProvince": .string(hukou.rawValue),
                "registeredOn": .string(today.adding(days: -Int(index % 20) - 5).description), "contributing": .bool(true),
                "receivesPension": .bool(scenario == .pensioner),
                "cards": .array([.object(["issuer": .string(origin.rawValue), "issuedOn": .string("2015-03-01")])]),
            ])
        }
    }

    var application: [String: JSONAny] {
        var body: [String: JSONAny] = [
            "citizenId": .string(id.rawValue), "name": .string(name), "hukouProvince": .string(hukou.rawValue),
            "originOffice": .string(origin.rawValue), "approvedTransfer": .bool(false),
        ]
        if scenario == .certificateMismatch, let certificateNo {
            // A number the origin never issued for this person.
            body["certificateNo"] = .string(String(certificateNo.dropLast(6)) + "999999")
        } else if let certificateNo {
            body["certificateNo"] = .string(certificateNo)
        }
        return body
    }

    /// ⑥ as the domain computes it, for checking the offices' amounts.
    func expectedTotal(rates: CreditingRates, transferYear: Int) -> Money? {
        try? TransferCalculator.informationForm(months: months, pre1998Account: pre1998, kind: kind, transferYear: transferYear, rates: rates).totalRemitted
    }
}
