import ArgumentParser
import Foundation
import OfficeAuth

/// Mints the bearer tokens the office APIs take, and makes the key pair that signs them.
@main
struct OfficeToken: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "office-token",
        abstract: "Make the issuer's key pair and mint API tokens for the offices.",
        discussion: """
            The offices verify tokens with the issuer's PUBLIC key (AUTH_PUBLIC_KEYS); only the holder of
            the private key can mint. Keep the private key out of the repository and off the offices.

              office-token keygen --private-key issuer.pem --public-key issuer.pub.pem
              office-token mint --private-key issuer.pem --office 510100 --role clerk --subject zhang.min --ttl 8h
              curl -H "Authorization: Bearer $(office-token mint ...)" http://127.0.0.1:8082/v1/cases

            To rotate: make a new pair, list both public keys in AUTH_PUBLIC_KEYS, mint with the new
            private key, and drop the old public key once its tokens have expired.
            """,
        subcommands: [Keygen.self, Mint.self])

    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a new Ed25519 key pair (the private key readable by its owner only).")

        @Option(help: "Where to write the private key (PEM).") var privateKey: String
        @Option(help: "Where to write the public key (PEM), for the offices' AUTH_PUBLIC_KEYS.") var publicKey: String
        @Flag(help: "Replace existing files.") var force = false

        func run() throws {
            for path in [privateKey, publicKey] where FileManager.default.fileExists(atPath: path) && !force {
                throw ValidationError("\(path) exists; use --force to replace it")
            }
            let id = try TokenKeys.generate(privateKeyPath: privateKey, publicKeyPath: publicKey)
            print("key id \(id): private key \(privateKey), public key \(publicKey)")
        }
    }

    struct Mint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a token for one or more offices and roles.")

        @Option(help: "The issuer's private key (PEM).") var privateKey: String
        @Option(name: .customLong("office"), help: "Office code the token is good for (repeat for several).") var offices: [String]
        @Option(name: .customLong("role"), help: "clerk, viewer, auditor or operator (repeat for several).") var roles: [String]
        @Option(help: "Who holds the token (goes into `sub` and the offices' logs).") var subject: String
        @Option(help: "Lifetime: e.g. 30m, 8h, 2d.") var ttl = "8h"
        @Option(help: "The issuer name the offices trust (AUTH_ISSUER).") var issuer = "pension-transfer"

        func validate() throws {
            guard !offices.isEmpty else { throw ValidationError("give at least one --office") }
            for office in offices where office.count != 6 || !office.allSatisfy(\.isNumber) {
                throw ValidationError("--office \(office) is not a 6-digit office code")
            }
            guard !roles.isEmpty else { throw ValidationError("give at least one --role (clerk, viewer, auditor, operator)") }
            for role in roles where AccessRole(rawValue: role) == nil {
                throw ValidationError("--role \(role) is not clerk, viewer or auditor")
            }
            guard Self.lifetime(ttl) != nil else { throw ValidationError("--ttl \(ttl) is not like 30m, 8h or 2d") }
        }

        static func lifetime(_ text: String) -> Duration? {
            guard let unit = text.last, let number = Int(text.dropLast()), number > 0 else { return nil }
            switch unit {
            case "m": return .seconds(number * 60)
            case "h": return .seconds(number * 3600)
            case "d": return .seconds(number * 86_400)
            default: return nil
            }
        }

        func run() async throws {
            let issuer = try await TokenIssuer(privateKeyPath: privateKey, issuer: issuer)
            let token = try await issuer.mint(
                subject: subject, offices: offices, roles: roles.compactMap(AccessRole.init(rawValue:)), lifetime: Self.lifetime(ttl)!)
            print(token)
        }
    }
}
