import Foundation
import OfficeRuntime
import Testing
import TransferDomain

@Suite("Stored case histories")
struct CaseHistoryTests {
    @Test("events are appended to the stored JSON array without rewriting it; a damaged history is refused")
    func appending() throws {
        let first = DestinationCaseEvent.completed(on: try LocalDate("2026-06-15"))
        let second = DestinationCaseEvent.letterReturned([.arrearsOutstanding], on: try LocalDate("2026-06-16"))
        var history = "[]"
        history = try CaseHistory.appending(first, to: history)
        history = try CaseHistory.appending([second, first], to: history)
        #expect(try JSONDecoder().decode([DestinationCaseEvent].self, from: Data(history.utf8)) == [first, second, first])
        #expect(try CaseHistory.appending([DestinationCaseEvent](), to: history) == history)
        #expect(try JSONDecoder().decode([DestinationCaseEvent].self, from: Data(try CaseHistory.appending(first, to: " [ ]\n").utf8)) == [first])
        #expect(throws: DomainError.self) { try CaseHistory.appending(first, to: "{\"a\":1}") }
        #expect(throws: DomainError.self) { try CaseHistory.appending(first, to: "") }
    }

    @Test("a kept replay is used only for the very bytes it was replayed from; the least recently used case goes first")
    func replayCache() throws {
        let cache = ReplayCache<Int>(capacity: 2)
        var replays = 0
        func read(_ key: String, _ history: String, _ value: Int) -> Int {
            cache.value(for: key, history: history) { replays += 1; return value }
        }
        #expect(read("a", "[1]", 1) == 1 && replays == 1)
        #expect(read("a", "[1]", 99) == 1 && replays == 1)   // same bytes: no replay
        cache.store(2, for: "a", history: "[1,2]")             // applied in a transaction not yet committed
        #expect(read("a", "[1]", 99) == 1 && replays == 1)   // a reader outside it still finds the one before
        #expect(read("a", "[1,2]", 99) == 2 && replays == 1)
        #expect(read("a", "[1,3]", 3) == 3 && replays == 2)  // same length, other bytes: replayed
        #expect(read("a", "[1]", 4) == 4 && replays == 3)    // two versions kept, the oldest ("[1]") went
        // Canonically equivalent but different bytes (é precomposed vs e + combining accent) miss.
        #expect(read("b", "[\"\u{E9}\"]", 5) == 5 && read("b", "[\"e\u{301}\"]", 6) == 6 && replays == 5)
        cache.store(7, for: "c", history: "[7]")
        #expect(cache.count == 2)
        #expect(read("c", "[7]", 0) == 7 && replays == 5)
        #expect(read("b", "[\"e\u{301}\"]", 0) == 6 && replays == 5)
        // "a" was used least recently: it went when "c" came in.
        #expect(read("a", "[1]", 8) == 8 && replays == 6)
        struct Damaged: Error {}
        #expect(throws: Damaged.self) { try cache.value(for: "d", history: "x") { () throws -> Int in throw Damaged() } }
        #expect(read("d", "x", 8) == 8) // a failed replay is not kept
    }

    @Test("a full replay cache lets the least recently used eighth go at once, never a case used since")
    func replayCacheEviction() {
        let cache = ReplayCache<Int>(capacity: 16)
        for index in 0..<16 { cache.store(index, for: "case-\(index)", history: "[\(index)]") }
        // Use the older half again: the cases 8-15 are now the least recently used.
        for index in 0..<8 { #expect(cache.value(for: "case-\(index)", history: "[\(index)]") { -1 } == index) }
        cache.store(16, for: "case-16", history: "[16]")
        #expect(cache.count == 14)  // 17 for a moment, less the 3 least recently used (17 - 16 + 16 / 8)
        var replayed: [Int] = []
        // The kept ones first (a hit keeps nothing new), then the three that went.
        for index in Array(11...16) + Array(0..<8) + [8, 9, 10] {
            _ = cache.value(for: "case-\(index)", history: "[\(index)]") { replayed.append(index); return index }
        }
        #expect(replayed == [8, 9, 10])
    }
}
