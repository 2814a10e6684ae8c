import Foundation
import TransferDomain

/// Builders of valid domain values for tests.
enum Fixtures {
    /// A valid citizen ID for an area, birth date (YYYYMMDD) and 3-digit sequence (odd: male).
    static func citizenID(area: String = "510104", birth: String, sequence: String) -> CitizenID {
        let first17 = area + birth + sequence
        return try! CitizenID(first17 + String(CitizenID.checkCharacter(forFirst17: first17)))
    }

    static func office(_ code: String) -> OfficeCode { try! OfficeCode(code) }
    static func month(_ text: String) -> YearMonth { try! YearMonth(text) }
    static func date(_ text: String) -> LocalDate { try! LocalDate(text) }
    static func money(_ text: String) -> Money { try! Money(text) }

    static func contribution(
        _ period: String, base: String, employer: String = "16", personal: String = "8", place: String = "440300"
    ) -> ContributionMonth {
        ContributionMonth(
            period: month(period), base: money(base), employerRate: try! Rate(percent: employer), personalRate: try! Rate(percent: personal),
            placeCode: office(place))
    }

    static let shenzhen = office("440300")
    static let guangzhou = office("440100")
    static let chengdu = office("510100")
    static let hangzhou = office("330100")
    static let sichuan = try! ProvinceCode("51")
    static let guangdong = try! ProvinceCode("44")
}
