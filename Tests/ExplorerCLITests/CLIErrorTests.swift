import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Issue 2 ("errors") and issue 5 ("a test per error message"): every kind of bad input, run
/// through the real binary. Each one must end with exit status 2 and exactly one stderr line
/// `dmabuf-explorer: ...` naming the file (and line or field path) or the value — no stack trace.
@Suite("CLI error messages")
struct CLIErrorTests {
  static let builtin = "teaching-workstation"

  // MARK: - Unknown and malformed BDFs

  @Test func explainUnknownProvider() throws {
    let result = try runCLI([
      "explain", "--topology", Self.builtin, "--provider", "0000:09:00.0", "--client", "0000:05:00.0",
    ])
    expectInputError(result, mentions: ["0000:09:00.0", "no PCI function"])
  }

  @Test func explainUnknownClient() throws {
    let result = try runCLI([
      "explain", "--topology", Self.builtin, "--provider", "0000:03:00.0", "--client", "0000:0a:00.0",
    ])
    expectInputError(result, mentions: ["0000:0a:00.0", "no PCI function"])
  }

  @Test func simulateUnknownExporter() throws {
    let result = try runCLI([
      "simulate", "--topology", Self.builtin, "--exporter", "0000:09:00.0", "--importer", "0000:05:00.0",
    ])
    expectInputError(result, mentions: ["0000:09:00.0", "exporter"])
  }

  @Test func simulateUnknownImporter() throws {
    let result = try runCLI(
      [
        "simulate", "--topology", Self.builtin, "--exporter", "0000:03:00.0", "--importer", "0000:05:00.0",
        "--importer", "0001:05:00.0",
      ])
    expectInputError(result, mentions: ["0001:05:00.0", "importer"])
  }

  @Test func simulateWithoutImporter() throws {
    let result = try runCLI(["simulate", "--topology", Self.builtin, "--exporter", "0000:03:00.0"])
    expectInputError(result, mentions: ["--importer"])
  }

  /// Text that is not a PCI address, for each option that takes one.
  @Test(arguments: [
    (["explain", "--provider", "zz:00.0", "--client", "0000:05:00.0"], "--provider", "zz:00.0"),
    (["explain", "--provider", "0000:03:00.0", "--client", "03:00"], "--client", "03:00"),
    (["simulate", "--exporter", "0000:03:00.0.1", "--importer", "0000:05:00.0"], "--exporter", "0000:03:00.0.1"),
    (["simulate", "--exporter", "0000:03:00.0", "--importer", "05:00.9"], "--importer", "05:00.9"),
    (["simulate", "--exporter", "0000:03:20.0", "--importer", "05:00.0"], "--exporter", "0000:03:20.0"),
  ])
  func malformedBDF(arguments: [String], option: String, value: String) throws {
    let result = try runCLI(arguments + ["--topology", Self.builtin])
    expectInputError(result, mentions: [option, "'\(value)'", "not a PCI address"])
  }

  // MARK: - Files that cannot be used

  @Test func nonexistentFile() throws {
    let directory = try CLI.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("no-such-dump.txt").path
    let result = try runCLI(["tree", "--topology", path])
    expectInputError(result, mentions: [path])
  }

  @Test func directoryInsteadOfFile() throws {
    let directory = try CLI.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let result = try runCLI(["tree", "--topology", directory.path])
    expectInputError(result, mentions: [directory.path, "directory"])
  }

  /// chmod 000. Root reads such a file anyway, so as root the binary runs as `nobody` (setpriv).
  @Test(.enabled(if: geteuid() != 0 || CLI.canRunAsNobody, CLI.nobodyReason))
  func unreadableFile() throws {
    let directory = try CLI.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("secret-lspci.txt")
    try Data(Self.smallDump.utf8).write(to: file)
    #expect(chmod(file.path, 0) == 0)
    let result: CLIResult
    if geteuid() == 0 {
      // nobody must be able to reach the file (but not read it) and the binary.
      #expect(chmod(directory.path, 0o755) == 0)
      result = try runCLIAsNobody(["tree", "--topology", file.path])
      try #require(!result.stderr.contains("setpriv:"), "setpriv cannot drop privileges here: \(result.stderr)")
    } else {
      result = try runCLI(["tree", "--topology", file.path])
    }
    expectInputError(result, mentions: [file.path, "cannot read"])
  }

  @Test func emptyFile() throws {
    let directory = try CLI.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("empty.txt")
    try Data().write(to: file)
    expectInputError(try runCLI(["tree", "--topology", file.path]), mentions: [file.path, "no PCI functions"])
  }

  @Test func binaryJunk() throws {
    let directory = try CLI.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("junk.bin")
    // Deterministic noise with NULs, 0xff and control bytes.
    let bytes = (0..<4096).map { (index: Int) -> UInt8 in UInt8(truncatingIfNeeded: (index &* 2_654_435_761) >> 11) }
    try Data(bytes).write(to: file)
    expectInputError(try runCLI(["tree", "--topology", file.path]), mentions: [file.path, "unrecognised format"])
  }

  @Test func unrecognisedTextFormat() throws {
    let directory = try CLI.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("notes.txt")
    try Data("Shopping list\n- milk\n- 2 GPUs\n\nNothing lspci would print.\n".utf8).write(to: file)
    for command in [["tree"], ["matrix"], ["explain", "--provider", "01:00.0", "--client", "02:00.0"]] {
      let result = try runCLI(command + ["--topology", file.path])
      expectInputError(result, mentions: [file.path, "unrecognised format"])
    }
  }

  /// A dump cut in the middle of a hex row loads best-effort (as `lspci -F` does with short dumps)
  /// with one warning per problem, each naming FILE:LINE; exit 0.
  @Test func truncatedHexDump() throws {
    let directory = try CLI.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("cut.txt")
    let lines = Self.smallDump.split(separator: "\n").map(String.init)
    // Header, rows 00-20, and half of row 30.
    let cut = lines.prefix(4).joined(separator: "\n") + "\n30: 00 00 0\n"
    try Data(cut.utf8).write(to: file)
    let result = try runCLI(["tree", "--topology", file.path])
    expectNoCrashText(result)
    #expect(result.status == 0, "\(result)")
    #expect(result.stdout.contains("04]---00.0"), "the function is still drawn\n\(result)")
    let warnings = result.stderrLines
    #expect(!warnings.isEmpty && warnings.count <= 2, "\(result)")
    #expect(warnings.allSatisfy { $0.hasPrefix("dmabuf-explorer: warning: \(file.path):") }, "\(result)")
    #expect(warnings.contains { $0.contains("\(file.path):5:") && $0.contains("malformed hex row") }, "\(result)")
    #expect(warnings.contains { $0.contains("truncated") }, "\(result)")
  }

  // MARK: - Scenario JSON

  /// A valid scenario; the cases below break one field each. Line numbers matter.
  static let scenarioTemplate = """
    {
      "schema": "dmabuf-explorer/scenario",
      "version": 1,
      "name": "cli-errors",
      "title": "A root port with a GPU, and an NVMe drive on the root bus",
      "platform": { "cpu_vendor": "intel", "cpu_family": 6, "iommu": "off" },
      "devices": [
        { "bdf": "0000:00:00.0", "vendor_id": "8086", "device_id": "4660", "class": "0600" },
        { "bdf": "0000:00:01.0", "vendor_id": "8086", "device_id": "460d", "class": "0604", "port_type": "root-port",
          "bridge": { "secondary": 1, "subordinate": 1 }, "acs": "absent" },
        { "bdf": "0000:01:00.0", "vendor_id": "1002", "device_id": "744c", "class": "030000", "port_type": "endpoint",
          "bars": [ { "index": 0, "address": "0x4000000000", "size": "32G", "64bit": true, "prefetchable": true } ] },
        {
          "bdf": "0000:00:06.0", "vendor_id": "144d", "device_id": "a80a", "class": "010802" }
      ]
    }

    """

  @Test func scenarioTemplateLoads() throws {
    let directory = try CLI.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("good.json")
    try Data(Self.scenarioTemplate.utf8).write(to: file)
    let result = try runCLI(["tree", "--topology", file.path])
    #expect(result.status == 0 && result.stderr.isEmpty, "\(result)")
    #expect(result.stdout.contains("01.0-[01]----00.0"), "\(result)")
  }

  struct ScenarioCase: Sendable, CustomTestStringConvertible {
    var name: String
    var find: String
    var replace: String
    /// The field path the message must name (nil: a syntax error, named by line).
    var field: String?
    var fragments: [String]
    /// The line the message should name.
    var line: Int
    /// The loader names the enclosing object's line instead of the field's (reported bug).
    var testDescription: String { name }
  }

  static let scenarioCases: [ScenarioCase] = [
    ScenarioCase(
      name: "unknown key", find: "\"class\": \"010802\" }", replace: "\"class\": \"010802\", \"colour\": \"red\" }",
      field: "devices[3].colour", fragments: ["unknown key"], line: 14),
    ScenarioCase(
      name: "bad hex", find: "\"device_id\": \"744c\"", replace: "\"device_id\": \"74zz\"",
      field: "devices[2].device_id", fragments: ["74zz"], line: 11),
    ScenarioCase(
      name: "bad size", find: "\"size\": \"32G\"", replace: "\"size\": \"32Q\"",
      field: "devices[2].bars[0].size", fragments: ["32Q"], line: 12),
    ScenarioCase(
      name: "bad address", find: "\"address\": \"0x4000000000\"", replace: "\"address\": \"0xnothex\"",
      field: "devices[2].bars[0].address", fragments: ["0xnothex"], line: 12),
    ScenarioCase(
      name: "duplicate BDF", find: "\"bdf\": \"0000:00:06.0\"", replace: "\"bdf\": \"0000:01:00.0\"",
      field: "devices[3].bdf", fragments: ["duplicate BDF 0000:01:00.0", "devices[2]"], line: 14),
    ScenarioCase(
      name: "malformed BDF", find: "\"bdf\": \"0000:00:06.0\"", replace: "\"bdf\": \"0000:00:06.9\"",
      field: "devices[3].bdf", fragments: ["0000:00:06.9"], line: 14),
    ScenarioCase(
      name: "wrong version", find: "\"version\": 1,", replace: "\"version\": 2,",
      field: "version", fragments: ["version 2 is not supported", "1"], line: 3),
    ScenarioCase(
      name: "bus number out of range", find: "\"secondary\": 1,", replace: "\"secondary\": 300,",
      field: "devices[1].bridge.secondary", fragments: ["300"], line: 10),
    ScenarioCase(
      name: "bad platform value", find: "\"iommu\": \"off\"", replace: "\"iommu\": \"maybe\"",
      field: "platform.iommu", fragments: ["maybe"], line: 6),
    ScenarioCase(
      name: "JSON syntax (missing comma)", find: "\"iommu\": \"off\" },", replace: "\"iommu\": \"off\" }",
      field: nil, fragments: ["JSON syntax error", "missing comma"], line: 6),
  ]

  @Test(arguments: scenarioCases)
  func scenarioError(_ scenarioCase: ScenarioCase) throws {
    #expect(Self.scenarioTemplate.contains(scenarioCase.find))
    let text = Self.scenarioTemplate.replacingOccurrences(of: scenarioCase.find, with: scenarioCase.replace)
    let directory = try CLI.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("machine.json")
    try Data(text.utf8).write(to: file)
    let result = try runCLI(["tree", "--topology", file.path])
    if let field = scenarioCase.field {
      expectInputError(result, mentions: ["\(file.path): \(field): "] + scenarioCase.fragments)
      #expect(result.stderr.contains("(line \(scenarioCase.line))"), "\(result)")
    } else {
      expectInputError(result, mentions: ["\(file.path):\(scenarioCase.line): "] + scenarioCase.fragments)
    }
  }

  /// Hostile JSON: nesting far beyond any real scenario, a file cut short, a key given twice.
  /// The parser must answer with FILE:LINE, not overflow its stack.
  @Test(arguments: ["deep arrays", "deep objects", "truncated", "duplicate key"])
  func hostileScenarioJSON(kind: String) throws {
    let head = "{\"schema\": \"dmabuf-explorer/scenario\", \"version\": 1, \"name\": \"x\", \"title\": \"t\", "
    let depth = 100_000
    let text: String
    let fragment: String
    switch kind {
    case "deep arrays":
      text = head + "\"devices\": " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}"
      fragment = "nesting"
    case "deep objects":
      text =
        head + "\"x\": " + String(repeating: "{\"a\": ", count: depth) + "1" + String(repeating: "}", count: depth)
        + "}"
      fragment = "nesting"
    case "truncated":
      text = String(Self.scenarioTemplate.prefix(520))
      fragment = "JSON syntax error"
    default:
      text = Self.scenarioTemplate.replacingOccurrences(of: "\"version\": 1,", with: "\"version\": 1, \"version\": 1,")
      fragment = "appears twice"
    }
    let directory = try CLI.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("hostile.json")
    try Data(text.utf8).write(to: file)
    let result = try runCLI(["tree", "--topology", file.path])
    expectInputError(result, mentions: ["\(file.path):", fragment])
  }

  /// Two copies of the same dump: loads, and each "duplicate function" warning should say
  /// which file (and line) it is about, as issue 5 asks of every message.
  @Test func duplicateFunctionsWarnWithTheFileName() throws {
    let directory = try CLI.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("twice.txt")
    try Data((Self.smallDump + "\n" + Self.smallDump).utf8).write(to: file)
    let result = try runCLI(["tree", "--topology", file.path])
    expectNoCrashText(result)
    #expect(result.status == 0, "\(result)")
    // The loader drops the repeated block as it reads it (issue 13: memory follows the distinct
    // functions), naming the line where the repeat starts.
    #expect(result.stderrLines.count == 1 && result.stderr.contains("0000:04:00.0 appears again"), "\(result)")
    let repeatLine = Self.smallDump.split(separator: "\n", omittingEmptySubsequences: false).count + 1
    #expect(result.stderr.contains("\(file.path):\(repeatLine):"), "\(result)")
  }

  // MARK: - Built-in names and option values

  @Test func unknownBuiltinListsTheBuiltins() throws {
    let listing = try JSONShape.object(try runCLI(["scenarios", "--format", "json"]).stdout)
    let names = try #require(listing["scenarios"] as? [[String: Any]]).compactMap { $0["name"] as? String }
    #expect(names.count >= 6)
    for arguments in [["tree", "--topology", "teaching-workstatoin"], ["scenarios", "teaching-workstatoin"]] {
      let result = try runCLI(arguments)
      expectInputError(result, mentions: ["'teaching-workstatoin'"] + names)
    }
  }

  @Test(arguments: [
    ["matrix"], ["explain", "--provider", "03:00.0", "--client", "05:00.0"],
    ["simulate", "--exporter", "03:00.0", "--importer", "05:00.0"],
  ])
  func badCPUValue(command: [String]) throws {
    let result = try runCLI(command + ["--topology", Self.builtin, "--cpu", "arm64"])
    expectInputError(result, mentions: ["--cpu", "'arm64'", "amd-zen", "intel", "other"])
  }

  @Test(arguments: [
    ["matrix"], ["explain", "--provider", "03:00.0", "--client", "05:00.0"],
    ["simulate", "--exporter", "03:00.0", "--importer", "05:00.0"],
  ])
  func badIOMMUValue(command: [String]) throws {
    let result = try runCLI(command + ["--topology", Self.builtin, "--iommu", "maybe"])
    expectInputError(result, mentions: ["--iommu", "'maybe'", "on", "off", "pt"])
  }

  @Test(arguments: [
    ["matrix"], ["explain", "--provider", "03:00.0", "--client", "05:00.0"],
    ["simulate", "--exporter", "03:00.0", "--importer", "05:00.0"],
  ])
  func badDisableACSRedirItem(command: [String]) throws {
    let result = try runCLI(command + ["--topology", Self.builtin, "--disable-acs-redir", "0000:02:00.0;bogus"])
    expectInputError(result, mentions: ["disable_acs_redir", "'bogus'"])
  }

  /// The same spelling of a what-if value means the same thing to every command (they share
  /// `TopologyOptions.p2pConfiguration(for:)`).
  @Test func whatIfValuesParseTheSameEverywhere() throws {
    let matrix = try runCLI([
      "matrix", "--topology", Self.builtin, "--cpu", "AMD-ZEN", "--iommu", "ON", "--format", "summary",
    ])
    #expect(matrix.status == 0, "\(matrix)")
    let simulate = try runCLI(
      [
        "simulate", "--topology", Self.builtin, "--exporter", "03:00.0", "--importer", "05:00.0", "--cpu", "AMD-ZEN",
        "--iommu", "ON", "--format", "summary",
      ])
    #expect(simulate.status == matrix.status, "\(simulate)")
  }

  /// A bad what-if value is an error even where the command does not use it, rather than being
  /// silently ignored (tree takes the shared --cpu/--iommu/--disable-acs-redir options).
  @Test func treeRejectsBadWhatIfValues() throws {
    let result = try runCLI(["tree", "--topology", Self.builtin, "--cpu", "arm64"])
    expectNoCrashText(result)
    #expect(result.status == 2, "\(result)")
  }

  @Test func simulateUnknownBuffer() throws {
    let result = try runCLI(
      [
        "simulate", "--topology", Self.builtin, "--exporter", "03:00.0", "--importer", "05:00.0", "--buffer",
        "no-such-buffer",
      ])
    // The message names the value and lists what the exporter has (from the scenario file).
    expectInputError(
      result, mentions: ["'no-such-buffer'", "0000:03:00.0", "render-target", "model-weights", "staging"])
  }

  @Test func simulateUnknownProfile() throws {
    let result = try runCLI(
      [
        "simulate", "--topology", Self.builtin, "--exporter", "03:00.0", "--importer", "05:00.0", "--exporter-profile",
        "nvidia-proprietary",
      ])
    expectInputError(result, mentions: ["nvidia-proprietary"])
  }

  // MARK: - generate

  @Test func generateRefusesToOverwrite() throws {
    let directory = try CLI.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("machine.dump")
    try Data("keep me\n".utf8).write(to: file)
    let refused = try runCLI(["generate", "--functions", "40", "--output", file.path])
    expectInputError(refused, mentions: [file.path, "--force"])
    #expect(try String(contentsOf: file, encoding: .utf8) == "keep me\n", "the existing file was changed")

    let forced = try runCLI(["generate", "--functions", "40", "--output", file.path, "--force"])
    #expect(forced.status == 0 && forced.stderr.isEmpty, "\(forced)")
    let written = try String(contentsOf: file, encoding: .utf8)
    #expect(written != "keep me\n" && written.contains("00: "), "--force did not write a dump")
    let tree = try runCLI(["tree", "--topology", file.path, "--format", "summary"])
    #expect(tree.status == 0 && tree.stdout.contains("40 functions"), "\(tree)")
  }

  /// `generate --format scenario` writes a file the strict scenario reader accepts as it is.
  @Test func generatedScenarioLoadsCleanly() throws {
    let directory = try CLI.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("machine.json")
    let generated = try runCLI(["generate", "--functions", "60", "--format", "scenario", "--output", file.path])
    #expect(generated.status == 0 && generated.stderr.isEmpty, "\(generated)")
    let tree = try runCLI(["tree", "--topology", file.path, "--format", "summary"])
    #expect(tree.status == 0 && tree.stderr.isEmpty && tree.stdout.contains("60 functions"), "\(tree)")
  }

  @Test func generateIntoMissingDirectory() throws {
    let directory = try CLI.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("no/such/dir/machine.dump")
    let result = try runCLI(["generate", "--functions", "10", "--output", file.path])
    expectInputError(result, mentions: [file.path])
  }

  // MARK: - Usage errors (swift-argument-parser)

  /// Bad option values caught by the argument parser: exit 2, the first line names the value.
  /// (The parser adds a usage hint after it, so these are not single lines.)
  @Test(arguments: [
    (["tree", "--topology", "teaching-workstation", "--format", "xml"], "'xml'"),
    (["generate", "--functions", "0"], "--functions"),
    (["frobnicate"], "'frobnicate'"),
    (["simulate", "--topology", "teaching-workstation"], "--exporter"),
  ])
  func usageErrors(arguments: [String], mentions: String) throws {
    let result = try runCLI(arguments)
    expectNoCrashText(result)
    #expect(result.status == 2, "\(result)")
    #expect(result.stdout.isEmpty, "\(result)")
    let first = result.stderrLines.first ?? ""
    #expect(first.hasPrefix("dmabuf-explorer: ") && first.contains(mentions), "\(result)")
  }

  // MARK: - The MALFORMED capture

  /// Issue 5: the dump with a pcilib warning inside a hex row loads with one warning naming
  /// line 5123 (README: "loaded with a one-line warning"), exit 0, whichever command loads it.
  @Test(arguments: [
    ["tree"], ["matrix", "--format", "summary"], ["explain", "--provider", "05:00.0", "--client", "08:00.0"],
    ["simulate", "--exporter", "05:00.0", "--importer", "08:00.0", "--format", "summary"],
  ])
  func malformedCaptureWarnsOnce(command: [String]) throws {
    let name = "desktop-huananzhi-x99-bd4-xeon-e5v3_lspci-nnvvvxxxx_MALFORMED-stderr-mixed.txt"
    let path = CLI.realCapture(name)
    guard FileManager.default.fileExists(atPath: path) else {
      print("note: malformedCaptureWarnsOnce: \(name) not found in \(CLI.realDirectory.path); skipped")
      return
    }
    let result = try runCLI(command + ["--topology", path])
    expectNoCrashText(result)
    #expect(result.status == 0, "\(result)")
    #expect(!result.stdout.isEmpty)
    #expect(result.stderrLines.count == 1, "\(result)")
    let line = result.stderrLines.first ?? ""
    #expect(line.hasPrefix("dmabuf-explorer: warning: \(path):5123: "), "\(result)")
    #expect(line.contains("pcilib: sysfs_read_vpd"), "the warning should quote what was ignored\n\(result)")
  }

  // MARK: - Fixtures

  /// One GPU as `lspci -xxx` prints it (first rows of the GTX 1080 Ti in the nvidia-bug-report
  /// capture, written out here so the test does not need the shared data).
  static let smallDump = """
    04:00.0 VGA compatible controller: NVIDIA Corporation Device 1b06 (rev a1)
    00: de 10 06 1b 07 00 10 00 a1 00 00 03 00 00 80 00
    10: 00 00 00 f8 0c 00 00 e0 7f 02 00 00 0c 00 00 f0
    20: 7f 02 00 00 01 c0 00 00 00 00 00 00 62 14 0a 36
    30: 00 00 00 00 60 00 00 00 00 00 00 00 0b 01 00 00

    """
}
