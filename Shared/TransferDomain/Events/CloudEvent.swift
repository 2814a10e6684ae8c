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
        .originRelationshipTerminated: OriginRelationshipTerminated.schema,
    ]

    /// Decodes a payload of `type` from JSON.
    static func decode(_ type: EventType, from data: Data) throws -> TransferEvent {
        let decoder = JSONDecoder()
        switch type {
        case .contactLetterIssued: return .contactLetterIssued(try decoder.decode(ContactLetterIssued.self, from: data))
        case .applicationRejected: return .applicationRejected(try decoder.decode(ApplicationRejected.self, from: data))
        case .temporaryAccountOpened: return .temporaryAccountOpened(try decoder.decode(TemporaryAccountOpened.self, from: data))
        case .reconciliationDiscrepancyRaised:
            return .reconciliationDiscrepancyRaised(try decoder.decode(ReconciliationDiscrepancyRaised.self, from: data))
        case .excessRefunded: return .excessRefunded(try decoder.decode(ExcessRefunded.self, from: data))
        case .transferCompleted: return .transferCompleted(try decoder.decode(TransferCompleted.self, from: data))
        case .paymentCertificateIssued:
            return .paymentCertificateIssued(try decoder.decode(PaymentCertificateIssued.self, from: data))
        case .contactLetterReturned: return .contactLetterReturned(try decoder.decode(ContactLetterReturned.self, from: data))
        case .infoFormIssued: return .infoFormIssued(try decoder.decode(InfoFormIssued.self, from: data))
        case .fundsRemitted: return .fundsRemitted(try decoder.decode(FundsRemitted.self, from: data))
        case .originRelationshipTerminated:
            return .originRelationshipTerminated(try decoder.decode(OriginRelationshipTerminated.self, from: data))
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
    public var key: String {
        if case .paymentCertificateIssued(let certificate) = event { return certificate.person.citizenId.rawValue }
        return event.payload.subject
    }

    /// The Kafka headers, in a fixed order.
    public var headers: [(name: String, value: String)] {
        [
            ("ce_specversion", Self.specVersion), ("ce_id", id.uuidString.lowercased()),
            ("ce_source", "/offices/\(source.rawValue)"), ("ce_type", type.ceType), ("ce_time", Self.formatTime(time)),
            ("ce_subject", subject), ("ce_recipient", recipient.rawValue), ("content-type", "application/json"),
        ]
    }

    /// The data: UTF-8 JSON, keys sorted.
    public func data() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(event.payload)
    }

    /// The violations of the produced JSON against the type's schema, strictly (no unknown
    /// properties); empty when the event honours the contract.
    public func schemaViolations() -> [String] {
        guard let data = try? data(), let value = try? JSONValue.parse(data) else { return ["$: does not encode"] }
        return (TransferEvent.schemas[type] ?? .boolean).validate(value, strict: true)
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
        do {
            try StrictJSON.validate(data)
        } catch {
            throw .malformed("data is not JSON: \(error)")
        }
        let value: JSONValue
        do {
            value = try JSONValue.parse(data)
        } catch {
            throw .malformed("data is not JSON")
        }
        let violations = (TransferEvent.schemas[type] ?? .boolean).validate(value, strict: false)
        guard violations.isEmpty else { throw .malformed(violations.joined(separator: "; ")) }
        let event: TransferEvent
        do {
            event = try TransferEvent.decode(type, from: data)
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

    static func formatTime(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    static func parseTime(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    public static func == (lhs: CloudEvent, rhs: CloudEvent) -> Bool {
        lhs.id == rhs.id && lhs.source == rhs.source && lhs.recipient == rhs.recipient && lhs.event == rhs.event
            && abs(lhs.time.timeIntervalSince(rhs.time)) < 0.001
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(id)
    }
}
