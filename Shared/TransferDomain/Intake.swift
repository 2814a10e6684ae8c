/// The checks a destination office makes on an origin's event for one of its cases before
/// applying it. `transfer-audit` applies the same checks, so it counts exactly what the offices
/// accept.
///
/// A failed check is a ``DomainError`` whose ``DomainError/code`` is the dead-letter reason:
/// - `wrong-sender`: the event comes from another office than the case's origin;
/// - `contact-letter-mismatch`: it names another contact letter than the case's;
/// - `form-arithmetic`: an information form whose lines do not add up (④ ≠ ①+②+③, ⑥ ≠ ④+⑤, a
///   negative line, or a ledger that does not close at ② + ③);
/// - `wrong-account`: a remittance not paid from the origin's account in the office directory, or
///   not to the destination's;
/// - `not-issuer`: a remittance id or payment certificate numbered by another office than the
///   sender, or a certificate naming another origin than the sender.
public enum DestinationIntake {
    /// The checks on a payment certificate (which opens no case): the sender must be the origin it
    /// names and the office its number belongs to. A certificate with a number the destination
    /// already holds for other content is refused by the office against its own records
    /// (`conflicting-document`); the audit does the same against the certificates it has seen.
    public static func checkCertificate(_ certificate: PaymentCertificateIssued, source: OfficeCode) throws(DomainError) {
        guard certificate.origin.code == source, certificate.certificateNo.issuer == source else {
            throw DomainError(
                "payment certificate \(certificate.certificateNo) names origin \(certificate.origin.code) and is numbered by \(certificate.certificateNo.issuer?.rawValue ?? "no office"), but comes from \(source)",
                code: "not-issuer")
        }
    }

    /// Whether two certificate events with the same number say the same thing (a redelivery under a
    /// new event id, taken as a no-op) rather than two different documents under one number.
    public static func sameCertificate(_ a: PaymentCertificateIssued, citizen: CitizenID, origin: OfficeCode, issuedOn: LocalDate) -> Bool {
        a.person.citizenId == citizen && a.origin.code == origin && a.issuedOn == issuedOn
    }

    /// - Parameters:
    ///   - source: the office that wrote the event (`ce_source`).
    ///   - caseOrigin: the origin office the case's contact letter went to.
    ///   - caseLetter: the case's contact-letter number, once issued.
    ///   - destination: the destination office (this office).
    ///   - directory: the office directory the accounts are checked against.
    public static func check(
        _ event: TransferEvent, source: OfficeCode, caseOrigin: OfficeCode, caseLetter: ContactLetterNumber?,
        destination: OfficeCode, directory: OfficeDirectory = .standard
    ) throws(DomainError) {
        guard source == caseOrigin else {
            throw DomainError(
                "\(event.type.ceType) for case \(event.payload.subject) comes from office \(source), but the case's origin is \(caseOrigin)",
                code: "wrong-sender")
        }
        let letter: ContactLetterNumber?
        switch event {
        case .infoFormIssued(let issued):
            letter = issued.contactLetterNo
            let problems = issued.form.arithmeticProblems
            guard problems.isEmpty else {
                throw DomainError("the information form does not add up: \(problems.joined(separator: "; "))", code: "form-arithmetic")
            }
        case .fundsRemitted(let funds):
            letter = funds.contactLetterNo
            // A remittance id is the paying office's bank reference: only the case's origin issues it.
            guard funds.remittanceId.issuer == caseOrigin else {
                throw DomainError(
                    "remittance \(funds.remittanceId) is numbered by \(funds.remittanceId.issuer?.rawValue ?? "no office"), not by the case's origin \(caseOrigin)",
                    code: "not-issuer")
            }
            guard funds.payerAccount == directory[caseOrigin]?.account, funds.payeeAccount == directory[destination]?.account else {
                throw DomainError(
                    "remittance \(funds.remittanceId) is not paid from \(caseOrigin)'s account to \(destination)'s as the office directory has them",
                    code: "wrong-account")
            }
        case .contactLetterReturned(let returned): letter = returned.contactLetterNo
        case .originRelationshipTerminated(let terminated): letter = terminated.contactLetterNo
        default: letter = nil
        }
        if let letter, letter != caseLetter {
            throw DomainError(
                "\(event.type.ceType) names contact letter \(letter), but the case's letter is \(caseLetter?.rawValue ?? "not issued")",
                code: "contact-letter-mismatch")
        }
    }
}

/// The checks an origin office makes on a destination's event before applying it (until events
/// are signed, the office directory is what an office can check a sender against).
///
/// - `wrong-sender`: a contact letter whose `ce_source` is not the destination office it names,
///   or a later event of a case from another office than the case's destination;
/// - `wrong-office`: a contact letter naming another origin office than this one;
/// - `wrong-account`: an excess refund not paid from the destination's account to this office's.
///
/// A contact letter whose destination bank account is not the directory's is not refused here:
/// the origin returns it with O07 (bank details invalid), as the regulations have it.
public enum OriginIntake {
    /// - Parameters:
    ///   - source: the office that wrote the event (`ce_source`).
    ///   - origin: this office.
    ///   - caseDestination: the destination of the case the event names (`nil` for a contact letter,
    ///     which opens the case).
    public static func check(
        _ event: TransferEvent, source: OfficeCode, origin: OfficeCode, caseDestination: OfficeCode?, directory: OfficeDirectory = .standard
    ) throws(DomainError) {
        if case .relationshipReceived(let received) = event {
            // Only this office's own destination role hands a relationship to it.
            guard source == origin else {
                throw DomainError("relationship-received for case \(received.caseId) comes from \(source); only \(origin) itself may send it", code: "wrong-sender")
            }
            return
        }
        if case .contactLetterIssued(let letter) = event {
            guard letter.destination.code == source else {
                throw DomainError("contact letter \(letter.contactLetterNo) names destination \(letter.destination.code) but comes from \(source)", code: "wrong-sender")
            }
            guard letter.origin.code == origin, letter.contactLetterNo.issuer == source else {
                throw DomainError(
                    "contact letter \(letter.contactLetterNo) names origin \(letter.origin.code) and issuer \(letter.contactLetterNo.issuer); this is \(origin), the sender \(source)",
                    code: "wrong-office")
            }
            return
        }
        if let caseDestination, source != caseDestination {
            throw DomainError(
                "\(event.type.ceType) for case \(event.payload.subject) comes from \(source), but the case's destination is \(caseDestination)",
                code: "wrong-sender")
        }
        if case .excessRefunded(let refund) = event, let caseDestination {
            guard refund.refundId.issuer == caseDestination else {
                throw DomainError(
                    "refund \(refund.refundId) is numbered by \(refund.refundId.issuer?.rawValue ?? "no office"), not by the case's destination \(caseDestination)",
                    code: "not-issuer")
            }
            guard refund.payerAccount == directory[caseDestination]?.account, refund.payeeAccount == directory[origin]?.account else {
                throw DomainError("refund \(refund.refundId) is not paid from \(caseDestination)'s account to \(origin)'s", code: "wrong-account")
            }
        }
    }

    /// The checks of what a destination says about money against the origin's own books: its
    /// information form (⑥) and what it has remitted for the case, net of refunds it received. A
    /// signature proves who spoke; only these records say what the destination may claim.
    ///
    /// - `contact-letter-mismatch`: the event names another contact letter than the case's;
    /// - `claim-mismatch`: a discrepancy whose `expected` is not this office's ⑥, whose `received`
    ///   is not what this office remitted, or that names no difference; a completion whose
    ///   `receivedTotal` is not what this office remitted, or before it remitted ⑥ in full;
    /// - `refund-not-owed`: a refund while no discrepancy names an excess, or above the excess
    ///   this office remitted beyond ⑥.
    ///
    /// A discrepancy that passes asks for exactly ⑥ minus what was remitted, so the office never
    /// pays more than its own form says is still owed, and a second claim for a settled shortfall
    /// (the old `received`) is refused.
    /// - Parameter originCase: the case as this office has it before the event.
    public static func checkClaim(_ event: TransferEvent, against originCase: OriginCase) throws(DomainError) {
        let letter: ContactLetterNumber
        switch event {
        case .reconciliationDiscrepancyRaised(let raised): letter = raised.contactLetterNo
        case .excessRefunded(let refund): letter = refund.contactLetterNo
        case .transferCompleted(let completed): letter = completed.contactLetterNo
        default: return
        }
        guard letter == originCase.contactLetter else {
            throw DomainError(
                "\(event.type.ceType) names contact letter \(letter), but the case's letter is \(originCase.contactLetter)", code: "contact-letter-mismatch")
        }
        let remitted = originCase.remitted
        guard let total = originCase.form?.totalRemitted else {
            throw DomainError("\(event.type.ceType) for case \(originCase.id), for which this office issued no information form", code: "claim-mismatch")
        }
        switch event {
        case .reconciliationDiscrepancyRaised(let raised):
            guard raised.expected == total, raised.received == remitted, raised.expected != raised.received else {
                throw DomainError(
                    "discrepancy claims expected \(raised.expected), received \(raised.received); this office's form says ⑥ \(total) and it has remitted \(remitted)",
                    code: "claim-mismatch")
            }
        case .excessRefunded(let refund):
            let excess = (try? remitted - total) ?? .zero
            guard originCase.state == .discrepancy, let outstanding = originCase.outstandingDiscrepancy, outstanding < .zero,
                  refund.amount > .zero, refund.amount <= excess
            else {
                throw DomainError(
                    "refund \(refund.refundId) of \(refund.amount): this office remitted \(remitted) against ⑥ \(total) and no discrepancy asks for a refund of it",
                    code: "refund-not-owed")
            }
        case .transferCompleted(let completed):
            guard remitted == total, completed.receivedTotal == remitted else {
                throw DomainError(
                    "completion says \(completed.receivedTotal) received; this office has remitted \(remitted) against ⑥ \(total)",
                    code: "claim-mismatch")
            }
        default: return
        }
    }

    /// The destination an event of a case is checked against (``check(_:source:origin:caseDestination:directory:)``):
    /// the one a rejection or temporary-account notice names (they concern a case the origin never
    /// opened), the case's own (`stored`) for later events, none for a contact letter (it opens
    /// the case and is checked against the destination it names).
    public static func caseDestination(of event: TransferEvent, stored: @autoclosure () throws -> OfficeCode?) rethrows -> OfficeCode? {
        switch event {
        case .contactLetterIssued: return nil
        case .applicationRejected(let rejected): return rejected.destination.code
        case .temporaryAccountOpened(let opened): return opened.destination.code
        default: return try stored()
        }
    }

    /// Whether the letter's destination account is the one the directory has for its destination.
    public static func accountMatchesDirectory(_ letter: ContactLetterIssued, directory: OfficeDirectory = .standard) -> Bool {
        directory[letter.destination.code]?.account == letter.destinationAccount
    }
}
