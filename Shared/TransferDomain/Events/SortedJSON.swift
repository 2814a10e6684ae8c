import Foundation

/// The JSON every event and stored case history is written in: compact, keys sorted, `/` not
/// escaped (what `JSONEncoder` writes with `.sortedKeys` and `.withoutEscapingSlashes`).
///
/// The values every case carries by the hundred (an information form's ledger rows and months,
/// and the events and case-history entries around them) write themselves straight to bytes
/// (``SortedJSONWritable``), byte for byte what `JSONEncoder` writes for them, without Codable's
/// containers and the value tree `JSONEncoder` builds before it writes. Everything else goes
/// through `JSONEncoder`.
public enum SortedJSON {
    /// `value` as compact JSON with sorted keys.
    public static func encode<Value: Encodable>(_ value: Value) throws -> Data {
        if let writable = value as? any SortedJSONWritable {
            var writer = SortedJSONWriter()
            try writable.write(to: &writer)
            return Data(writer.bytes)
        }
        return try encoder().encode(value)
    }

    /// A `JSONEncoder` set up to write this form.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

/// A value that writes its own JSON: the members in sorted key order, an optional member left out
/// when it is `nil` (as synthesized `Codable` does), exactly what ``SortedJSON/encoder()`` writes
/// for it. Tests hold the two equal.
public protocol SortedJSONWritable: Encodable {
    func write(to json: inout SortedJSONWriter) throws
}

/// Appends JSON to a byte buffer. A member or array element is preceded by a comma unless it is
/// the first in its object or array, which the last byte written tells.
public struct SortedJSONWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 1024) {
        bytes.reserveCapacity(capacity)
    }

    private mutating func separator() {
        if let last = bytes.last, last != UInt8(ascii: "{"), last != UInt8(ascii: "[") { bytes.append(UInt8(ascii: ",")) }
    }

    public mutating func openObject() { bytes.append(UInt8(ascii: "{")) }
    public mutating func closeObject() { bytes.append(UInt8(ascii: "}")) }
    public mutating func openArray() { bytes.append(UInt8(ascii: "[")) }
    public mutating func closeArray() { bytes.append(UInt8(ascii: "]")) }

    /// Starts a member: `"name":` (after a comma unless it is the object's first). `name` needs no escaping.
    public mutating func key(_ name: StaticString) {
        separator()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    /// Starts an array element (a comma unless it is the first).
    public mutating func element() { separator() }

    public mutating func int(_ value: Int) {
        // A decimal Int is at most 20 bytes: a small string, not allocated.
        bytes.append(contentsOf: String(value).utf8)
    }

    /// A JSON string, escaped as `JSONEncoder` escapes: `"` and `\`, the control characters
    /// (`\b \f \n \r \t`, the others as `\u00XX`); `/` and everything beyond ASCII as they are.
    public mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            var start = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index]))
                start = index + 1
                bytes.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
                case 0x08: bytes.append(UInt8(ascii: "b"))
                case 0x0C: bytes.append(UInt8(ascii: "f"))
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                default:  // below 0x20: \u0000 to \u001f
                    let low = byte & 0x0F
                    bytes.append(UInt8(ascii: "u"))
                    bytes.append(UInt8(ascii: "0"))
                    bytes.append(UInt8(ascii: "0"))
                    bytes.append(UInt8(ascii: "0") + byte >> 4)
                    bytes.append(low < 10 ? UInt8(ascii: "0") + low : UInt8(ascii: "a") + low - 10)
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<utf8.count]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// A value that travels as its text (codes, identifiers; the overloads below write money,
    /// rates, months and dates digit by digit, without making the text first).
    public mutating func text<Value: TextCodable>(_ value: Value) { string(value.textValue) }

    /// `Money.description` (`"-12.05"`), quoted.
    public mutating func text(_ value: Money) {
        bytes.append(UInt8(ascii: "\""))
        if value.fen < 0 { bytes.append(UInt8(ascii: "-")) }
        let magnitude = value.fen.magnitude
        digits(magnitude / 100)
        bytes.append(UInt8(ascii: "."))
        digits(magnitude % 100, width: 2)
        bytes.append(UInt8(ascii: "\""))
    }

    /// `Rate.description` (`"8.31"`, `"16"`), quoted.
    public mutating func text(_ value: Rate) {
        bytes.append(UInt8(ascii: "\""))
        if value.partsPerMillion < 0 { bytes.append(UInt8(ascii: "-")) }
        let magnitude = value.partsPerMillion.magnitude
        digits(magnitude / 10_000)
        var fraction = magnitude % 10_000
        if fraction != 0 {
            var width = 4
            while fraction % 10 == 0 {
                fraction /= 10
                width -= 1
            }
            bytes.append(UInt8(ascii: "."))
            digits(fraction, width: width)
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// `YearMonth.description` (`"2026-03"`), quoted.
    public mutating func text(_ value: YearMonth) {
        guard value.year >= 0, value.month >= 0 else { return string(value.description) }
        bytes.append(UInt8(ascii: "\""))
        digits(UInt(value.year))
        bytes.append(UInt8(ascii: "-"))
        digits(UInt(value.month), width: 2)
        bytes.append(UInt8(ascii: "\""))
    }

    /// `LocalDate.description` (`"2026-03-02"`), quoted.
    public mutating func text(_ value: LocalDate) {
        guard value.year >= 0, value.month >= 0, value.day >= 0 else { return string(value.description) }
        bytes.append(UInt8(ascii: "\""))
        digits(UInt(value.year))
        bytes.append(UInt8(ascii: "-"))
        digits(UInt(value.month), width: 2)
        bytes.append(UInt8(ascii: "-"))
        digits(UInt(value.day), width: 2)
        bytes.append(UInt8(ascii: "\""))
    }

    /// `value` in decimal, zero-padded to at least `width` digits.
    private mutating func digits(_ value: UInt, width: Int = 1) {
        var divisor: UInt = 1
        var count = 1
        while divisor <= value / 10 {
            divisor *= 10
            count += 1
        }
        for _ in count..<max(width, count) { bytes.append(UInt8(ascii: "0")) }
        var rest = value
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

    /// A string enumeration.
    public mutating func raw<Value: RawRepresentable>(_ value: Value) where Value.RawValue == String { string(value.rawValue) }

    /// An array of writable values.
    public mutating func array<Element: SortedJSONWritable>(_ elements: [Element]) throws {
        openArray()
        for element in elements {
            self.element()
            try element.write(to: &self)
        }
        closeArray()
    }

    /// JSON `JSONEncoder` wrote with ``SortedJSON/encoder()`` (a value's entry written without a
    /// fast path), appended as it is.
    mutating func json<Bytes: Sequence>(_ json: Bytes) where Bytes.Element == UInt8 { bytes.append(contentsOf: json) }
}

// MARK: - The ledger

extension ContributionMonth: SortedJSONWritable {
    public func write(to json: inout SortedJSONWriter) {
        json.openObject()
        json.key("base"); json.text(base)
        json.key("employerRate"); json.text(employerRate)
        json.key("period"); json.text(period)
        json.key("personalRate"); json.text(personalRate)
        json.key("placeCode"); json.text(placeCode)
        json.closeObject()
    }
}

extension PlaceMonths: SortedJSONWritable {
    public func write(to json: inout SortedJSONWriter) {
        json.openObject()
        json.key("lastMonth"); json.text(lastMonth)
        json.key("months"); json.int(months)
        json.key("placeCode"); json.text(placeCode)
        json.closeObject()
    }
}

extension LedgerRow: SortedJSONWritable {
    public func write(to json: inout SortedJSONWriter) throws {
        json.openObject()
        json.key("closingBalance"); json.text(closingBalance)
        json.key("credited"); json.text(credited)
        json.key("employerRate"); json.text(employerRate)
        json.key("interest"); json.text(interest)
        json.key("monthlyBase"); json.text(monthlyBase)
        json.key("months"); json.int(months)
        json.key("personalRate"); json.text(personalRate)
        json.key("placeCode"); json.text(placeCode)
        if let places { json.key("places"); try json.array(places) }
        json.key("year"); json.int(year)
        json.closeObject()
    }
}

extension InformationForm: SortedJSONWritable {
    public func write(to json: inout SortedJSONWriter) throws {
        json.openObject()
        json.key("accountKind"); json.raw(accountKind)
        json.key("accountThroughLastYear"); json.text(accountThroughLastYear)
        json.key("currentYearPrincipal"); json.text(currentYearPrincipal)
        json.key("individualAccountTotal"); json.text(individualAccountTotal)
        json.key("ledger"); try json.array(ledger)
        if let months { json.key("months"); try json.array(months) }
        json.key("pooledFund"); json.text(pooledFund)
        json.key("pre1998Account"); json.text(pre1998Account)
        json.key("totalRemitted"); json.text(totalRemitted)
        json.key("transferYear"); json.int(transferYear)
        json.closeObject()
    }
}

// MARK: - The events that carry it

extension PersonRef: SortedJSONWritable {
    public func write(to json: inout SortedJSONWriter) {
        json.openObject()
        json.key("birthDate"); json.text(birthDate)
        json.key("citizenId"); json.text(citizenId)
        json.key("hukouProvince"); json.text(hukouProvince)
        json.key("name"); json.string(name)
        json.key("sex"); json.raw(sex)
        json.closeObject()
    }
}

extension OfficeRef: SortedJSONWritable {
    public func write(to json: inout SortedJSONWriter) {
        json.openObject()
        json.key("code"); json.text(code)
        json.key("name"); json.string(name)
        json.closeObject()
    }
}

extension InfoFormIssued: SortedJSONWritable {
    public func write(to json: inout SortedJSONWriter) throws {
        json.openObject()
        json.key("caseId"); json.text(caseId)
        json.key("contactLetterNo"); json.text(contactLetterNo)
        json.key("form"); try form.write(to: &json)
        json.key("issuedOn"); json.text(issuedOn)
        json.key("person"); person.write(to: &json)
        json.closeObject()
    }
}

extension RelationshipReceived: SortedJSONWritable {
    public func write(to json: inout SortedJSONWriter) throws {
        json.openObject()
        json.key("accountKind"); json.raw(accountKind)
        json.key("caseId"); json.text(caseId)
        json.key("completedOn"); json.text(completedOn)
        json.key("from"); from.write(to: &json)
        json.key("months"); try json.array(months)
        json.key("person"); person.write(to: &json)
        json.key("pre1998Account"); json.text(pre1998Account)
        json.closeObject()
    }
}

// MARK: - Case histories: the entry that carries the form

extension DestinationCaseEvent: SortedJSONWritable {
    public func write(to json: inout SortedJSONWriter) throws {
        guard case .formReceived(let form, let on) = self else { return try json.json(SortedJSON.encoder().encode(self)) }
        try json.formEntry("formReceived", form, on: on)
    }
}

extension OriginCaseEvent: SortedJSONWritable {
    public func write(to json: inout SortedJSONWriter) throws {
        guard case .formIssued(let form, let on) = self else { return try json.json(SortedJSON.encoder().encode(self)) }
        try json.formEntry("formIssued", form, on: on)
    }
}

extension SortedJSONWriter {
    /// A history entry of an enum case holding a form and a day, as synthesized `Codable` writes
    /// `case name(InformationForm, on: LocalDate)`: `{"name":{"_0":{...},"on":"2026-03-02"}}`.
    mutating func formEntry(_ name: StaticString, _ form: InformationForm, on: LocalDate) throws {
        openObject()
        key(name)
        openObject()
        key("_0"); try form.write(to: &self)
        key("on"); text(on)
        closeObject()
        closeObject()
    }
}
