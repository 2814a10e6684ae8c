/// A value that travels as one JSON string in its document form (`"123.45"`, `"2026-03-15"`,
/// `"510100"`): decoding parses and validates, encoding writes ``textValue``.
public protocol TextCodable: Codable {
    /// Parses and validates the text form.
    static func parse(_ text: String) throws -> Self
    /// The text form written to JSON.
    var textValue: String { get }
}

extension TextCodable where Self: CustomStringConvertible {
    public var textValue: String { description }
}

extension TextCodable {
    public init(from decoder: any Decoder) throws {
        self = try Self.parse(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(textValue)
    }
}
