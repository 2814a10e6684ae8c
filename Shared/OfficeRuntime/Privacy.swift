import Logging

/// Keeps full citizen ID numbers out of everything an office writes for operators: logs at every
/// level, dead-letter details, error bodies.
///
/// Anything shaped like an ID (17 digits and a digit or `X`, not part of a longer number) is
/// masked to its first 6 and last 4 characters, as ``TransferDomain/CitizenID/masked`` does.
public enum PrivacyMask {
    public static func mask(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        guard scalars.count >= 18 else { return text }
        func isDigit(_ index: Int) -> Bool { index >= 0 && index < scalars.count && ("0"..."9").contains(scalars[index]) }
        var result = String.UnicodeScalarView()
        var index = 0
        var changed = false
        while index < scalars.count {
            if index + 18 <= scalars.count, !isDigit(index - 1), (0..<17).allSatisfy({ isDigit(index + $0) }),
               isDigit(index + 17) || scalars[index + 17] == "X" || scalars[index + 17] == "x", !isDigit(index + 18) {
                result.append(contentsOf: scalars[index..<index + 6])
                result.append(contentsOf: "********".unicodeScalars)
                result.append(contentsOf: scalars[index + 14..<index + 18])
                index += 18
                changed = true
            } else {
                result.append(scalars[index])
                index += 1
            }
        }
        return changed ? String(result) : text
    }

    static func mask(_ value: Logger.MetadataValue) -> Logger.MetadataValue {
        switch value {
        case .string(let text): return .string(mask(text))
        case .stringConvertible(let convertible): return .string(mask(convertible.description))
        case .array(let values): return .array(values.map(mask))
        case .dictionary(let values): return .dictionary(values.mapValues(mask))
        }
    }
}

/// A log handler that masks citizen ID numbers in every message and metadata value before the
/// wrapped handler writes them (whoever logs: the offices, Hummingbird, librdkafka).
public struct MaskingLogHandler: LogHandler {
    public var wrapped: any LogHandler

    public init(_ wrapped: any LogHandler) {
        self.wrapped = wrapped
    }

    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue.mapValues(PrivacyMask.mask) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue.map(PrivacyMask.mask) }
    }

    public func log(event: LogEvent) {
        var masked = event
        masked.message = Logger.Message(stringLiteral: PrivacyMask.mask(event.message.description))
        var metadata = event.metadata?.mapValues(PrivacyMask.mask)
        if let error = event.error {
            // An attached error is written as masked text, never as the raw error.
            metadata = (metadata ?? [:]).merging(["error": .string(PrivacyMask.mask(String(describing: error)))]) { current, _ in current }
            masked.error = nil
        }
        masked.metadata = metadata
        wrapped.log(event: masked)
    }
}
