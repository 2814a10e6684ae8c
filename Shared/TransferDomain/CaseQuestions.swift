/// The questions every case list, count, gauge and view asks of a case ("is it terminal?", "is it
/// still open?", "is it overdue?"), answered once here. Storage turns these definitions into its
/// own query language (the state lists and the deadline each overdue rule watches); no query
/// spells a state name of its own.
public protocol CaseLifecycle: RawRepresentable<String>, CaseIterable, Hashable, Sendable where AllCases == [Self] {
    /// The deadlines of a case that an overdue rule can watch; storage keeps each as a column.
    associatedtype DeadlineKind: Hashable, Sendable, CaseIterable
    /// The states a case ends in: nothing happens to it any more.
    static var terminalStates: [Self] { get }
    /// A case is overdue when its state is in one of these rules and today is after the due
    /// date of that rule's deadline.
    static var overdueRules: [OverdueRule<Self>] { get }
}

/// "In one of these states, past this deadline": one clause of a case's overdue definition.
public struct OverdueRule<State: CaseLifecycle>: Sendable {
    public let states: [State]
    public let deadline: State.DeadlineKind

    public init(states: [State], deadline: State.DeadlineKind) {
        self.states = states
        self.deadline = deadline
    }
}

extension CaseLifecycle {
    public var isTerminal: Bool { Self.terminalStates.contains(self) }
    /// Not terminal: something is still to happen.
    public var isOpen: Bool { !isTerminal }
    /// The states of an open case, in declaration order.
    public static var openStates: [Self] { allCases.filter(\.isOpen) }

    /// Whether a case in this state is overdue on `today`, given the due date of each deadline it
    /// has (`nil` when that step has not started).
    public func isOverdue(today: LocalDate, due: (DeadlineKind) -> LocalDate?) -> Bool {
        Self.overdueRules.contains { rule in
            rule.states.contains(self) && (due(rule.deadline).map { today > $0 } ?? false)
        }
    }

    /// Whether the rule watching `deadline` makes a case in this state overdue on `today`.
    public func isOverdue(on deadline: DeadlineKind, today: LocalDate, due: LocalDate?) -> Bool {
        Self.overdueRules.contains { rule in
            rule.deadline == deadline && rule.states.contains(self) && (due.map { today > $0 } ?? false)
        }
    }
}

/// The deadlines of a destination case an overdue rule watches.
public enum DestinationDeadlineKind: String, Hashable, Sendable, CaseIterable {
    /// The origin's 15 working days to answer the contact letter (form and funds).
    case originAnswer
    /// The destination's working days to complete once form and funds match.
    case completion
}

extension DestinationCaseState: CaseLifecycle {
    public typealias DeadlineKind = DestinationDeadlineKind
    public static let terminalStates: [DestinationCaseState] = [.rejected, .temporaryAccountOpened, .letterReturned, .completed]

    /// Overdue at the destination: the origin has not answered in time (the letter is out, or only
    /// one of form and funds arrived), or form and funds are in and completion is late.
    public static let overdueRules: [OverdueRule<DestinationCaseState>] = [
        OverdueRule(states: [.contactLetterSent, .awaitingForm, .awaitingFunds], deadline: .originAnswer),
        OverdueRule(states: [.matched, .discrepancy], deadline: .completion),
    ]
}

/// The deadline of an origin case an overdue rule watches.
public enum OriginDeadlineKind: String, Hashable, Sendable, CaseIterable {
    /// The origin's 15 working days to answer the contact letter.
    case answer
}

extension OriginCaseState: CaseLifecycle {
    public typealias DeadlineKind = OriginDeadlineKind
    public static let terminalStates: [OriginCaseState] = [.returned, .closed]

    /// Overdue at the origin: the letter is still unanswered after its deadline.
    public static let overdueRules: [OverdueRule<OriginCaseState>] = [
        OverdueRule(states: [.letterReceived], deadline: .answer)
    ]
}
