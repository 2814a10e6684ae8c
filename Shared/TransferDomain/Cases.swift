/// The time limits of the process, in working days after the trigger day (DOMAIN.md).
public enum TimeLimits {
    /// Step 2: the destination reviews within 15 working days of accepting the application.
    public static let review = 15
    /// Step 3: the origin answers within 15 working days of receiving the letter.
    public static let originAnswer = 15
    /// Step 4: the destination completes within 15 working days of the match.
    public static let completion = 15
    /// Decided here: an application naming a payment certificate the destination has not
    /// received yet waits at most 5 working days for the origin's certificate event before it is
    /// reviewed (and rejected with D04 if the certificate is still unknown). The wait counts
    /// inside the 15-day review limit.
    public static let certificateWait = 5
}

/// What applying an event to a case did.
public enum TransitionOutcome: Hashable, Sendable {
    case applied
    /// The same event again (a redelivery): nothing changed.
    case duplicate
}

/// An event that the case's current state does not allow.
public struct IllegalTransition: Error, Hashable, Sendable, CustomStringConvertible {
    public var state: String
    public var event: String
    public var description: String { "\(event) is not allowed in state \(state)" }
}

/// A line of a case's history.
public struct TimelineEntry: Hashable, Sendable, Codable {
    public var on: LocalDate
    public var what: String
}

// MARK: - Destination

public enum DestinationCaseState: String, Codable, Sendable, Hashable, CaseIterable {
    case submitted
    /// The application names a certificate whose event has not arrived yet: held until it does
    /// or the wait ends, then reviewed.
    case awaitingCertificate = "awaiting-certificate"
    case rejected
    case temporaryAccountOpened = "temporary-account-opened"
    case contactLetterSent = "contact-letter-sent"
    case letterReturned = "letter-returned"
    /// The form is in; no funds yet.
    case awaitingFunds = "awaiting-funds"
    /// Funds are in; no form yet.
    case awaitingForm = "awaiting-form"
    /// Form and funds are in and differ.
    case discrepancy
    case matched
    case completed
}

public enum DestinationCaseEvent: Hashable, Sendable, Codable {
    /// The review waits for the certificate the applicant named, at most until `until`.
    case heldForCertificate(until: LocalDate, on: LocalDate)
    case reviewed(DestinationReview.Outcome, letter: ContactLetterNumber?, on: LocalDate)
    case letterReturned([ReturnCode], on: LocalDate)
    case formReceived(InformationForm, on: LocalDate)
    case fundsReceived(RemittanceID, Money, on: LocalDate)
    /// The destination refunded an excess to the origin.
    case excessRefunded(RemittanceID, Money, on: LocalDate)
    case completed(on: LocalDate)

    public var name: String {
        switch self {
        case .heldForCertificate: return "certificate wait"
        case .reviewed: return "review"
        case .letterReturned: return "letter returned"
        case .formReceived: return "information form"
        case .fundsReceived: return "funds"
        case .excessRefunded: return "excess refund"
        case .completed: return "completion"
        }
    }
}

/// A transfer case as the destination tracks it: form and funds may arrive in either order;
/// a remittance id posts once; the case completes only when received funds equal ⑥ exactly.
public struct DestinationCase: Hashable, Sendable {
    public let id: CaseID
    public let submittedOn: LocalDate
    public private(set) var state: DestinationCaseState = .submitted
    public private(set) var contactLetter: ContactLetterNumber?
    public private(set) var reviewCodes: [ReviewCode] = []
    public private(set) var returnCodes: [ReturnCode] = []
    public private(set) var form: InformationForm?
    /// Remittances in the order they posted.
    public private(set) var remittances: [(id: RemittanceID, amount: Money)] = []
    public private(set) var refunds: [(id: RemittanceID, amount: Money)] = []
    public private(set) var letterSentOn: LocalDate?
    public private(set) var matchedOn: LocalDate?
    /// While awaiting the certificate: when the wait ends.
    public private(set) var certificateWaitEnds: LocalDate?
    public private(set) var timeline: [TimelineEntry] = []

    public init(id: CaseID, submittedOn: LocalDate) {
        self.id = id
        self.submittedOn = submittedOn
        timeline = [TimelineEntry(on: submittedOn, what: "application submitted")]
    }

    /// ⑥ from the form, once it is in.
    public var expected: Money? { form?.totalRemitted }
    /// Funds received less excess refunded.
    public private(set) var received: Money = .zero

    /// Applies `event`.
    /// - Returns: ``TransitionOutcome/duplicate`` when the event was already applied.
    /// - Throws: ``IllegalTransition`` when the state does not allow it; ``DomainError`` when an
    ///   amount would leave the range money can hold.
    @discardableResult
    public mutating func apply(_ event: DestinationCaseEvent) throws -> TransitionOutcome {
        switch event {
        case .heldForCertificate(let until, let on):
            if state == .awaitingCertificate && certificateWaitEnds == until { return .duplicate }
            guard state == .submitted else { throw illegal(event) }
            certificateWaitEnds = until
            state = .awaitingCertificate
            log(on, "review waits for the payment certificate until \(until)")
        case .reviewed(let outcome, let letter, let on):
            if state != .submitted && state != .awaitingCertificate {
                if isSameReview(outcome, letter) { return .duplicate }
                throw illegal(event)
            }
            switch outcome {
            case .contactLetter:
                guard let letter else { throw illegal(event) }
                contactLetter = letter
                letterSentOn = on
                state = .contactLetterSent
                log(on, "contact letter \(letter) sent")
            case .temporaryAccount:
                reviewCodes = [.temporaryAccount]
                state = .temporaryAccountOpened
                log(on, "temporary account opened (D02)")
            case .rejected(let codes):
                reviewCodes = codes
                state = .rejected
                log(on, "rejected: \(codes.map(\.rawValue).joined(separator: ","))")
            }
        case .letterReturned(let codes, let on):
            if state == .letterReturned && codes == returnCodes { return .duplicate }
            guard state == .contactLetterSent else { throw illegal(event) }
            returnCodes = codes
            state = .letterReturned
            log(on, "letter returned: \(codes.map(\.rawValue).joined(separator: ","))")
        case .formReceived(let newForm, let on):
            if let form {
                if form == newForm { return .duplicate }
                throw illegal(event)
            }
            guard [.contactLetterSent, .awaitingForm].contains(state) else { throw illegal(event) }
            form = newForm
            log(on, "information form received: ⑥ \(newForm.totalRemitted)")
            reconcile(on)
        case .fundsReceived(let remittance, let amount, let on):
            if remittances.contains(where: { $0.id == remittance }) { return .duplicate }
            guard [.contactLetterSent, .awaitingFunds, .awaitingForm, .discrepancy].contains(state) else { throw illegal(event) }
            received = try received + amount
            remittances.append((remittance, amount))
            log(on, "funds \(remittance) received: \(amount)")
            reconcile(on)
        case .excessRefunded(let refund, let amount, let on):
            if refunds.contains(where: { $0.id == refund }) { return .duplicate }
            guard state == .discrepancy, let expected, try received - amount >= expected else { throw illegal(event) }
            received = try received - amount
            refunds.append((refund, amount))
            log(on, "excess \(amount) refunded as \(refund)")
            reconcile(on)
        case .completed(let on):
            if state == .completed { return .duplicate }
            guard state == .matched else { throw illegal(event) }
            state = .completed
            log(on, "completed")
        }
        return .applied
    }

    private mutating func reconcile(_ on: LocalDate) {
        guard let expected else {
            state = .awaitingForm
            return
        }
        guard !remittances.isEmpty else {
            state = .awaitingFunds
            return
        }
        if received == expected {
            state = .matched
            matchedOn = on
            log(on, "form and funds match")
        } else {
            state = .discrepancy
            log(on, "discrepancy: expected \(expected), received \(received)")
        }
    }

    private func isSameReview(_ outcome: DestinationReview.Outcome, _ letter: ContactLetterNumber?) -> Bool {
        switch outcome {
        case .contactLetter: return letter != nil && letter == contactLetter
        case .temporaryAccount: return state == .temporaryAccountOpened
        case .rejected(let codes): return state == .rejected && codes == reviewCodes
        }
    }

    private mutating func log(_ on: LocalDate, _ what: String) {
        timeline.append(TimelineEntry(on: on, what: what))
    }

    private func illegal(_ event: DestinationCaseEvent) -> IllegalTransition {
        IllegalTransition(state: state.rawValue, event: event.name)
    }

    /// The deadlines of each step that has started, by the working-day calendar.
    public func deadlines(calendar: WorkingDayCalendar = .standard) -> [String: Deadline] {
        var result = ["review": calendar.adding(workingDays: TimeLimits.review, after: submittedOn)]
        if state == .awaitingCertificate, let certificateWaitEnds {
            result["certificateWait"] = Deadline(due: certificateWaitEnds, provisional: false)
        }
        if let letterSentOn { result["originAnswer"] = calendar.adding(workingDays: TimeLimits.originAnswer, after: letterSentOn) }
        if let matchedOn { result["completion"] = calendar.adding(workingDays: TimeLimits.completion, after: matchedOn) }
        return result
    }

    /// Rebuilds a case from the events applied to it, in order.
    public static func replay(id: CaseID, submittedOn: LocalDate, events: [DestinationCaseEvent]) throws -> DestinationCase {
        var result = DestinationCase(id: id, submittedOn: submittedOn)
        for event in events { try result.apply(event) }
        return result
    }

    public static func == (lhs: DestinationCase, rhs: DestinationCase) -> Bool {
        lhs.id == rhs.id && lhs.state == rhs.state && lhs.contactLetter == rhs.contactLetter && lhs.form == rhs.form
            && lhs.received == rhs.received && lhs.reviewCodes == rhs.reviewCodes && lhs.returnCodes == rhs.returnCodes
            && Set(lhs.remittances.map(\.id)) == Set(rhs.remittances.map(\.id))
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(id)
        hasher.combine(state)
    }
}

// MARK: - Origin

public enum OriginCaseState: String, Codable, Sendable, Hashable, CaseIterable {
    case letterReceived = "letter-received"
    case returned
    case formIssued = "form-issued"
    case fundsRemitted = "funds-remitted"
    /// Form issued, funds remitted, relationship terminated: waiting for the destination.
    case terminated
    /// The destination reported a discrepancy not yet settled.
    case discrepancy
    case closed
}

public enum OriginCaseEvent: Hashable, Sendable, Codable {
    case returned([ReturnCode], on: LocalDate)
    case formIssued(InformationForm, on: LocalDate)
    case fundsRemitted(RemittanceID, Money, on: LocalDate)
    case relationshipTerminated(on: LocalDate)
    /// The destination says it received `received` against `expected`.
    case discrepancyRaised(expected: Money, received: Money, on: LocalDate)
    case supplementaryRemitted(RemittanceID, Money, on: LocalDate)
    case excessRefunded(RemittanceID, Money, on: LocalDate)
    case completed(on: LocalDate)
    /// A destination's event (`event` is its `ce_id`) this office refused against its own books
    /// and dead-lettered with `reason`: the case needs a person to look at it. Changes no state.
    case claimRefused(event: String, reason: String, on: LocalDate)

    public var name: String {
        switch self {
        case .claimRefused: return "refused claim"
        case .returned: return "return"
        case .formIssued: return "information form"
        case .fundsRemitted: return "remittance"
        case .relationshipTerminated: return "termination"
        case .discrepancyRaised: return "discrepancy"
        case .supplementaryRemitted: return "supplementary remittance"
        case .excessRefunded: return "excess refund"
        case .completed: return "completion"
        }
    }
}

/// A transfer case as the origin tracks it: one contact letter, one outcome (form + remittance +
/// termination, or a return); a discrepancy is settled by a supplementary remittance or refund.
public struct OriginCase: Hashable, Sendable {
    public let id: CaseID
    public let contactLetter: ContactLetterNumber
    public let receivedOn: LocalDate
    public private(set) var state: OriginCaseState = .letterReceived
    public private(set) var returnCodes: [ReturnCode] = []
    public private(set) var form: InformationForm?
    public private(set) var remittances: [(id: RemittanceID, amount: Money)] = []
    public private(set) var refundsReceived: [(id: RemittanceID, amount: Money)] = []
    public private(set) var outstandingDiscrepancy: Money?
    /// Claims of the destination this office refused (event id, reason), oldest first.
    public private(set) var refusedClaims: [(event: String, reason: String)] = []
    public private(set) var timeline: [TimelineEntry] = []

    /// A claim about this case was refused and waits for staff.
    public var needsReview: Bool { !refusedClaims.isEmpty }

    public init(id: CaseID, contactLetter: ContactLetterNumber, receivedOn: LocalDate) {
        self.id = id
        self.contactLetter = contactLetter
        self.receivedOn = receivedOn
        timeline = [TimelineEntry(on: receivedOn, what: "contact letter \(contactLetter) received")]
    }

    /// What the origin remitted, less refunds it received.
    public private(set) var remitted: Money = .zero

    /// Applies `event`.
    /// - Throws: ``IllegalTransition`` when the state does not allow it; ``DomainError`` when an
    ///   amount would leave the range money can hold.
    @discardableResult
    public mutating func apply(_ event: OriginCaseEvent) throws -> TransitionOutcome {
        switch event {
        case .returned(let codes, let on):
            if state == .returned && codes == returnCodes { return .duplicate }
            guard state == .letterReceived else { throw illegal(event) }
            returnCodes = codes
            state = .returned
            log(on, "letter returned: \(codes.map(\.rawValue).joined(separator: ","))")
        case .formIssued(let newForm, let on):
            if let form {
                if form == newForm { return .duplicate }
                throw illegal(event)
            }
            guard state == .letterReceived else { throw illegal(event) }
            form = newForm
            state = .formIssued
            log(on, "information form issued: ⑥ \(newForm.totalRemitted)")
        case .fundsRemitted(let remittance, let amount, let on):
            if remittances.contains(where: { $0.id == remittance }) { return .duplicate }
            guard state == .formIssued else { throw illegal(event) }
            remitted = try remitted + amount
            remittances.append((remittance, amount))
            state = .fundsRemitted
            log(on, "remitted \(amount) as \(remittance)")
        case .relationshipTerminated(let on):
            if [.terminated, .discrepancy, .closed].contains(state) { return .duplicate }
            guard state == .fundsRemitted else { throw illegal(event) }
            state = .terminated
            log(on, "relationship terminated")
        case .discrepancyRaised(let expected, let received, let on):
            guard state == .terminated || state == .discrepancy else { throw illegal(event) }
            let difference = try expected - received
            if state == .discrepancy && outstandingDiscrepancy == difference { return .duplicate }
            outstandingDiscrepancy = difference
            state = .discrepancy
            log(on, "discrepancy: destination expected \(expected), received \(received)")
        case .supplementaryRemitted(let remittance, let amount, let on):
            if remittances.contains(where: { $0.id == remittance }) { return .duplicate }
            guard state == .discrepancy, let shortfall = outstandingDiscrepancy, shortfall > .zero else { throw illegal(event) }
            remitted = try remitted + amount
            remittances.append((remittance, amount))
            outstandingDiscrepancy = nil
            state = .terminated
            log(on, "supplementary remittance \(amount) as \(remittance)")
        case .excessRefunded(let refund, let amount, let on):
            if refundsReceived.contains(where: { $0.id == refund }) { return .duplicate }
            guard state == .discrepancy || state == .terminated else { throw illegal(event) }
            remitted = try remitted - amount
            refundsReceived.append((refund, amount))
            outstandingDiscrepancy = nil
            state = .terminated
            log(on, "excess \(amount) refunded by the destination as \(refund)")
        case .completed(let on):
            if state == .closed { return .duplicate }
            guard state == .terminated || state == .discrepancy else { throw illegal(event) }
            state = .closed
            log(on, "case closed: transfer completed at the destination")
        case .claimRefused(let eventID, let reason, let on):
            if refusedClaims.contains(where: { $0.event == eventID }) { return .duplicate }
            refusedClaims.append((eventID, reason))
            log(on, "claim refused (\(reason)): needs review")
        }
        return .applied
    }

    /// The origin's deadline to answer the letter.
    public func deadline(calendar: WorkingDayCalendar = .standard) -> Deadline {
        calendar.adding(workingDays: TimeLimits.originAnswer, after: receivedOn)
    }

    private mutating func log(_ on: LocalDate, _ what: String) {
        timeline.append(TimelineEntry(on: on, what: what))
    }

    private func illegal(_ event: OriginCaseEvent) -> IllegalTransition {
        IllegalTransition(state: state.rawValue, event: event.name)
    }

    /// Rebuilds a case from the events applied to it, in order.
    public static func replay(id: CaseID, contactLetter: ContactLetterNumber, receivedOn: LocalDate, events: [OriginCaseEvent]) throws -> OriginCase {
        var result = OriginCase(id: id, contactLetter: contactLetter, receivedOn: receivedOn)
        for event in events { try result.apply(event) }
        return result
    }

    public static func == (lhs: OriginCase, rhs: OriginCase) -> Bool {
        lhs.id == rhs.id && lhs.state == rhs.state && lhs.form == rhs.form && lhs.remitted == rhs.remitted
            && lhs.returnCodes == rhs.returnCodes
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(id)
        hasher.combine(state)
    }
}
