import Foundation
import TransferDomain

/// A case's stored history: the JSON array of the case events applied, in order (the case is
/// their replay). New events are appended to the stored text; the history before them is neither
/// read nor rewritten (it carries the origin's whole ledger).
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
        let encoder = JSONEncoder()
        for (index, event) in events.enumerated() {
            if !(empty && index == 0) { bytes.append(UInt8(ascii: ",")) }
            bytes += try encoder.encode(event)
        }
        bytes.append(UInt8(ascii: "]"))
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func appending<Event: Encodable>(_ event: Event, to history: String) throws -> String {
        try appending([event], to: history)
    }
}
