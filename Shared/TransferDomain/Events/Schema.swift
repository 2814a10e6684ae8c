import Foundation

/// The subset of JSON Schema (2020-12) the event contract uses, as Swift values.
///
/// The schemas of every event type are written once, here in Swift; the JSON Schema files in
/// `Shared/TransferDomain/Schemas/` are generated from them (tests fail when a file drifts), and
/// ``validate(_:strict:)`` checks JSON against them. Producers validate strictly (no unknown
/// properties: catches a Codable type that drifted from its schema); consumers tolerate unknown
/// properties, as the contract requires.
public indirect enum Schema: Sendable, Hashable {
    case object(properties: [String: Schema], required: [String], description: String? = nil)
    case string(pattern: String? = nil, enumeration: [String]? = nil, description: String? = nil)
    case integer(minimum: Int? = nil)
    case boolean
    case array(of: Schema, minItems: Int = 0)

    // MARK: Common value shapes

    /// Amounts in events are never negative and have at most 13 digits of yuan (``Money/limit``).
    public static let money = Schema.string(
        pattern: #"^(0|[1-9][0-9]{0,12})\.[0-9]{2}$"#, description: "yuan, exactly two decimals, not negative")
    /// A difference of amounts: may be negative.
    public static let signedMoney = Schema.string(
        pattern: #"^-?(0|[1-9][0-9]{0,12})\.[0-9]{2}$"#, description: "yuan, exactly two decimals")
    public static let date = Schema.string(pattern: #"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"#, description: "YYYY-MM-DD, Asia/Shanghai")
    public static let month = Schema.string(pattern: #"^[0-9]{4}-[0-9]{2}$"#, description: "YYYY-MM")
    public static let rate = Schema.string(pattern: #"^[0-9]{1,3}(\.[0-9]{1,4})?$"#, description: "percent")
    public static let citizenID = Schema.string(pattern: "^[0-9]{17}[0-9X]$", description: "GB 11643 identity number")
    public static let officeCode = Schema.string(pattern: "^[0-9]{6}$", description: "GB/T 2260 code")
    public static let province = Schema.string(pattern: "^[0-9]{2}$")
    public static let uuid = Schema.string(pattern: "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
    public static func documentNumber(_ prefix: String) -> Schema {
        .string(pattern: "^\(prefix)-[0-9]{6}-[0-9]{4}-[0-9]{6}$")
    }
    public static let nonEmpty = Schema.string(pattern: #"\S"#)

    // MARK: Validation

    /// The violations of `value`, each naming its JSON path.
    /// - Parameter strict: refuse properties the schema does not name.
    public func validate(_ value: JSONValue, strict: Bool, path: String = "$") -> [String] {
        CompiledSchema(self).validate(value, strict: strict, against: self, path: path)
    }

    /// The violations of `value`, each naming its JSON path, in a stable order.
    func violations(_ value: JSONValue, strict: Bool, path: String) -> [String] {
        switch self {
        case .object(let properties, let required, _):
            guard case .object(let object) = value else { return ["\(path): must be an object"] }
            var problems: [String] = []
            for name in required.sorted() where object[name] == nil || object[name] == .null {
                problems.append("\(path).\(name): is required")
            }
            for (name, member) in object.sorted(by: { $0.key < $1.key }) {
                if let schema = properties[name] {
                    if member == .null && !required.contains(name) { continue }
                    problems += schema.violations(member, strict: strict, path: "\(path).\(name)")
                } else if strict {
                    problems.append("\(path).\(name): is not in the schema")
                }
            }
            return problems
        case .string(let pattern, let enumeration, _):
            guard case .string(let string) = value else { return ["\(path): must be a string"] }
            if let enumeration, !enumeration.contains(string) {
                return ["\(path): \"\(string)\" is not one of \(enumeration.joined(separator: ", "))"]
            }
            if let pattern, !CompiledPattern.matches(pattern, string) {
                return ["\(path): \"\(string)\" does not match \(pattern)"]
            }
            return []
        case .integer(let minimum):
            guard case .integer(let number) = value else { return ["\(path): must be an integer"] }
            if let minimum, number < minimum { return ["\(path): must be at least \(minimum)"] }
            return []
        case .boolean:
            guard case .bool = value else { return ["\(path): must be true or false"] }
            return []
        case .array(let items, let minItems):
            guard case .array(let array) = value else { return ["\(path): must be an array"] }
            var problems: [String] = array.count < minItems ? ["\(path): needs at least \(minItems) items"] : []
            for (index, item) in array.enumerated() {
                problems += items.violations(item, strict: strict, path: "\(path)[\(index)]")
            }
            return problems
        }
    }

    // MARK: JSON Schema document

    /// This schema as a JSON Schema value. Objects allow additional properties: consumers must
    /// tolerate fields added by newer producers of the same major version.
    public var jsonSchema: JSONValue {
        switch self {
        case .object(let properties, let required, let description):
            var result: [String: JSONValue] = [
                "type": .string("object"),
                "properties": .object(properties.mapValues { $0.jsonSchema }),
                "additionalProperties": .bool(true),
            ]
            if !required.isEmpty { result["required"] = .array(required.sorted().map(JSONValue.string)) }
            if let description { result["description"] = .string(description) }
            return .object(result)
        case .string(let pattern, let enumeration, let description):
            var result: [String: JSONValue] = ["type": .string("string")]
            if let pattern { result["pattern"] = .string(pattern) }
            if let enumeration { result["enum"] = .array(enumeration.map(JSONValue.string)) }
            if let description { result["description"] = .string(description) }
            return .object(result)
        case .integer(let minimum):
            var result: [String: JSONValue] = ["type": .string("integer")]
            if let minimum { result["minimum"] = .integer(minimum) }
            return .object(result)
        case .boolean:
            return .object(["type": .string("boolean")])
        case .array(let items, let minItems):
            var result: [String: JSONValue] = ["type": .string("array"), "items": items.jsonSchema]
            if minItems > 0 { result["minItems"] = .integer(minItems) }
            return .object(result)
        }
    }
}

/// A ``Schema`` made ready for checking values by the thousand (every event an office writes or
/// reads, every record the audit replays): each object's properties in an array searched by
/// name, each pattern resolved to its matcher. Checking hashes nothing: Swift's string hashing was
/// most of the old check's cost (a form's 108 months have five properties and five patterns each).
/// The messages of a value that does not conform still come from the ``Schema``.
indirect enum CompiledSchema: Sendable {
    /// `members` holds every named property and every required name (one not among the
    /// properties has no schema).
    case object(members: [Member], requiredCount: Int)
    case string(pattern: Pattern?, enumeration: [String]?)
    case integer(minimum: Int?)
    case boolean
    case array(of: CompiledSchema, minItems: Int)

    struct Member: Sendable {
        var name: String
        var schema: CompiledSchema?
        var required: Bool
    }

    enum Pattern: Sendable {
        case shape(Shape)
        /// Not one of the contract's shapes: matched through ``CompiledPattern``'s cache.
        case other(String)
    }

    init(_ schema: Schema) {
        switch schema {
        case .object(let properties, let required, _):
            var members = properties.sorted { $0.key < $1.key }.map { Member(name: $0.key, schema: CompiledSchema($0.value), required: required.contains($0.key)) }
            for name in Set(required) where properties[name] == nil { members.append(Member(name: name, schema: nil, required: true)) }
            self = .object(members: members, requiredCount: members.count { $0.required })
        case .string(let pattern, let enumeration, _):
            self = .string(pattern: pattern.map { Shape.of($0).map(Pattern.shape) ?? .other($0) }, enumeration: enumeration)
        case .integer(let minimum): self = .integer(minimum: minimum)
        case .boolean: self = .boolean
        case .array(let items, let minItems): self = .array(of: CompiledSchema(items), minItems: minItems)
        }
    }

    /// ``Schema/validate(_:strict:path:)`` with this compiled form of `schema`: nearly every value
    /// conforms, so the messages (and their path strings) are made only when one does not.
    func validate(_ value: JSONValue, strict: Bool, against schema: Schema, path: String = "$") -> [String] {
        conforms(value, strict: strict) ? [] : schema.violations(value, strict: strict, path: path)
    }

    /// Whether `value` conforms. A property set to null counts as absent; a required one must be
    /// present and not null.
    func conforms(_ value: JSONValue, strict: Bool) -> Bool {
        switch self {
        case .object(let members, let requiredCount):
            guard case .object(let object) = value else { return false }
            var requiredSeen = 0
            for (name, member) in object {
                guard let known = members.first(where: { $0.name == name }) else {
                    if strict { return false }
                    continue
                }
                if case .null = member {
                    if known.required { return false }
                    continue
                }
                if known.required { requiredSeen += 1 }
                if let schema = known.schema, !schema.conforms(member, strict: strict) { return false }
            }
            return requiredSeen == requiredCount
        case .string(let pattern, let enumeration):
            guard case .string(let string) = value else { return false }
            if let enumeration, !enumeration.contains(string) { return false }
            switch pattern {
            case nil: return true
            case .shape(let shape): return shape.matches(string)
            case .other(let pattern): return CompiledPattern.matches(pattern, string)
            }
        case .integer(let minimum):
            guard case .integer(let number) = value else { return false }
            return minimum.map { number >= $0 } ?? true
        case .boolean:
            guard case .bool = value else { return false }
            return true
        case .array(let items, let minItems):
            guard case .array(let array) = value, array.count >= minItems else { return false }
            return array.allSatisfy { items.conforms($0, strict: strict) }
        }
    }
}

/// The schemas' patterns, each compiled once (compiling one costs far more than matching it:
/// every event an office writes or reads is validated).
enum CompiledPattern {
    enum Compiled {
        case shape(Shape)
        case expression(NSRegularExpression)
    }

    /// The compiled patterns by pattern, behind a lock. NSRegularExpression is immutable and
    /// safe to share between threads once compiled.
    private final class Cache: @unchecked Sendable {
        let lock = NSLock()
        var compiled: [String: Compiled] = [:]
    }
    private static let cache = Cache()

    static func matches(_ pattern: String, _ string: String) -> Bool {
        // The contract's own shapes need no lock (an immutable table).
        if let shape = Shape.known[pattern] { return shape.matches(string) }
        let compiled: Compiled = cache.lock.withLock {
            if let cached = cache.compiled[pattern] { return cached }
            // The contract's own shapes (every month of a form has several) are checked byte by
            // byte: ICU's matcher, reached through NSString, cost an office more CPU than the
            // events' JSON. Any other pattern goes to NSRegularExpression.
            let made: Compiled
            if let shape = Shape.of(pattern) {
                made = .shape(shape)
            } else {
                // The patterns are the schemas' own literals: one that does not compile is a bug.
                guard let expression = try? NSRegularExpression(pattern: pattern) else { preconditionFailure("schema pattern \(pattern) does not compile") }
                made = .expression(expression)
            }
            cache.compiled[pattern] = made
            return made
        }
        switch compiled {
        case .shape(let shape): return shape.matches(string)
        case .expression(let expression): return expression.firstMatch(in: string, range: NSRange(string.startIndex..., in: string)) != nil
        }
    }

    /// `pattern` matched by NSRegularExpression alone (for comparing the shapes with it).
    static func matchesByExpression(_ pattern: String, _ string: String) -> Bool {
        guard let expression = try? NSRegularExpression(pattern: pattern) else { return false }
        return expression.firstMatch(in: string, range: NSRange(string.startIndex..., in: string)) != nil
    }
}

/// The patterns the contract uses, matched without a regular-expression engine. Each accepts
/// exactly what its pattern accepts under JSON Schema's (ECMA-262) reading, where `$` is the end of
/// the string; ICU's `$` also matches before one final line terminator, which no value of the
/// contract has (CompiledPatternTests compares both on generated strings).
enum Shape {
    case fixed([ByteClass])
    case money(signed: Bool)
    case rate

    enum ByteClass: Equatable {
        case digit, nonZeroDigit, hex, digitOrX
        case literal(UInt8)

        func admits(_ byte: UInt8) -> Bool {
            switch self {
            case .digit: return byte >= 0x30 && byte <= 0x39
            case .nonZeroDigit: return byte >= 0x31 && byte <= 0x39
            case .hex: return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66)
            case .digitOrX: return (byte >= 0x30 && byte <= 0x39) || byte == 0x58
            case .literal(let expected): return byte == expected
            }
        }
    }

    private static func digits(_ count: Int, _ kind: ByteClass = .digit) -> [ByteClass] { Array(repeating: kind, count: count) }
    private static let dash = ByteClass.literal(UInt8(ascii: "-"))
    private static let documentTail = #"-[0-9]{6}-[0-9]{4}-[0-9]{6}$"#

    static let known: [String: Shape] = [
        #"^(0|[1-9][0-9]{0,12})\.[0-9]{2}$"#: .money(signed: false),
        #"^-?(0|[1-9][0-9]{0,12})\.[0-9]{2}$"#: .money(signed: true),
        #"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"#: .fixed(digits(4) + [dash] + digits(2) + [dash] + digits(2)),
        #"^[0-9]{4}-[0-9]{2}$"#: .fixed(digits(4) + [dash] + digits(2)),
        #"^[0-9]{1,3}(\.[0-9]{1,4})?$"#: .rate,
        "^[0-9]{17}[0-9X]$": .fixed(digits(17) + [.digitOrX]),
        "^[0-9]{6}$": .fixed(digits(6)),
        "^[0-9]{2}$": .fixed(digits(2)),
        "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$":
            .fixed(digits(8, .hex) + [dash] + digits(4, .hex) + [dash] + digits(4, .hex) + [dash] + digits(4, .hex) + [dash] + digits(12, .hex)),
    ]

    /// The shape of `pattern`, when it is one of the contract's (document numbers: `^XX-...`).
    static func of(_ pattern: String) -> Shape? {
        if let shape = known[pattern] { return shape }
        guard pattern.hasPrefix("^"), pattern.hasSuffix(documentTail) else { return nil }
        let prefix = pattern.dropFirst().dropLast(documentTail.count)
        guard !prefix.isEmpty, prefix.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }) else { return nil }
        return .fixed(prefix.utf8.map { .literal($0) } + [dash] + digits(6) + [dash] + digits(4) + [dash] + digits(6))
    }

    func matches(_ string: String) -> Bool {
        var string = string
        return string.withUTF8 { bytes in
            switch self {
            case .fixed(let classes):
                guard bytes.count == classes.count else { return false }
                for (byte, kind) in zip(bytes, classes) where !kind.admits(byte) { return false }
                return true
            case .money(let signed):
                var index = 0
                if signed, bytes.first == UInt8(ascii: "-") { index = 1 }
                // (0|[1-9][0-9]{0,12}) then \.[0-9]{2} and the end
                guard index < bytes.count else { return false }
                let start = index
                if bytes[index] == UInt8(ascii: "0") {
                    index += 1
                } else {
                    guard ByteClass.nonZeroDigit.admits(bytes[index]) else { return false }
                    index += 1
                    while index < bytes.count, ByteClass.digit.admits(bytes[index]) { index += 1 }
                    guard index - start <= 13 else { return false }
                }
                return bytes.count == index + 3 && bytes[index] == UInt8(ascii: ".") && ByteClass.digit.admits(bytes[index + 1])
                    && ByteClass.digit.admits(bytes[index + 2])
            case .rate:
                var index = 0
                while index < bytes.count, ByteClass.digit.admits(bytes[index]) { index += 1 }
                guard (1...3).contains(index) else { return false }
                if index == bytes.count { return true }
                guard bytes[index] == UInt8(ascii: ".") else { return false }
                let fraction = bytes.count - index - 1
                guard (1...4).contains(fraction) else { return false }
                return bytes[(index + 1)...].allSatisfy(ByteClass.digit.admits)
            }
        }
    }
}
