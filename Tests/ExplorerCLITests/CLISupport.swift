import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// What one run of the built `dmabuf-explorer` printed and returned.
struct CLIResult: Sendable, CustomStringConvertible {
  var arguments: [String]
  var status: Int32
  var stdout: String
  var stderr: String

  /// Non-empty stderr lines.
  var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }

  var description: String {
    "dmabuf-explorer \(arguments.joined(separator: " ")) -> exit \(status)\n"
      + "stderr: \(stderr.prefix(2000))\nstdout: \(stdout.prefix(2000))"
  }
}

struct CLITestError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// Paths and the subprocess runner shared by the command-line tests.
enum CLI {
  /// Package root, from this file's path (Tests/ExplorerCLITests/CLISupport.swift).
  static let packageRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// `../shared/data/real` next to the package; never copied into the repository.
  static let realDirectory: URL = packageRoot.deletingLastPathComponent()
    .appendingPathComponent("shared/data/real", isDirectory: true)

  static var realCapturesAvailable: Bool {
    FileManager.default.fileExists(atPath: realDirectory.appendingPathComponent("INDEX.md").path)
  }

  static func realCapture(_ name: String) -> String { realDirectory.appendingPathComponent(name).path }

  static let lspciPath = "/usr/bin/lspci"
  static var lspciAvailable: Bool { FileManager.default.isExecutableFile(atPath: lspciPath) }

  static let setprivPath = "/usr/bin/setpriv"

  /// True when this root process can drop to `nobody` with setpriv and `nobody` can reach and run
  /// the built binary. A clone inside a mode-700 directory (what `mktemp -d` makes) cannot be run
  /// by `nobody`; the permission tests that need it are then skipped, with this as the reason.
  static let canRunAsNobody: Bool = {
    guard geteuid() == 0, FileManager.default.isExecutableFile(atPath: setprivPath), let binary else { return false }
    let probe = try? run(
      executable: setprivPath, ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/test", "-x", binary])
    return probe?.status == 0
  }()
  static let nobodyReason: Comment =
    "as root this runs the binary as nobody: needs setpriv and a build folder nobody can reach"

  /// The built binary: in the folder of the running test bundle (`.build*/<triple>/debug/`), or
  /// failing that in one of its parents; last resort, a `.build*/debug` folder of this package.
  static let binary: String? = {
    let fileManager = FileManager.default
    let starts = [
      Bundle.main.executablePath, CommandLine.arguments.first,
      try? fileManager.destinationOfSymbolicLink(atPath: "/proc/self/exe"),
    ].compactMap { $0 }
    for start in starts {
      var directory = URL(fileURLWithPath: start).deletingLastPathComponent()
      for _ in 0..<4 {
        let candidate = directory.appendingPathComponent("dmabuf-explorer").path
        if fileManager.isExecutableFile(atPath: candidate) { return candidate }
        directory = directory.deletingLastPathComponent()
      }
    }
    let folders = (try? fileManager.contentsOfDirectory(atPath: packageRoot.path)) ?? []
    for folder in folders.sorted() where folder.hasPrefix(".build") {
      let candidate = packageRoot.appendingPathComponent(folder).appendingPathComponent("debug/dmabuf-explorer").path
      if fileManager.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
  }()

  static func requireBinary() throws -> String {
    guard let binary else {
      throw CLITestError("dmabuf-explorer binary not found next to the test bundle; run 'swift build' first")
    }
    return binary
  }

  /// Runs `executable arguments` with stdin from /dev/null and stdout/stderr into temporary files
  /// (no pipe can fill up and block the child).
  static func run(
    executable: String, _ arguments: [String], stdinFile: URL? = nil
  ) throws -> (status: Int32, stdout: String, stderr: String) {
    let directory = FileManager.default.temporaryDirectory
    let token = "\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    let outURL = directory.appendingPathComponent("cli-test-\(token).out")
    let errURL = directory.appendingPathComponent("cli-test-\(token).err")
    guard FileManager.default.createFile(atPath: outURL.path, contents: nil),
      FileManager.default.createFile(atPath: errURL.path, contents: nil)
    else { throw CLITestError("cannot create output files in \(directory.path)") }
    defer {
      try? FileManager.default.removeItem(at: outURL)
      try? FileManager.default.removeItem(at: errURL)
    }
    let outHandle = try FileHandle(forWritingTo: outURL)
    let errHandle = try FileHandle(forWritingTo: errURL)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardInput = try stdinFile.map { try FileHandle(forReadingFrom: $0) } ?? FileHandle.nullDevice
    process.standardOutput = outHandle
    process.standardError = errHandle
    var environment = ProcessInfo.processInfo.environment
    // Deterministic text: no colour, and a backtrace would hang waiting for a terminal.
    environment["NO_COLOR"] = "1"
    environment["SWIFT_BACKTRACE"] = "enable=no"
    process.environment = environment
    try process.run()
    process.waitUntilExit()
    try outHandle.close()
    try errHandle.close()
    let out = String(decoding: (try? Data(contentsOf: outURL)) ?? Data(), as: UTF8.self)
    let err = String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self)
    let status =
      process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    return (status, out, err)
  }

  /// A fresh temporary directory; the caller removes it.
  static func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory
      .appendingPathComponent("dmabuf-cli-\(getpid())-\(UInt64.random(in: 0...UInt64.max))", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }
}

/// Runs the built `dmabuf-explorer` with `args` (stdin from `stdinFile`, else empty).
func runCLI(_ args: [String], stdinFile: URL? = nil) throws -> CLIResult {
  let binary = try CLI.requireBinary()
  let (status, out, err) = try CLI.run(executable: binary, args, stdinFile: stdinFile)
  return CLIResult(arguments: args, status: status, stdout: out, stderr: err)
}

/// Runs the binary as user `nobody` (uid/gid 65534) through setpriv, for permission tests as root.
func runCLIAsNobody(_ args: [String]) throws -> CLIResult {
  let binary = try CLI.requireBinary()
  let (status, out, err) = try CLI.run(
    executable: CLI.setprivPath, ["--reuid=65534", "--regid=65534", "--clear-groups", binary] + args)
  return CLIResult(arguments: args, status: status, stdout: out, stderr: err)
}

/// Issue 2/5: bad input gives exit status 2, nothing on stdout and exactly one stderr line
/// `dmabuf-explorer: ...` that contains every fragment, with no trap or backtrace.
func expectInputError(
  _ result: CLIResult, mentions fragments: [String], sourceLocation: SourceLocation = #_sourceLocation
) {
  #expect(result.status == 2, "exit status\n\(result)", sourceLocation: sourceLocation)
  #expect(result.stdout.isEmpty, "stdout should be empty\n\(result)", sourceLocation: sourceLocation)
  let lines = result.stderrLines
  #expect(lines.count == 1, "expected one stderr line\n\(result)", sourceLocation: sourceLocation)
  let line = lines.first ?? ""
  #expect(line.hasPrefix("dmabuf-explorer: "), "stderr line prefix\n\(result)", sourceLocation: sourceLocation)
  for fragment in fragments {
    #expect(
      line.contains(fragment), "stderr line should mention \(fragment.debugDescription)\n\(result)",
      sourceLocation: sourceLocation)
  }
  expectNoCrashText(result, sourceLocation: sourceLocation)
}

/// No Swift runtime trap, backtrace or signal death.
func expectNoCrashText(_ result: CLIResult, sourceLocation: SourceLocation = #_sourceLocation) {
  for marker in [
    "Fatal error", "Stack dump", "Backtrace", "Current stack trace", "Illegal instruction", "Segmentation fault",
  ] {
    #expect(
      !result.stderr.contains(marker), "crash text \(marker.debugDescription)\n\(result)",
      sourceLocation: sourceLocation)
  }
  #expect(result.status < 128, "killed by a signal\n\(result)", sourceLocation: sourceLocation)
}

// MARK: - JSON helpers

enum JSONShape {
  static func object(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
    let value = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    guard let object = value as? [String: Any] else {
      throw CLITestError("top level is not a JSON object: \(text.prefix(200))")
    }
    return object
  }

  static func isBool(_ value: Any?) -> Bool {
    guard let number = value as? NSNumber, !(value is String) else { return false }
    return String(cString: number.objCType) == "c" || String(cString: number.objCType) == "B"
  }

  static func isInteger(_ value: Any?) -> Bool {
    guard let number = value as? NSNumber, !(value is String) else { return false }
    return ["i", "q", "l", "s", "I", "Q", "L", "S"].contains(String(cString: number.objCType))
  }

  static func isNull(_ value: Any?) -> Bool { value is NSNull }

  static func int(_ value: Any?) -> Int? { isInteger(value) ? (value as? NSNumber)?.intValue : nil }

  /// Lower-case hex digits only (and at least one).
  static func isLowerHex<S: StringProtocol>(_ text: S) -> Bool {
    !text.isEmpty && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
  }

  /// `0x` and lower-case hex digits.
  static func isHexLiteral<S: StringProtocol>(_ text: S) -> Bool {
    text.hasPrefix("0x") && isLowerHex(text.dropFirst(2))
  }

  /// `DDDD:BB`.
  static func busPattern<S: StringProtocol>(_ text: S) -> Bool {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false)
    return parts.count == 2 && parts[0].count == 4 && parts[1].count == 2 && parts.allSatisfy { isLowerHex($0) }
  }

  /// `DDDD:BB:DD.F` with device ≤ 1f and function ≤ 7. (Plain string checks: a regex per
  /// entry is far too slow in debug builds for sg tables with thousands of entries.)
  static func bdfPattern<S: StringProtocol>(_ text: S) -> Bool {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, isLowerHex(parts[0]), isLowerHex(parts[1])
    else { return false }
    let slot = parts[2].split(separator: ".", omittingEmptySubsequences: false)
    guard slot.count == 2, slot[0].count == 2, isLowerHex(slot[0]), let device = Int(slot[0], radix: 16),
      device <= 0x1f,
      slot[1].count == 1, let function = Int(slot[1]), function <= 7
    else { return false }
    return true
  }
}

// MARK: - Tree helpers

enum TreeText {
  /// `lspci -tv` drawing without the names: what `lspci -t` prints. A name follows a function
  /// number (`DD.F`) after two spaces; bridges with children never carry one.
  static func stripNames(_ text: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
      if let match = line.firstMatch(of: #/[0-9a-f]{2}\.[0-7]  /#) {
        return String(line[..<match.range.lowerBound]) + String(line[match.range].prefix(4))
      }
      return String(line)
    }.joined(separator: "\n")
  }
}
