@testable import DestinationOffice
import Foundation
import OfficeRuntime
@testable import OriginOffice
import Testing
import TransferDomain

/// The repositories behind the routes and handlers: their queries answer the domain's questions
/// (open, terminal, overdue) exactly as the domain does case by case, and document numbers stay
/// gap-free. Storage is an in-memory SQLite store.
@Suite("Repositories (no broker)")
struct RepositoryTests {
    static let today = try! LocalDate("2026-06-15")
    /// No due date, due yesterday (overdue), due today (not yet), due tomorrow.
    static let dues: [LocalDate?] = [nil, today.adding(days: -1), today, today.adding(days: 1)]

    static func store<S: OfficeService>(_: S.Type) throws -> OfficeDatabase {
        try OfficeDatabase(path: nil, migrations: { S.registerMigrations(&$0) })
    }

    @Test("destination: the overdue filter, the counts and the open-case count of the store agree with the domain for every state and due date")
    func destinationQuestions() async throws {
        let repository = DestinationRepository(store: try Self.store(DestinationOffice.self))
        let citizen = Support.citizenID(birth: "19900504", sequence: "022")
        var expected: [(id: String, state: DestinationCaseState, overdue: Bool)] = []
        var index = 0
        for state in DestinationCaseState.allCases {
            for originDue in Self.dues {
                for completionDue in Self.dues {
                    index += 1
                    let record = DestinationCaseRecord(
                        caseId: CaseID().description, citizenId: citizen.rawValue, name: "Test", hukouProvince: "44", origin: "440300",
                        submittedOn: Self.today.adding(days: -(index % 40)).description, state: state.rawValue, approvedTransfer: false,
                        originDueOn: originDue?.description, completionDueOn: completionDue?.description, events: "[]", updatedAt: Date())
                    try await repository.write { records in try records.insert(record) }
                    let due: [DestinationDeadlineKind: LocalDate] = [.originAnswer: originDue, .completion: completionDue].compactMapValues { $0 }
                    expected.append((record.caseId, state, state.isOverdue(today: Self.today) { due[$0] }))
                }
            }
        }
        let overdueIDs = Set(expected.filter(\.overdue).map(\.id))
        // The domain's rules do make some overdue and leave others (the test can fail both ways).
        #expect(overdueIDs.count > 0 && overdueIDs.count < expected.count)
        let (listed, total) = try await repository.read { records in
            try records.cases(CaseFilter(overdueOn: Self.today), try Page(limit: "10000", offset: nil))
        }
        #expect(Set(listed.map(\.caseId)) == overdueIDs)
        #expect(total == overdueIDs.count)
        let counts = try await repository.read { records in try records.counts(today: Self.today) }
        #expect(counts.overdue == overdueIDs.count)
        for state in DestinationCaseState.allCases {
            #expect(counts.byState[state] == expected.filter { $0.state == state }.count)
            // One state, overdue or not: the two filters combine.
            let (inState, inStateTotal) = try await repository.read { records in
                try records.cases(CaseFilter(state: state, overdueOn: Self.today), try Page(limit: "10000", offset: nil))
            }
            #expect(Set(inState.map(\.caseId)) == Set(expected.filter { $0.state == state && $0.overdue }.map(\.id)))
            #expect(inStateTotal == inState.count)
        }
        // Open cases of the person, other than one of them.
        let someone = expected[0].id
        let open = try await repository.read { records in try records.openCases(of: citizen, excluding: someone) }
        #expect(open == expected.filter { $0.id != someone && $0.state.isOpen }.count)
        // Pages: in submission order, the total counts every page.
        let (page, all) = try await repository.read { records in try records.cases(CaseFilter(), try Page(limit: "7", offset: "5")) }
        #expect(page.count == 7 && all == expected.count)
        let (everything, _) = try await repository.read { records in try records.cases(CaseFilter(), try Page(limit: "10000", offset: nil)) }
        #expect(page.map(\.caseId) == Array(everything.map(\.caseId)[5..<12]))
        #expect(everything.map(\.submittedOn) == everything.map(\.submittedOn).sorted())
    }

    @Test("origin: the overdue filter and the counts of the store agree with the domain for every state and due date")
    func originQuestions() async throws {
        let repository = OriginRepository(store: try Self.store(OriginOffice.self))
        var expected: [(id: String, state: OriginCaseState, overdue: Bool)] = []
        var sequence = 0
        for state in OriginCaseState.allCases {
            for due in Self.dues.compactMap({ $0 }) {
                sequence += 1
                let record = CaseRecord(
                    caseId: CaseID().description, contactLetterNo: ContactLetterNumber(office: try OfficeCode("510100"), year: 2026, sequence: sequence).rawValue,
                    citizenId: "440300199005040221", destination: "510100", receivedOn: Self.today.description, dueOn: due.description,
                    state: state.rawValue, events: "[]", updatedAt: Date())
                try await repository.write { records in try records.insert(record) }
                expected.append((record.caseId, state, state.isOverdue(today: Self.today) { _ in due }))
            }
        }
        let overdueIDs = Set(expected.filter(\.overdue).map(\.id))
        #expect(overdueIDs.count > 0 && overdueIDs.count < expected.count)
        let (listed, total) = try await repository.read { records in
            try records.cases(CaseFilter(overdueOn: Self.today), try Page(limit: "10000", offset: nil))
        }
        #expect(Set(listed.map(\.caseId)) == overdueIDs && total == overdueIDs.count)
        let counts = try await repository.read { records in try records.counts(today: Self.today) }
        #expect(counts.overdue == overdueIDs.count)
        for state in OriginCaseState.allCases {
            #expect(counts.byState[state] == expected.filter { $0.state == state }.count)
        }
    }

    @Test("document numbers are gap-free: a number taken by a transaction that rolls back is issued again")
    func gapFreeNumbers() async throws {
        let store = try Self.store(OriginOffice.self)
        let office = try OfficeCode("440300")
        func take() async throws -> RemittanceID {
            try await store.write { transaction in try DocumentSequence.next(RemittanceID.self, office: office, year: 2026, in: transaction) }
        }
        let first = try await take()
        struct Abandon: Error {}
        await #expect(throws: Abandon.self) {
            try await store.write { transaction -> Int in
                _ = try DocumentSequence.next(RemittanceID.self, office: office, year: 2026, in: transaction)
                throw Abandon()
            }
        }
        let second = try await take()
        let nextYear = try await store.write { transaction in try DocumentSequence.next(RemittanceID.self, office: office, year: 2027, in: transaction) }
        #expect(first == RemittanceID(office: office, year: 2026, sequence: 1))
        #expect(second == RemittanceID(office: office, year: 2026, sequence: 2))
        #expect(nextYear == RemittanceID(office: office, year: 2027, sequence: 1))
    }
}
