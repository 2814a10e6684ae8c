import Crypto
import Foundation
import OfficeAuth
import OfficeRuntime
import Testing
import TransferDomain

/// Tokens signed with the trusted issuer's real key but shaped to slip past a lenient check
/// (issue 21, items 10 and 16), and the settings around authentication (items 9 and 20).
@Suite("Token hardening")
struct TokenHardeningTests {
    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// A compact JWT with exactly this header and these claims, signed with the test issuer's
    /// genuine Ed25519 key.
    static func token(header: [String: Any], claims: [String: Any]) throws -> String {
        let pem = try String(contentsOfFile: Support.keys.privateKey, encoding: .utf8)
        let key = try Curve25519.Signing.PrivateKey(pemRepresentation: pem)
        let input = base64URL(try JSONSerialization.data(withJSONObject: header)) + "." + base64URL(try JSONSerialization.data(withJSONObject: claims))
        return input + "." + base64URL(try key.signature(for: Data(input.utf8)))
    }

    static func claims(iat: Date = Date(), lifetime: TimeInterval = 600, nbf: Date? = nil) -> [String: Any] {
        var claims: [String: Any] = [
            "iss": "pension-transfer", "sub": "mallory", "aud": Support.testOffices, "roles": ["clerk", "viewer", "auditor"],
            "iat": iat.timeIntervalSince1970, "exp": iat.addingTimeInterval(lifetime).timeIntervalSince1970,
        ]
        if let nbf { claims["nbf"] = nbf.timeIntervalSince1970 }
        return claims
    }

    func refusal(_ token: String, maxLifetime: Duration = .seconds(3600)) async throws -> String? {
        let verifier = try await TokenVerifier(publicKeyPaths: [Support.keys.publicKey], issuer: "pension-transfer", maxLifetime: maxLifetime)
        do throws(TokenError) {
            _ = try await verifier.verify(token, office: Support.testOffices[0])
            return nil
        } catch {
            return error.description
        }
    }

    @Test("only EdDSA with a known kid: alg HS256 over a genuine Ed25519 signature, no kid and an unknown kid are refused")
    func headerPinned() async throws {
        let verifier = try await TokenVerifier(publicKeyPaths: [Support.keys.publicKey], issuer: "pension-transfer")
        let kid = try #require(verifier.keyIDs.first)
        #expect(try await refusal(try Self.token(header: ["alg": "EdDSA", "typ": "JWT", "kid": kid], claims: Self.claims())) == nil, "the well-formed token passes")
        let hs256 = try await refusal(try Self.token(header: ["alg": "HS256", "typ": "JWT", "kid": kid], claims: Self.claims()))
        #expect(hs256?.contains("EdDSA only") == true)
        #expect(try await refusal(try Self.token(header: ["alg": "EdDSA", "typ": "JWT"], claims: Self.claims()))?.contains("no key id") == true)
        #expect(try await refusal(try Self.token(header: ["alg": "EdDSA", "typ": "JWT", "kid": "0123456789abcdef"], claims: Self.claims()))?.contains("not a key") == true)
        #expect(try await refusal("not.a-token")?.contains("not a compact JWT") == true)
        #expect(try await refusal("a.b.c")?.contains("cannot be read") == true)
    }

    @Test("nbf and iat in the future, and a lifetime above the cap, are refused; no library text in the reason")
    func claimsChecked() async throws {
        let verifier = try await TokenVerifier(publicKeyPaths: [Support.keys.publicKey], issuer: "pension-transfer")
        let header: [String: Any] = ["alg": "EdDSA", "typ": "JWT", "kid": try #require(verifier.keyIDs.first)]
        let notYet = try await refusal(try Self.token(header: header, claims: Self.claims(nbf: Date().addingTimeInterval(600))))
        #expect(notYet == "the token is not valid: the signature, expiry or not-before time does not verify", "constant words, not jwt-kit's")
        #expect(try await refusal(try Self.token(header: header, claims: Self.claims(iat: Date().addingTimeInterval(3600))))?.contains("future") == true)
        #expect(try await refusal(try Self.token(header: header, claims: Self.claims(lifetime: 7200)))?.contains("longer than") == true)
        #expect(try await refusal(try Self.token(header: header, claims: Self.claims(lifetime: 7200)), maxLifetime: .seconds(7200)) == nil)
    }

    @Test("auth.disabled is refused off loopback; a missing key file names its setting")
    func settings() async throws {
        #expect(throws: ValidationError.self) {
            try Support.configuration(.origin, code: "440300", extra: ["auth.disabled": "true", "http.host": "0.0.0.0"])
        }
        #expect(throws: Never.self) {
            try Support.configuration(.origin, code: "440300", extra: ["auth.disabled": "true", "http.host": "127.0.0.1"])
        }
        let missing = try Support.configuration(.origin, code: "440300", extra: ["auth.public.keys": "/nonexistent/issuer.pub.pem"])
        do {
            _ = try await missing.authentication()
            Issue.record("a missing key file was accepted")
        } catch let error as ValidationError {
            #expect(error.field == "auth.public.keys")
            #expect(error.reason.contains("/nonexistent/issuer.pub.pem"))
        }
    }
}
