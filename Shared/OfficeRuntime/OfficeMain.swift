import Foundation
import Logging
import Metrics
import Prometheus
import TransferDomain

/// The entry point both office executables share: `--help`, configuration, logging and metrics
/// bootstrap, then the ``OfficeProcess`` until SIGTERM/SIGINT.
public enum OfficeMain {
    public static func run<S: OfficeService>(_: S.Type, arguments: [String] = CommandLine.arguments) async -> Int32 {
        let name = "\(S.role.rawValue)-office"
        if arguments.count > 1 && arguments[1] == "outbox" {
            return await OutboxCommand.run(S.self, name: name, arguments: Array(arguments.dropFirst(2)))
        }
        if arguments.count > 1 && arguments[1] == "accounts" {
            return await AccountsCommand.run(S.self, name: name, arguments: Array(arguments.dropFirst(2)))
        }
        if arguments.contains("--help") || arguments.contains("-h") {
            print(
                """
                USAGE: \(name) [--<setting> <value> ...]

                Runs the \(S.role.rawValue) social insurance office of the pension-transfer process: its HTTP API,
                its SQLite database, and its Kafka consumer and outbox relay. Stops cleanly on SIGTERM or Ctrl-C.

                       \(name) outbox parked [--json] [--<setting> <value> ...]
                       \(name) outbox release <seq> [--<setting> <value> ...]
                Lists the outbox events set aside because the broker can never take them as they are
                (with the events of the same case held behind each), or puts one back in line once its
                cause is fixed. Reads the database the settings name; the office may be running.

                       \(name) accounts list | create <username> --display-name <name> --role <role> ...
                       \(name) accounts reset | disable | enable <username>
                       \(name) accounts roles <username> --role <role> ...
                Staff accounts of the office's web console (roles: clerk, viewer, auditor, operator). A new
                password is read from standard input, never from a flag; disabling an account, resetting
                its password or changing its roles ends its sessions at once.

                \(OfficeConfiguration.helpText(role: S.role))
                """)
            return 0
        }
        let configuration: OfficeConfiguration
        do {
            configuration = try await OfficeConfiguration.load(role: S.role, arguments: arguments)
            // The key files are settings too: a missing or wrong one is a configuration error.
            _ = try configuration.eventKeys()
            _ = try await configuration.authentication()
        } catch let error as ValidationError {
            // Name the setting the way the operator wrote it: variable and flag.
            let key = OfficeConfiguration.keys(role: S.role).first { $0.name == error.field }
            let setting = key.map { "\($0.environmentVariable) (\($0.flag))" } ?? error.field
            FileHandle.standardError.write(Data("\(name): configuration error: \(setting): \(error.reason)\nRun \(name) --help for the settings.\n".utf8))
            return 2
        } catch {
            FileHandle.standardError.write(Data("\(name): configuration error: \(error)\nRun \(name) --help for the settings.\n".utf8))
            return 2
        }
        let level = configuration.logLevel
        LoggingSystem.bootstrap { label in
            var handler = MaskingLogHandler(StreamLogHandler.standardError(label: label))
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: name)
        logger[metadataKey: "office.code"] = .string(configuration.officeCode.rawValue)
        if PortProbe.inUse(host: configuration.httpHost, port: configuration.httpPort) {
            logger.critical(
                "Office cannot start", metadata: ["error": .string(OfficeStartupError.portInUse(host: configuration.httpHost, port: configuration.httpPort).description)])
            return 1
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        do {
            let process = try await OfficeProcess<S>(configuration: configuration, logger: logger, registry: registry, watchdog: true)
            try await process.run()
            return 0
        } catch {
            logger.critical("Office failed", metadata: ["error": "\(error)"])
            return 1
        }
    }
}
