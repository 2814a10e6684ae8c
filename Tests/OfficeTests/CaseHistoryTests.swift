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
}
