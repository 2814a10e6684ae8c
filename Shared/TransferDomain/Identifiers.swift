import Foundation

/// An 18-character resident identity number (GB 11643), also the social security number.
///
/// Digits 1-6: the issuing area; 7-14: birth date (`YYYYMMDD`); 15-17: sequence, odd for men;
/// 18: ISO 7064 MOD 11-2 check character (`X` stands for 10).
public struct CitizenID: Hashable, Sendable, TextCodable, CustomStringConvertible, Comparable {
    public let rawValue: String

    /// Validates length, digits, birth date and check character.
    /// - Throws: ``ValidationError`` on the field `field`.
    public init(_ text: String, field: String = "citizenId") throws(ValidationError) {
        let value = text.uppercased()
        let chars = Array(value)
        guard chars.count == 18 else {
            throw ValidationError(field: field, reason: "must be 18 characters, got \(chars.count)")
        }
        guard chars[0..<17].allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw ValidationError(field: field, reason: "the first 17 characters must be digits")
        }
        guard chars[17].isASCII && (chars[17].isNumber || chars[17] == "X") else {
            throw ValidationError(field: field, reason: "the check character must be a digit or X")
        }
        let expected = Self.checkCharacter(forFirst17: String(chars[0..<17]))
        guard chars[17] == expected else {
            throw ValidationError(field: field, reason: "check character is \(chars[17]) but must be \(expected)")
        }
        let birth = String(chars[6..<14])
        guard let year = Int(birth.prefix(4)), let month = Int(birth.dropFirst(4).prefix(2)),
              let day = Int(birth.suffix(2)), let date = LocalDate(year: year, month: month, day: day),
              year >= 1800
        else {
            throw ValidationError(field: field, reason: "characters 7-14 are not a valid birth date")
        }
        _ = date
        rawValue = value
    }

    /// The ISO 7064 MOD 11-2 check character for 17 digits.
    public static func checkCharacter(forFirst17 digits: String) -> Character {
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        let sum = zip(digits.compactMap { $0.wholeNumberValue }, weights).reduce(0) { $0 + $1.0 * $1.1 }
        let value = (12 - sum % 11) % 11
        return value == 10 ? "X" : Character(String(value))
    }

    public var birthDate: LocalDate {
        let chars = Array(rawValue)
        // Validated at init.
        return LocalDate(
            year: Int(String(chars[6..<10])) ?? 1900, month: Int(String(chars[10..<12])) ?? 1,
            day: Int(String(chars[12..<14])) ?? 1) ?? LocalDate(year: 1900, month: 1, day: 1)!
    }

    public var sex: Sex { (Array(rawValue)[16].wholeNumberValue ?? 0) % 2 == 1 ? .male : .female }

    /// For logs: first 6 and last 4 characters, the rest masked.
    public var masked: String { Self.masked(rawValue) }

    /// `text` masked as ``masked`` masks an ID (for IDs read back from storage); text that is not
    /// 18 characters long is returned as it is.
    public static func masked(_ text: String) -> String {
        text.count == 18 ? String(text.prefix(6)) + "********" + String(text.suffix(4)) : text
    }
    public var description: String { masked }

    public static func parse(_ text: String) throws -> CitizenID { try CitizenID(text) }
    public var textValue: String { rawValue }

    public static func < (lhs: CitizenID, rhs: CitizenID) -> Bool { lhs.rawValue < rhs.rawValue }
}

public enum Sex: String, Codable, Sendable, Hashable {
    case male, female
}

/// A province-level division: the first two digits of an administrative-division code.
public struct ProvinceCode: Hashable, Sendable, TextCodable, CustomStringConvertible {
    public let rawValue: String

    /// The province-level codes of GB/T 2260 (mainland, plus Taiwan, Hong Kong, Macao).
    static let known: Set<String> = [
        "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43",
        "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
    ]

    /// ``known`` by number, for codes read as digits (an office code per month of a form).
    private static let knownNumbers: [Bool] = (0..<100).map { known.contains(String(format: "%02d", $0)) }

    public init(_ text: String, field: String = "province") throws(ValidationError) {
        guard Self.known.contains(text) else {
            throw ValidationError(field: field, reason: "\"\(text)\" is not a province code of GB/T 2260")
        }
        rawValue = text
    }

    /// The province of a code whose first two bytes are ASCII digits (checked by the caller).
    init(leadingDigitsOf text: String, field: String) throws(ValidationError) {
        var digits = text.utf8.makeIterator()
        let number = Int(digits.next()! - UInt8(ascii: "0")) * 10 + Int(digits.next()! - UInt8(ascii: "0"))
        let code = String(text.prefix(2))
        guard Self.knownNumbers[number] else {
            throw ValidationError(field: field, reason: "\"\(code)\" is not a province code of GB/T 2260")
        }
        rawValue = code
    }

    public var description: String { rawValue }

    public static func parse(_ text: String) throws -> ProvinceCode { try ProvinceCode(text) }
    public var textValue: String { rawValue }
}

/// A social insurance office, by the 6-digit administrative-division code of its city (GB/T 2260).
public struct OfficeCode: Hashable, Sendable, TextCodable, CustomStringConvertible, Comparable {
    public let rawValue: String

    public init(_ text: String, field: String = "officeCode") throws(ValidationError) {
        // Six ASCII digits, checked as bytes (every month of a form names its office).
        guard text.utf8.count == 6, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw ValidationError(field: field, reason: "must be 6 digits, got \"\(text)\"")
        }
        province = try ProvinceCode(leadingDigitsOf: text, field: field)
        rawValue = text
    }

    /// The province the office belongs to (the code's first two digits).
    public let province: ProvinceCode
    public var description: String { rawValue }

    public func sameProvince(as other: OfficeCode) -> Bool { province == other.province }

    public static func parse(_ text: String) throws -> OfficeCode { try OfficeCode(text) }
    public var textValue: String { rawValue }

    public static func < (lhs: OfficeCode, rhs: OfficeCode) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A transfer case, the same id at both offices; the Kafka key of every case event.
public struct CaseID: Hashable, Sendable, TextCodable, CustomStringConvertible {
    public let rawValue: UUID

    public init(_ rawValue: UUID = UUID()) { self.rawValue = rawValue }

    public init(_ text: String, field: String = "caseId") throws(ValidationError) {
        guard let uuid = UUID(uuidString: text) else { throw ValidationError(field: field, reason: "not a UUID") }
        rawValue = uuid
    }

    public var description: String { rawValue.uuidString.lowercased() }

    public static func parse(_ text: String) throws -> CaseID { try CaseID(text) }
}

/// A document number of the form `<PREFIX>-<office code>-<year>-<6-digit sequence>`.
///
/// Decided here (the regulations fix no format): the issuing office and year make numbers unique
/// across offices without coordination; the sequence is per office and year.
public protocol DocumentNumber: Hashable, Sendable, TextCodable, CustomStringConvertible {
    static var prefix: String { get }
    static var fieldName: String { get }
    var rawValue: String { get }
    init(validated: String)
}

extension DocumentNumber {
    public init(_ text: String, field: String? = nil) throws(ValidationError) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == Self.prefix, (try? OfficeCode(String(parts[1]))) != nil,
              parts[2].count == 4, Int(parts[2]) != nil, parts[3].count == 6, parts[3].allSatisfy(\.isNumber)
        else {
            throw ValidationError(
                field: field ?? Self.fieldName, reason: "must look like \(Self.prefix)-510100-2026-000001, got \"\(text)\"")
        }
        self.init(validated: text)
    }

    public init(office: OfficeCode, year: Int, sequence: Int) {
        self.init(validated: "\(Self.prefix)-\(office.rawValue)-\(year)-\(String(format: "%06d", sequence))")
    }

    /// The office that issued the number.
    public var issuer: OfficeCode? { try? OfficeCode(String(rawValue.split(separator: "-")[1])) }
    public var description: String { rawValue }

    public static func parse(_ text: String) throws -> Self { try Self(text) }
    public var textValue: String { rawValue }
}

/// The number of a contact letter (联系函), issued by the destination.
public struct ContactLetterNumber: DocumentNumber {
    public static let prefix = "CL"
    public static let fieldName = "contactLetterNo"
    public let rawValue: String
    public init(validated: String) { rawValue = validated }
}

/// The number of a payment certificate (参保缴费凭证), issued by the origin.
public struct CertificateNumber: DocumentNumber {
    public static let prefix = "PC"
    public static let fieldName = "certificateNo"
    public let rawValue: String
    public init(validated: String) { rawValue = validated }
}

/// A remittance's bank reference, issued by the paying office; posts once however often delivered.
public struct RemittanceID: DocumentNumber {
    public static let prefix = "RM"
    public static let fieldName = "remittanceId"
    public let rawValue: String
    public init(validated: String) { rawValue = validated }
}
