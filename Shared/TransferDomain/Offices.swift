import Foundation

/// A bank account that receives or pays transferred funds.
public struct BankAccount: Hashable, Sendable, Codable {
    public var bankName: String
    public var accountName: String
    public var accountNumber: String

    public init(bankName: String, accountName: String, accountNumber: String) {
        self.bankName = bankName
        self.accountName = accountName
        self.accountNumber = accountNumber
    }

    /// The problems that make the account unusable for a remittance (O07), empty when none.
    public var problems: [String] {
        var result: [String] = []
        if bankName.trimmingWhitespace.isEmpty { result.append("bank name is missing") }
        if accountName.trimmingWhitespace.isEmpty { result.append("account name is missing") }
        if !(10...32).contains(accountNumber.count) || !accountNumber.allSatisfy({ $0.isASCII && $0.isNumber }) {
            result.append("account number must be 10-32 digits")
        }
        return result
    }

    public var isValid: Bool { problems.isEmpty }
}

extension String {
    var trimmingWhitespace: Substring {
        let start = firstIndex { !$0.isWhitespace } ?? endIndex
        let end = lastIndex { !$0.isWhitespace }.map { index(after: $0) } ?? start
        return self[start..<max(start, end)]
    }
}

/// A city's social insurance agency (社保经办机构).
public struct Office: Hashable, Sendable, Codable {
    public var code: OfficeCode
    public var name: String
    public var city: String
    public var province: String
    /// Only where a public source gives it; `nil` otherwise.
    public var address: String?
    /// The national social insurance hotline 12333 serves every city; a local number only with a source.
    public var phone: String
    /// FICTIONAL test data: no real account of any agency is shipped.
    public var account: BankAccount
}

/// The directory of offices the regulations require every office to keep. Ships as data.
public struct OfficeDirectory: Sendable {
    public let offices: [OfficeCode: Office]

    public init(_ offices: [Office]) {
        self.offices = Dictionary(offices.map { ($0.code, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public subscript(code: OfficeCode) -> Office? { offices[code] }

    /// - Throws: ``ValidationError`` on `field` when the office is not in the directory.
    public func office(_ code: OfficeCode, field: String = "officeCode") throws(ValidationError) -> Office {
        guard let office = offices[code] else {
            throw ValidationError(field: field, reason: "office \(code) is not in the directory")
        }
        return office
    }

    /// The shipped directory.
    ///
    /// Codes are the cities' administrative-division codes of GB/T 2260 (municipalities use the
    /// province-level code). Bank accounts are FICTIONAL test data.
    public static let standard = OfficeDirectory(
        [
            ("110000", "Beijing", "Beijing"), ("310000", "Shanghai", "Shanghai"), ("500000", "Chongqing", "Chongqing"),
            ("440100", "Guangzhou", "Guangdong"), ("440300", "Shenzhen", "Guangdong"),
            ("330100", "Hangzhou", "Zhejiang"), ("330200", "Ningbo", "Zhejiang"),
            ("510100", "Chengdu", "Sichuan"), ("510700", "Mianyang", "Sichuan"), ("420100", "Wuhan", "Hubei"), ("320100", "Nanjing", "Jiangsu"),
            ("320500", "Suzhou", "Jiangsu"), ("610100", "Xi'an", "Shaanxi"), ("430100", "Changsha", "Hunan"),
            ("370200", "Qingdao", "Shandong"), ("350200", "Xiamen", "Fujian"),
        ].enumerated().compactMap { index, entry -> Office? in
            guard let code = try? OfficeCode(entry.0) else { return nil }
            return Office(
                code: code, name: "\(entry.1) Social Insurance Agency", city: entry.1, province: entry.2, address: nil,
                phone: "12333",
                account: BankAccount(
                    bankName: "FICTIONAL TEST BANK", accountName: "\(entry.1) Social Insurance Fund (test data)",
                    accountNumber: "62" + entry.0 + String(format: "%010d", 1000 + index)))
        })
}

/// A social security card: issued by one city, valid in every city of the issuing province
/// ("one province, one card"), never across provinces.
public struct SocialSecurityCard: Hashable, Sendable, Codable {
    public var holder: CitizenID
    public var issuer: OfficeCode
    public var issuedOn: LocalDate

    public init(holder: CitizenID, issuer: OfficeCode, issuedOn: LocalDate) {
        self.holder = holder
        self.issuer = issuer
        self.issuedOn = issuedOn
    }

    public func isValid(at office: OfficeCode) -> Bool { issuer.sameProvince(as: office) }
}

extension Collection where Element == SocialSecurityCard {
    /// The card valid at `office`, if the person holds one.
    public func valid(at office: OfficeCode) -> SocialSecurityCard? { first { $0.isValid(at: office) } }

    /// Whether registering at `office` needs a new card (none held is valid in its province).
    public func needsNewCard(at office: OfficeCode) -> Bool { valid(at: office) == nil }
}
