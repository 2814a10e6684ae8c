import Foundation

/// One event of the contract, whatever its type.
public enum TransferEvent: Hashable, Sendable {
    case contactLetterIssued(ContactLetterIssued)
    case applicationRejected(ApplicationRejected)
    case temporaryAccountOpened(TemporaryAccountOpened)
    case reconciliationDiscrepancyRaised(ReconciliationDiscrepancyRaised)
    case excessRefunded(ExcessRefunded)
    case transferCompleted(TransferCompleted)
    case paymentCertificateIssued(PaymentCertificateIssued)
    case contactLetterReturned(ContactLetterReturned)
    case infoFormIssued(InfoFormIssued)
    case fundsRemitted(FundsRemitted)
    case originRelationshipTerminated(OriginRelationshipTerminated)
    case relationshipReceived(RelationshipReceived)

    /// The payload, type-erased.
    public var payload: any EventPayload {
        switch self {
        case .contactLetterIssued(let p): return p
        case .applicationRejected(let p): return p
        case .temporaryAccountOpened(let p): return p
        case .reconciliationDiscrepancyRaised(let p): return p
        case .excessRefunded(let p): return p
        case .transferCompleted(let p): return p
        case .paymentCertificateIssued(let p): return p
        case .contactLetterReturned(let p): return p
        case .infoFormIssued(let p): return p
        case .fundsRemitted(let p): return p
        case .originRelationshipTerminated(let p): return p
        case .relationshipReceived(let p): return p
        }
    }

    public var type: EventType { Swift.type(of: payload).eventType }

    /// The schema of every type, for generating the schema files.
    public static let schemas: [EventType: Schema] = [
        .contactLetterIssued: ContactLetterIssued.schema, .applicationRejected: ApplicationRejected.schema,
        .temporaryAccountOpened: TemporaryAccountOpened.schema,
        .reconciliationDiscrepancyRaised: ReconciliationDiscrepancyRaised.schema,
        .excessRefunded: ExcessRefunded.schema, .transferCompleted: TransferCompleted.schema,
        .paymentCertificateIssued: PaymentCertificateIssued.schema, .contactLetterReturned: ContactLetterReturned.schema,
        .infoFormIssued: InfoFormIssued.schema, .fundsRemitted: FundsRemitted.schema,
        .originRelationshipTerminated: OriginRelationshipTerminated.schema, .relationshipReceived: RelationshipReceived.schema,
    ]

    /// ``schemas``, compiled once for checking every event written and read.
    static let compiledSchemas: [EventType: CompiledSchema] = schemas.mapValues(CompiledSchema.init)

    /// The violations of an event's data against its type's schema (`strict`: no unknown
    /// properties, as a producer checks; a consumer tolerates them).
    static func schemaViolations(_ type: EventType, _ value: JSONValue, strict: Bool) -> [String] {
        guard let schema = schemas[type], let compiled = compiledSchemas[type] else { return ["$: no schema for \(type.ceType)"] }
        return compiled.validate(value, strict: strict, against: schema)
    }

    /// The event of `type` in `value` (data already parsed and checked against the schema).
    static func decode(_ type: EventType, from value: JSONValue) throws -> TransferEvent {
        let decoder = JSONValueDecoder()
        switch type {
        case .contactLetterIssued: return .contactLetterIssued(try decoder.decode(ContactLetterIssued.self, from: value))
        case .applicationRejected: return .applicationRejected(try decoder.decode(ApplicationRejected.self, from: value))
        case .temporaryAccountOpened: return .temporaryAccountOpened(try decoder.decode(TemporaryAccountOpened.self, from: value))
        case .reconciliationDiscrepancyRaised:
            return .reconciliationDiscrepancyRaised(try decoder.decode(ReconciliationDiscrepancyRaised.self, from: value))
        case .excessRefunded: return .excessRefunded(try decoder.decode(ExcessRefunded.self, from: value))
        case .transferCompleted: return .transferCompleted(try decoder.decode(TransferCompleted.self, from: value))
        case .paymentCertificateIssued:
            return .paymentCertificateIssued(try decoder.decode(PaymentCertificateIssued.self, from: value))
        case .contactLetterReturned: return .contactLetterReturned(try decoder.decode(ContactLetterReturned.self, from: value))
        case .infoFormIssued: return .infoFormIssued(try decoder.decode(InfoFormIssued.self, from: value))
        case .fundsRemitted: return .fundsRemitted(try decoder.decode(FundsRemitted.self, from: value))
        case .originRelationshipTerminated:
            return .originRelationshipTerminated(try decoder.decode(OriginRelationshipTerminated.self, from: value))
        case .relationshipReceived: return .relationshipReceived(try decoder.decode(RelationshipReceived.self, from: value))
        }
    }
}

/// Why a record could not be taken as an event. Each kind goes to the dead-letter topic with
/// its ``reason``.
public enum EventDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// `ce_type` names no event of the contract.
    case unknownType(String)
    /// A known event name with a major version this consumer does not speak.
    case unknownMajorVersion(String)
    /// Missing or bad headers, JSON that does not parse, or data that breaks the schema.
    case malformed(String)

    public var reason: String {
        switch self {
        case .unknownType: return "unknown-type"
        case .unknownMajorVersion: return "unknown-major-version"
        case .malformed: return "malformed"
        }
    }

    public var description: String {
        switch self {
        case .unknownType(let detail): return "unknown event type: \(detail)"
        case .unknownMajorVersion(let detail): return "unknown major version: \(detail)"
        case .malformed(let detail): return "malformed event: \(detail)"
        }
    }
}

/// An event with its CloudEvents attributes, mapped to Kafka by the CloudEvents 1.0 Kafka
/// binding in binary mode: attributes in `ce_*` headers, the data as the JSON value.
public struct CloudEvent: Hashable, Sendable {
    public static let specVersion = "1.0"

    /// `ce_id`: unique; the deduplication key.
    public var id: UUID
    /// `ce_source` is `/offices/<code>` of the writer.
    public var source: OfficeCode
    /// `ce_recipient`: the office the event is addressed to.
    public var recipient: OfficeCode
    /// `ce_time`.
    public var time: Date
    public var event: TransferEvent

    public init(id: UUID = UUID(), source: OfficeCode, recipient: OfficeCode, time: Date, event: TransferEvent) {
        self.id = id
        self.source = source
        self.recipient = recipient
        self.time = time
        self.event = event
    }

    public var type: EventType { event.type }
    /// `ce_subject`: the case id (certificate events: the certificate number).
    public var subject: String { event.payload.subject }
    /// The Kafka key: the case id, or the person's ID number for certificate events.
    /// The record key: the case id, or a certificate's number (not the person's citizen ID, which
    /// would put an identity number in every broker's logs and tools).
    public var key: String { event.payload.subject }

    /// The Kafka headers, in a fixed order.
    public var headers: [(name: String, value: String)] {
        [
            ("ce_specversion", Self.specVersion), ("ce_id", id.uuidString.lowercased()),
            ("ce_source", "/offices/\(source.rawValue)"), ("ce_type", type.ceType), ("ce_time", Self.formatTime(time)),
            ("ce_subject", subject), ("ce_recipient", recipient.rawValue), ("content-type", "application/json"),
        ]
    }

    /// The data: UTF-8 JSON, keys sorted (``SortedJSON``).
    public func data() throws -> Data {
        try SortedJSON.encode(event.payload)
    }

    /// The violations of the produced JSON against the type's schema, strictly (no unknown
    /// properties); empty when the event honours the contract.
    public func schemaViolations() -> [String] {
        guard let data = try? data() else { return ["$: does not encode"] }
        return schemaViolations(of: data)
    }

    /// The violations of `data` (this event's ``data()``, already encoded) against the type's schema.
    public func schemaViolations(of data: Data) -> [String] {
        guard let value = try? JSONValue.parse(data) else { return ["$: is not JSON"] }
        return TransferEvent.schemaViolations(type, value, strict: true)
    }

    /// Takes a record's headers and value as an event.
    ///
    /// Tolerates JSON fields it does not know (newer producers of the same major version).
    /// - Throws: ``EventDecodingError`` telling unknown type, unknown major version and
    ///   malformed apart.
    public static func decode(headers: [String: String], data: Data?) throws(EventDecodingError) -> CloudEvent {
        guard let typeHeader = headers["ce_type"] else { throw .malformed("no ce_type header") }
        let type = try parseType(typeHeader)
        guard headers["ce_specversion"] == specVersion else {
            throw .malformed("ce_specversion is \(headers["ce_specversion"] ?? "missing"), expected \(specVersion)")
        }
        guard let idText = headers["ce_id"], let id = UUID(uuidString: idText) else { throw .malformed("ce_id is missing or not a UUID") }
        guard let sourceText = headers["ce_source"], sourceText.hasPrefix("/offices/"),
              let source = try? OfficeCode(String(sourceText.dropFirst("/offices/".count)))
        else { throw .malformed("ce_source must be /offices/<6-digit code>, got \(headers["ce_source"] ?? "nothing")") }
        guard let recipientText = headers["ce_recipient"], let recipient = try? OfficeCode(recipientText) else {
            throw .malformed("ce_recipient must be a 6-digit office code")
        }
        guard let timeText = headers["ce_time"], let time = parseTime(timeText) else {
            throw .malformed("ce_time must be an RFC 3339 time")
        }
        guard let data, !data.isEmpty else { throw .malformed("the record has no data") }
        let value: JSONValue
        do {
            value = try StrictJSON.parse(data)
        } catch {
            throw .malformed("data is not JSON: \(error)")
        }
        let violations = TransferEvent.schemaViolations(type, value, strict: false)
        guard violations.isEmpty else { throw .malformed(violations.joined(separator: "; ")) }
        let event: TransferEvent
        do {
            event = try TransferEvent.decode(type, from: value)
        } catch let error as ValidationError {
            throw .malformed(error.description)
        } catch let DecodingError.dataCorrupted(context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw .malformed("\(path): \(context.underlyingError.map { "\($0)" } ?? context.debugDescription)")
        } catch {
            throw .malformed("\(error)")
        }
        let decoded = CloudEvent(id: id, source: source, recipient: recipient, time: time, event: event)
        guard headers["ce_subject"] == decoded.subject else {
            throw .malformed("ce_subject \(headers["ce_subject"] ?? "missing") does not match the data's \(decoded.subject)")
        }
        return decoded
    }

    /// Splits `pension.transfer.<name>.v<major>`.
    static func parseType(_ text: String) throws(EventDecodingError) -> EventType {
        guard text.hasPrefix(EventType.typePrefix) else { throw .unknownType(text) }
        let rest = text.dropFirst(EventType.typePrefix.count)
        guard let dot = rest.lastIndex(of: "."), rest[rest.index(after: dot)...].hasPrefix("v"),
              let major = Int(rest[rest.index(dot, offsetBy: 2)...])
        else {
            throw .unknownType(text)
        }
        guard let type = EventType(rawValue: String(rest[..<dot])) else { throw .unknownType(text) }
        guard major == EventType.majorVersion else { throw .unknownMajorVersion(text) }
        return type
    }

    /// The formatters `ce_time` is written and read with, made once (making one costs far more
    /// than using it) and used one caller at a time.
    private final class TimeFormatters: @unchecked Sendable {
        let lock = NSLock()
        let fractional = ISO8601DateFormatter()
        let whole = ISO8601DateFormatter()
        init() {
            fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            fractional.timeZone = TimeZone(identifier: "UTC")
            whole.formatOptions = [.withInternetDateTime]
        }
    }
    private static let timeFormatters = TimeFormatters()

    static func formatTime(_ date: Date) -> String {
        timeFormatters.lock.withLock { timeFormatters.fractional.string(from: date) }
    }

    static func parseTime(_ text: String) -> Date? {
        if let date = RFC3339.parse(text) { return date }
        return timeFormatters.lock.withLock { timeFormatters.fractional.date(from: text) ?? timeFormatters.whole.date(from: text) }
    }

    public static func == (lhs: CloudEvent, rhs: CloudEvent) -> Bool {
        lhs.id == rhs.id && lhs.source == rhs.source && lhs.recipient == rhs.recipient && lhs.event == rhs.event
            && abs(lhs.time.timeIntervalSince(rhs.time)) < 0.001
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(id)
    }
}

/// The usual shape of an RFC 3339 time, read without a formatter (every record's `ce_time` is
/// read, by every office and by the audit): `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`.
/// Anything else (a leap second, another shape) is `nil`, left to the formatter.
public enum RFC3339 {
    public static func parse(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { parse($0) }
    }

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Date? {
        guard bytes.count >= 20 else { return nil }
        func number(_ start: Int, _ count: Int) -> Int? {
            var value = 0
            for index in start..<(start + count) {
                let byte = bytes[index]
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0, 4), bytes[4] == UInt8(ascii: "-"), let month = number(5, 2), bytes[7] == UInt8(ascii: "-"),
              let day = number(8, 2), bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t"),
              let hour = number(11, 2), bytes[13] == UInt8(ascii: ":"), let minute = number(14, 2), bytes[16] == UInt8(ascii: ":"),
              let second = number(17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year), hour <= 23, minute <= 59, second <= 59 else { return nil }
        var index = 19
        var fraction = 0.0
        if bytes[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            let start = index
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                fraction += Double(bytes[index] - UInt8(ascii: "0")) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        guard index < bytes.count else { return nil }
        var offset = 0
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard bytes.count - index == 6, let hours = number(index + 1, 2), bytes[index + 3] == UInt8(ascii: ":"),
                  let minutes = number(index + 4, 2), hours <= 23, minutes <= 59
            else { return nil }
            offset = (hours * 60 + minutes) * 60 * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
            index += 6
        default:
            return nil
        }
        guard index == bytes.count else { return nil }
        let seconds = daysSinceEpoch(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 in the proleptic Gregorian calendar.
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
