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
    /// Parses the string; a ``ValidationError`` names the value's place in the document
    /// (`months[1].period`), not just its kind.
    public init(from decoder: any Decoder) throws {
        self = try Self.parse(try decoder.singleValueContainer().decode(String.self), at: decoder.codingPath)
    }

    /// Parses `text` found at `path` in a document; a ``ValidationError`` names that place
    /// (the path is made only then).
    static func parse(_ text: String, at path: @autoclosure () -> [any CodingKey]) throws -> Self {
        do {
            return try parse(text)
        } catch let error as ValidationError {
            let place = codingPathText(path())
            throw ValidationError(field: place.isEmpty ? error.field : place, reason: error.reason)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(textValue)
    }
}

/// `[months, 1, period]` → `months[1].period`.
func codingPathText(_ path: [any CodingKey]) -> String {
    var text = ""
    for key in path {
        if let index = key.intValue, key.stringValue.hasPrefix("Index") || key.stringValue == "\(index)" {
            text += "[\(index)]"
        } else {
            text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
        }
    }
    return text
}
