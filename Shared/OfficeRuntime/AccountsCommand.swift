import Foundation
import Logging
import OfficeAuth
import OfficeStorage
import TransferDomain

#if canImport(Glibc)
import Glibc
#endif

/// `<office> accounts list|create|disable|enable|reset|roles`: the office's staff accounts for
/// its console. Passwords are read from standard input (never from a flag, which `ps` and shell
/// histories would keep); on a terminal without echo.
enum AccountsCommand {
    static let usage = """
        usage: <office> accounts list
               <office> accounts create <username> --display-name <name> --role <role> [--role <role> ...]
               <office> accounts reset <username>          (new password from standard input)
               <office> accounts disable|enable <username>
               <office> accounts roles <username> --role <role> [--role <role> ...]
        roles: clerk, viewer, auditor, operator. Plus the office's settings (e.g. --database-path, DATABASE_URL).
        """

    static func run<S: OfficeService>(_: S.Type, name: String, arguments: [String]) async -> Int32 {
        func fail(_ message: String, status: Int32 = 2) -> Int32 {
            FileHandle.standardError.write(Data("\(name) accounts: \(message)\n".utf8))
            return status
        }
        guard let verb = arguments.first, ["list", "create", "disable", "enable", "reset", "roles"].contains(verb) else {
            return fail(usage.replacingOccurrences(of: "<office>", with: name))
        }
        var rest = Array(arguments.dropFirst())
        var username: String?
        if verb != "list" {
            guard let first = rest.first, !first.hasPrefix("--") else { return fail("\(verb) needs a user name") }
            username = first
            rest.removeFirst()
        }
        // Options of the command itself; everything else is the office's settings.
        var roles: [AccessRole] = []
        var displayName: String?
        var settings: [String] = []
        var index = 0
        while index < rest.count {
            let argument = rest[index]
            if argument == "--role" || argument == "--display-name" {
                guard index + 1 < rest.count else { return fail("\(argument) needs a value") }
                let value = rest[index + 1]
                if argument == "--role" {
                    guard let role = AccessRole(rawValue: value) else {
                        return fail("unknown role \(value): one of \(AccessRole.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    roles.append(role)
                } else {
                    displayName = value
                }
                index += 2
            } else if argument == "--password" || argument.hasPrefix("--password=") {
                return fail("passwords are read from standard input, never from a flag")
            } else {
                settings.append(argument)
                index += 1
            }
        }
        do {
            if let username { try StaffAccount.checkUsername(username) }
            if verb == "create" {
                guard let displayName, !displayName.trimmingCharacters(in: .whitespaces).isEmpty else { return fail("create needs --display-name") }
                try FreeText.check(displayName, field: "display-name")
                guard !roles.isEmpty else { return fail("create needs at least one --role") }
            }
            if verb == "roles", roles.isEmpty { return fail("roles needs at least one --role") }
            var password: String?
            if verb == "create" || verb == "reset" {
                guard let typed = readPassword(prompt: "Password for \(username ?? ""): ") else { return fail("no password on standard input") }
                try StaffPasswords.check(typed)
                password = typed
            }
            let configuration = try await OfficeConfiguration.load(role: S.role, arguments: [name] + settings + ["--auth-disabled", "true"])
            let store = try await OfficeStores.open(S.self, configuration: configuration, logger: Logger(label: name))
            defer { Task { await store.close() } }
            let hash = password.map(StaffPasswords.hash)
            let now = Date()
            let newRoles = Set(roles)
            switch verb {
            case "list":
                let accounts = try await store.read { transaction in try transaction.staffAccounts() }
                if accounts.isEmpty { print("no staff accounts in \(store.location)") }
                for account in accounts {
                    let roles = account.roles.map(\.rawValue).sorted().joined(separator: ",")
                    print("\(account.username)\t\(account.displayName)\t\(roles)\(account.disabled ? "\tdisabled" : "")")
                }
            case "create":
                let account = StaffAccount(
                    username: username!, displayName: displayName!, roles: Set(roles), passwordHash: hash!, createdAt: now, updatedAt: now)
                let created = try await store.write { transaction -> Bool in
                    guard try transaction.staffAccount(account.username) == nil else { return false }
                    try transaction.saveStaffAccount(account)
                    return true
                }
                guard created else { return fail("an account \(account.username) exists already (reset, enable or roles change it)", status: 1) }
                print("created account \(account.username) (\(account.roles.map(\.rawValue).sorted().joined(separator: ", ")))")
            default:
                let user = username!
                let ended = try await store.write { transaction -> Int? in
                    guard var account = try transaction.staffAccount(user) else { return nil }
                    switch verb {
                    case "disable": account.disabled = true
                    case "enable": account.disabled = false
                    case "reset": account.passwordHash = hash!
                    default: account.roles = newRoles
                    }
                    account.updatedAt = now
                    try transaction.saveStaffAccount(account)
                    // A disabled account, a new password or new roles: its sessions end now.
                    return try transaction.endStaffSessions(of: user)
                }
                guard let ended else { return fail("no account \(user) in \(store.location)", status: 1) }
                print("\(verb == "reset" ? "password reset for" : verb == "roles" ? "roles changed for" : "\(verb)d") \(user); \(ended) session(s) ended")
            }
            return 0
        } catch let error as ValidationError {
            return fail("\(error.field): \(error.reason)")
        } catch {
            return fail("\(error)", status: 1)
        }
    }

    /// One line from standard input; on a terminal, prompted and not echoed.
    static func readPassword(prompt: String) -> String? {
        #if canImport(Glibc)
        if isatty(STDIN_FILENO) == 1 {
            FileHandle.standardError.write(Data(prompt.utf8))
            var saved = termios()
            tcgetattr(STDIN_FILENO, &saved)
            var silent = saved
            silent.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
            defer {
                tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
                FileHandle.standardError.write(Data("\n".utf8))
            }
            return readLine(strippingNewline: true)
        }
        #endif
        return readLine(strippingNewline: true)
    }
}
