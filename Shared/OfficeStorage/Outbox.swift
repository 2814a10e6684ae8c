import Foundation
import EventSigning
import TransferDomain

/// A row of the transactional outbox: an event waiting to be (or already) published.
public struct OutboxRow: Codable, Sendable {
    public var seq: Int64?
    public var eventId: String
    public var eventType: String
    public var topic: String
    public var key: String
    /// JSON array of [name, value] pairs, in header order.
    public var headers: String
    public var payload: Data
    public var createdAt: Date
    public var sentAt: Date?
    public var partition: Int64?
    public var offset: Int64?
    public var parkedAt: Date?
    public var parkReason: String?

    /// A row for `event`, stored exactly as it will be sent: the signature covers those bytes.
    /// - Throws: `DomainError` when the event breaks its own schema: a contract violation is a
    ///   bug to stop at the source, never something to publish.
    public init(_ event: CloudEvent, topic: String, signer: EventSigner) throws {
        let payload = try event.data()
        let violations = event.schemaViolations(of: payload)
        guard violations.isEmpty else {
            throw DomainError("refusing to publish \(event.type.ceType) that breaks its schema: \(violations.joined(separator: "; "))")
        }
        let headers = event.headers
        let signed = headers + (try signer.signatureHeaders(headers: headers, value: Array(payload)))
        let storedHeaders = try JSONEncoder().encode(signed.map { [$0.name, $0.value] })
        self.init(
            eventId: event.id.uuidString.lowercased(), eventType: event.type.rawValue, topic: topic, key: event.key,
            headers: String(decoding: storedHeaders, as: UTF8.self), payload: payload, createdAt: Date())
    }

    public init(
        seq: Int64? = nil, eventId: String, eventType: String, topic: String, key: String, headers: String, payload: Data, createdAt: Date,
        sentAt: Date? = nil, partition: Int64? = nil, offset: Int64? = nil, parkedAt: Date? = nil, parkReason: String? = nil
    ) {
        self.seq = seq
        self.eventId = eventId
        self.eventType = eventType
        self.topic = topic
        self.key = key
        self.headers = headers
        self.payload = payload
        self.createdAt = createdAt
        self.sentAt = sentAt
        self.partition = partition
        self.offset = offset
        self.parkedAt = parkedAt
        self.parkReason = parkReason
    }
}

/// The transactional outbox: events are written in the same transaction as the state change
/// that causes them, and published later by the runtime's relay. Each backend has its own statements
/// for it (``StoreTransaction``'s outbox methods).
public enum Outbox {
    /// The state of the outbox, for `/health` and the gauges.
    public struct Statistics: Sendable {
        /// Unsent rows the relay will publish.
        public var pending: Int
        /// Unsent rows set aside: they can never be published as they are.
        public var parked: Int
        /// When the oldest row the relay will publish was written.
        public var oldestUnsent: Date?
    }

    /// A parked row, as `<office> outbox parked` lists it.
    public struct ParkedRow: Sendable, Codable {
        public var seq: Int64
        public var eventId: String
        public var eventType: String
        public var key: String
        public var bytes: Int
        public var createdAt: Date
        public var parkedAt: Date
        public var reason: String
        /// Unsent rows of the same key held behind it.
        public var heldBehind: Int
    }
}
