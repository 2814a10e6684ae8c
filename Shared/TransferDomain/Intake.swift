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
///   not to the destination's.
public enum DestinationIntake {
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
            guard refund.payerAccount == directory[caseDestination]?.account, refund.payeeAccount == directory[origin]?.account else {
                throw DomainError("refund \(refund.refundId) is not paid from \(caseDestination)'s account to \(origin)'s", code: "wrong-account")
            }
        }
    }

    /// Whether the letter's destination account is the one the directory has for its destination.
    public static func accountMatchesDirectory(_ letter: ContactLetterIssued, directory: OfficeDirectory = .standard) -> Bool {
        directory[letter.destination.code]?.account == letter.destinationAccount
    }
}
