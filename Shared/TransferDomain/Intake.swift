/// The checks a destination office makes on an origin's event for one of its cases before
/// applying it. `transfer-audit` applies the same checks, so it counts exactly what the offices
/// accept.
///
/// A failed check is a ``DomainError`` whose ``DomainError/code`` is the dead-letter reason:
/// - `wrong-sender`: the event comes from another office than the case's origin;
/// - `contact-letter-mismatch`: it names another contact letter than the case's;
/// - `form-arithmetic`: an information form whose lines do not add up (④ ≠ ①+②+③, ⑥ ≠ ④+⑤, a
///   negative line, or a ledger that does not close at ② + ③).
public enum DestinationIntake {
    /// - Parameters:
    ///   - source: the office that wrote the event (`ce_source`).
    ///   - caseOrigin: the origin office the case's contact letter went to.
    ///   - caseLetter: the case's contact-letter number, once issued.
    public static func check(
        _ event: TransferEvent, source: OfficeCode, caseOrigin: OfficeCode, caseLetter: ContactLetterNumber?
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
        case .fundsRemitted(let funds): letter = funds.contactLetterNo
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
