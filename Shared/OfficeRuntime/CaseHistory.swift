import Foundation
import Synchronization
import TransferDomain

/// A case's stored history: the JSON array of the case events applied, in order (the case is
/// their replay). New events are appended to the stored text; the history before them is neither
/// read nor rewritten (it carries the origin's whole ledger). Each entry is ``SortedJSON`` (the
/// form's entry written straight to bytes); histories written before, with keys in declaration
/// order, read the same.
public enum CaseHistory {
    /// `history` (a JSON array as stored) with `events` appended.
    /// - Throws: `DomainError` when `history` is not a JSON array (a damaged row: never guessed at).
    public static func appending<Event: Encodable>(_ events: [Event], to history: String) throws -> String {
        guard !events.isEmpty else { return history }
        // Bytes, not characters: a history is tens of kilobytes and this runs for every event.
        var bytes = Array(history.utf8)
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }
        while let last = bytes.last, isSpace(last) { bytes.removeLast() }
        guard let open = bytes.firstIndex(where: { !isSpace($0) }), bytes[open] == UInt8(ascii: "["), bytes.last == UInt8(ascii: "]"), bytes.count - open >= 2
        else { throw DomainError("a stored case history is not a JSON array") }
        bytes.removeLast()
        let empty = bytes[(open + 1)...].allSatisfy(isSpace)
        for (index, event) in events.enumerated() {
            if !(empty && index == 0) { bytes.append(UInt8(ascii: ",")) }
            bytes += try SortedJSON.encode(event)
        }
        bytes.append(UInt8(ascii: "]"))
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func appending<Event: Encodable>(_ event: Event, to history: String) throws -> String {
        try appending([event], to: history)
    }
}

/// A stored case row whose case is the replay of its history: ``domainCase()`` reads it through
/// the type's kept replays (``ReplayCache``), and ``keep(_:)`` records the case after an event
/// was appended to the history.
public protocol ReplayedCaseRecord {
    associatedtype Case: Sendable
    /// The JSON array of the case events applied, as stored.
    var events: String { get }
    /// What besides the history the replay depends on (the case's key facts).
    var replayKey: String { get }
    /// The cases of this kind recently replayed or changed.
    static var replays: ReplayCache<Case> { get }
    /// Decodes the history and replays it, without the kept replays.
    func replayed() throws -> Case
}

extension ReplayedCaseRecord {
    /// The case replayed from the stored history, or kept from the last replay of these very bytes.
    public func domainCase() throws -> Case {
        try Self.replays.value(for: replayKey, history: events) { try replayed() }
    }

    /// Keeps `domain` as the replay of the history this record now holds.
    public func keep(_ domain: Case) {
        Self.replays.store(domain, for: replayKey, history: events)
    }
}

/// Cases replayed from their stored histories, kept so that reading a case whose history has not
/// changed since needs no decoding and no replay (a history carries the origin's whole ledger, and
/// a case is read for every event it receives and every time someone looks at it).
///
/// A kept case is used only when the stored history is byte for byte the one it was replayed
/// from: a replay is a pure function of the case's key facts and its history, so a hit returns
/// exactly what replaying would, and a history another instance (or a rolled-back transaction)
/// wrote simply misses. The last two histories of each case are kept: while a transaction that
/// just appended to a history is still open, readers outside it see the one before. At most
/// `capacity` cases are kept; the least recently used go first, an eighth of the capacity at a time.
public final class ReplayCache<Value: Sendable>: Sendable {
    private struct Version {
        var history: String
        var value: Value
    }
    private struct Entry {
        /// Newest first, at most two.
        var versions: [Version]
        var used: UInt64
    }
    private struct State {
        var entries: [String: Entry] = [:]
        var clock: UInt64 = 0
    }
    private let state = Mutex(State())
    public let capacity: Int

    public init(capacity: Int) {
        precondition(capacity > 0, "a replay cache needs room for at least one case")
        self.capacity = capacity
    }

    /// The case `key` replayed from `history`: the one kept, when it was replayed from these very
    /// bytes, otherwise `replay()`'s (then kept).
    public func value(for key: String, history: String, replay: () throws -> Value) rethrows -> Value {
        let kept: Value? = state.withLock { state in
            guard var entry = state.entries[key], let version = entry.versions.first(where: { Self.sameBytes($0.history, history) })
            else { return nil }
            state.clock += 1
            entry.used = state.clock
            state.entries[key] = entry
            return version.value
        }
        if let kept { return kept }
        let value = try replay()
        store(value, for: key, history: history)
        return value
    }

    /// Keeps `value` as the case `key` replayed from `history` (after applying an event, so that
    /// the next read of the history just written finds it).
    public func store(_ value: Value, for key: String, history: String) {
        state.withLock { state in
            state.clock += 1
            var entry = state.entries[key] ?? Entry(versions: [], used: 0)
            entry.versions.removeAll { Self.sameBytes($0.history, history) }
            entry.versions.insert(Version(history: history, value: value), at: 0)
            if entry.versions.count > 2 { entry.versions.removeLast(entry.versions.count - 2) }
            entry.used = state.clock
            state.entries[key] = entry
            if state.entries.count > capacity {
                // The least recently used eighth goes at once (one sort), not one case per store
                // (a scan of every kept case each time a new one comes in).
                let leaving = state.entries.count - capacity + capacity / 8
                let byUse = state.entries.map { (key: $0.key, used: $0.value.used) }.sorted { $0.used < $1.used }
                for old in byUse.prefix(leaving) { state.entries[old.key] = nil }
            }
        }
    }

    /// How many cases are kept (for tests).
    public var count: Int { state.withLock { $0.entries.count } }

    /// Byte equality (not String's canonical equivalence, which is slower and looser than needed).
    private static func sameBytes(_ lhs: String, _ rhs: String) -> Bool {
        guard lhs.utf8.count == rhs.utf8.count else { return false }
        var lhs = lhs, rhs = rhs
        return lhs.withUTF8 { left in rhs.withUTF8 { right in left.count == 0 || memcmp(left.baseAddress!, right.baseAddress!, left.count) == 0 } }
    }
}
