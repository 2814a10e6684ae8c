/// A strict check of JSON text (RFC 8259): what lenient decoders let through is refused here, so
/// every office and every consumer reads the same documents the same way.
///
/// Refused: a byte-order mark, trailing commas, comments, single quotes, unquoted keys, `NaN`,
/// leading zeros, control characters in strings, invalid escapes, anything after the value,
/// bytes that are not UTF-8, a `\u` escape of a lone surrogate (neither is text, and lenient
/// decoders would quietly turn them into U+FFFD), and nesting deeper than ``maxDepth`` (which
/// would exhaust a recursive decoder's stack).
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
        _ = try parse(bytes)
    }

    /// The value of strict JSON text, checked and read in one pass. An integral number that fits
    /// (`1`, `1.0`, `1e3`) is `.integer`, any other `.number`; of a repeated key, the first wins
    /// (as Foundation's `JSONDecoder`, which reads the event itself, takes it).
    /// - Throws: ``SyntaxError`` naming the first problem.
    public static func parse<Bytes: Collection>(_ bytes: Bytes) throws(SyntaxError) -> JSONValue where Bytes.Element == UInt8 {
        var parser = Parser(bytes: Array(bytes))
        if parser.bytes.starts(with: [0xEF, 0xBB, 0xBF]) { throw SyntaxError(offset: 0, reason: "a byte-order mark is not allowed") }
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.index == parser.bytes.count else { throw parser.error("unexpected text after the value") }
        return value
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

        mutating func value(depth: Int) throws(SyntaxError) -> JSONValue {
            guard depth < StrictJSON.maxDepth else { throw error("nested deeper than \(StrictJSON.maxDepth) levels") }
            guard let byte = current else { throw error("a value is missing") }
            switch byte {
            case UInt8(ascii: "{"): return try object(depth: depth + 1)
            case UInt8(ascii: "["): return try array(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"):
                try literal("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try literal("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try literal("null")
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw error("unexpected character")
            }
        }

        mutating func literal(_ text: StaticString) throws(SyntaxError) {
            for byte in UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount) {
                guard current == byte else { throw error("invalid literal") }
                index += 1
            }
        }

        mutating func object(depth: Int) throws(SyntaxError) -> JSONValue {
            index += 1
            skipWhitespace()
            if current == UInt8(ascii: "}") {
                index += 1
                return .object([:])
            }
            // Room for the usual object (an event's month has five members) without growing.
            var members = [String: JSONValue](minimumCapacity: 8)
            while true {
                skipWhitespace()
                guard current == UInt8(ascii: "\"") else { throw error("expected a quoted key") }
                let key = try string()
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                skipWhitespace()
                let member = try value(depth: depth)
                // The first of repeated names stands; one hash of the name when it is new.
                if let first = members.updateValue(member, forKey: key) { members[key] = first }
                skipWhitespace()
                if current == UInt8(ascii: ",") {
                    index += 1
                    skipWhitespace()
                    if current == UInt8(ascii: "}") { throw error("a trailing comma is not allowed") }
                    continue
                }
                try expect(UInt8(ascii: "}"))
                return .object(members)
            }
        }

        mutating func array(depth: Int) throws(SyntaxError) -> JSONValue {
            index += 1
            skipWhitespace()
            var items: [JSONValue] = []
            if current == UInt8(ascii: "]") {
                index += 1
                return .array(items)
            }
            while true {
                skipWhitespace()
                items.append(try value(depth: depth))
                skipWhitespace()
                if current == UInt8(ascii: ",") {
                    index += 1
                    skipWhitespace()
                    if current == UInt8(ascii: "]") { throw error("a trailing comma is not allowed") }
                    continue
                }
                try expect(UInt8(ascii: "]"))
                return .array(items)
            }
        }

        /// A string's text; `index` is at its opening quote.
        mutating func string() throws(SyntaxError) -> String {
            index += 1
            let start = index
            // The common case: no escapes, the bytes are the text.
            while let byte = current, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
                if byte < 0x20 { throw error("a control character in a string must be escaped") }
                index += 1
            }
            var text = bytes[start..<index]
            guard current == UInt8(ascii: "\\") else {
                guard current == UInt8(ascii: "\"") else { throw error("unterminated string") }
                index += 1
                return try utf8(text, at: start)
            }
            var scalars = Array(text)
            while let byte = current {
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    text = scalars[...]
                    return try utf8(text, at: start)
                case UInt8(ascii: "\\"):
                    index += 1
                    guard let escaped = current else { throw error("unterminated escape") }
                    index += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalars.append(escaped)
                    case UInt8(ascii: "b"): scalars.append(0x08)
                    case UInt8(ascii: "f"): scalars.append(0x0C)
                    case UInt8(ascii: "n"): scalars.append(0x0A)
                    case UInt8(ascii: "r"): scalars.append(0x0D)
                    case UInt8(ascii: "t"): scalars.append(0x09)
                    case UInt8(ascii: "u"):
                        var unit = try hexUnit()
                        if (0xD800...0xDBFF).contains(unit), current == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") {
                            let mark = index
                            index += 2
                            let low = try hexUnit()
                            if (0xDC00...0xDFFF).contains(low) {
                                unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                index = mark
                            }
                        }
                        guard let scalar = Unicode.Scalar(unit) else {
                            index -= 6
                            throw error("a \\u escape of a lone surrogate is not text")
                        }
                        scalars += Array(String(scalar).utf8)
                    default:
                        index -= 1
                        throw error("invalid escape")
                    }
                case 0x00...0x1F: throw error("a control character in a string must be escaped")
                default:
                    scalars.append(byte)
                    index += 1
                }
            }
            throw error("unterminated string")
        }

        /// The text of a string's bytes, which must be UTF-8 (`start`: where the string began).
        func utf8(_ text: ArraySlice<UInt8>, at start: Int) throws(SyntaxError) -> String {
            // Plain ASCII, the usual case, is UTF-8 as it is.
            let ascii: String? = text.withUnsafeBufferPointer { buffer in
                buffer.allSatisfy { $0 < 0x80 } ? String(decoding: buffer, as: UTF8.self) : nil
            }
            if let ascii { return ascii }
            guard let string = String(validating: text, as: UTF8.self) else {
                throw SyntaxError(offset: start, reason: "a string that is not UTF-8")
            }
            return string
        }

        /// Four hex digits of a `\u` escape.
        mutating func hexUnit() throws(SyntaxError) -> UInt32 {
            var unit: UInt32 = 0
            for _ in 0..<4 {
                guard let hex = current, let digit = hexValue(hex) else { throw error("invalid \\u escape") }
                unit = unit << 4 | digit
                index += 1
            }
            return unit
        }

        func hexValue(_ byte: UInt8) -> UInt32? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
            default: nil
            }
        }

        mutating func digits() -> Int {
            let start = index
            while let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
            return index - start
        }

        mutating func number() throws(SyntaxError) -> JSONValue {
            let start = index
            var integral = true
            if current == UInt8(ascii: "-") { index += 1 }
            if current == UInt8(ascii: "0") {
                index += 1
                if let next = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(next) { throw error("a leading zero is not allowed") }
            } else if digits() == 0 {
                throw error("a number needs digits")
            }
            if current == UInt8(ascii: ".") {
                index += 1
                integral = false
                guard digits() > 0 else { throw error("a fraction needs digits") }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                index += 1
                integral = false
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { throw error("an exponent needs digits") }
            }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            if integral, let value = Int(text) { return .integer(value) }
            let number = Double(text) ?? .nan
            // JSON Schema counts 1.0 as an integer, as JSON decoders read it.
            if number.isFinite, number == number.rounded(), abs(number) < 9_007_199_254_740_992 { return .integer(Int(number)) }
            return .number(number)
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
