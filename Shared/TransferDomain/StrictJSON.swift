/// A strict check of JSON text (RFC 8259): what lenient decoders let through is refused here, so
/// every office and every consumer reads the same documents the same way.
///
/// Refused: a byte-order mark, trailing commas, comments, single quotes, unquoted keys, `NaN`,
/// leading zeros, control characters in strings, invalid escapes, anything after the value,
/// and nesting deeper than ``maxDepth`` (which would exhaust a recursive decoder's stack).
public enum StrictJSON {
    public static let maxDepth = 64

    /// What is wrong and where (a byte offset).
    public struct SyntaxError: Error, Hashable, Sendable, CustomStringConvertible {
        public var offset: Int
        public var reason: String
        public var description: String { "not valid JSON at byte \(offset): \(reason)" }
    }

    /// - Throws: ``SyntaxError`` naming the first problem.
    public static func validate<Bytes: Collection>(_ bytes: Bytes) throws(SyntaxError) where Bytes.Element == UInt8 {
        var parser = Parser(bytes: Array(bytes))
        if parser.bytes.starts(with: [0xEF, 0xBB, 0xBF]) { throw SyntaxError(offset: 0, reason: "a byte-order mark is not allowed") }
        parser.skipWhitespace()
        try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.index == parser.bytes.count else { throw parser.error("unexpected text after the value") }
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        func error(_ reason: String) -> SyntaxError { SyntaxError(offset: index, reason: reason) }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipWhitespace() {
            while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        mutating func expect(_ byte: UInt8) throws(SyntaxError) {
            guard current == byte else { throw error("expected \"\(Character(Unicode.Scalar(byte)))\"") }
            index += 1
        }

        mutating func value(depth: Int) throws(SyntaxError) {
            guard depth < StrictJSON.maxDepth else { throw error("nested deeper than \(StrictJSON.maxDepth) levels") }
            guard let byte = current else { throw error("a value is missing") }
            switch byte {
            case UInt8(ascii: "{"): try object(depth: depth + 1)
            case UInt8(ascii: "["): try array(depth: depth + 1)
            case UInt8(ascii: "\""): try string()
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
            default: throw error("unexpected character")
            }
        }

        mutating func literal(_ text: String) throws(SyntaxError) {
            for byte in text.utf8 {
                guard current == byte else { throw error("invalid literal") }
                index += 1
            }
        }

        mutating func object(depth: Int) throws(SyntaxError) {
            index += 1
            skipWhitespace()
            if current == UInt8(ascii: "}") {
                index += 1
                return
            }
            while true {
                skipWhitespace()
                guard current == UInt8(ascii: "\"") else { throw error("expected a quoted key") }
                try string()
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                skipWhitespace()
                try value(depth: depth)
                skipWhitespace()
                if current == UInt8(ascii: ",") {
                    index += 1
                    skipWhitespace()
                    if current == UInt8(ascii: "}") { throw error("a trailing comma is not allowed") }
                    continue
                }
                try expect(UInt8(ascii: "}"))
                return
            }
        }

        mutating func array(depth: Int) throws(SyntaxError) {
            index += 1
            skipWhitespace()
            if current == UInt8(ascii: "]") {
                index += 1
                return
            }
            while true {
                skipWhitespace()
                try value(depth: depth)
                skipWhitespace()
                if current == UInt8(ascii: ",") {
                    index += 1
                    skipWhitespace()
                    if current == UInt8(ascii: "]") { throw error("a trailing comma is not allowed") }
                    continue
                }
                try expect(UInt8(ascii: "]"))
                return
            }
        }

        mutating func string() throws(SyntaxError) {
            index += 1
            while let byte = current {
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    return
                case UInt8(ascii: "\\"):
                    index += 1
                    guard let escaped = current else { throw error("unterminated escape") }
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                        UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        index += 1
                    case UInt8(ascii: "u"):
                        index += 1
                        for _ in 0..<4 {
                            guard let hex = current, isHex(hex) else { throw error("invalid \\u escape") }
                            index += 1
                        }
                    default: throw error("invalid escape")
                    }
                case 0x00...0x1F: throw error("a control character in a string must be escaped")
                default: index += 1
                }
            }
            throw error("unterminated string")
        }

        func isHex(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
        }

        mutating func digits() -> Int {
            let start = index
            while let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
            return index - start
        }

        mutating func number() throws(SyntaxError) {
            if current == UInt8(ascii: "-") { index += 1 }
            if current == UInt8(ascii: "0") {
                index += 1
                if let next = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(next) { throw error("a leading zero is not allowed") }
            } else if digits() == 0 {
                throw error("a number needs digits")
            }
            if current == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { throw error("a fraction needs digits") }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                index += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { throw error("an exponent needs digits") }
            }
        }
    }
}

/// Free text a person or clerk types: names, document references.
public enum FreeText {
    /// - Throws: ``ValidationError`` on `field` when `text` is blank, longer than `maxLength`
    ///   characters, or holds a control character (NUL, line breaks, escapes: none belongs in a
    ///   name or a reference, and they break documents and logs).
    public static func check(_ text: String, field: String, maxLength: Int = 100) throws(ValidationError) {
        guard !text.allSatisfy(\.isWhitespace) else { throw ValidationError(field: field, reason: "must not be blank") }
        guard text.count <= maxLength else {
            throw ValidationError(field: field, reason: "is \(text.count) characters long; at most \(maxLength)")
        }
        guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0.properties.generalCategory == .format && $0.value != 0x200D }) else {
            throw ValidationError(field: field, reason: "must not contain control characters")
        }
    }
}
