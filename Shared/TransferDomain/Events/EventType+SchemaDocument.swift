extension EventType {
    /// The name of this type's schema file in `Shared/TransferDomain/Schemas/`.
    public var schemaFileName: String { "\(rawValue).v\(Self.majorVersion).schema.json" }

    /// This type's JSON Schema document, generated from the payload's ``Schema``.
    public var schemaDocument: JSONValue {
        guard case .object(var document) = (TransferEvent.schemas[self] ?? .boolean).jsonSchema else { return .null }
        document["$schema"] = .string("https://json-schema.org/draft/2020-12/schema")
        document["$id"] = .string(ceType)
        document["title"] = .string("\(ceType): the data of a \(rawValue) event (CloudEvents binary mode, JSON)")
        document["$comment"] = .string(
            "Event contract v\(Self.contractVersion): this data schema is unchanged since v1; a record is accepted only with a valid "
                + "sender signature (headers ce_signature and ce_signaturekey over the canonical form in docs/event-contract.md), written to "
                + "the inbox of the recipient office's reading role (<prefix><code>.origin or .destination).")
        return .object(document)
    }
}
