import Foundation
import PCITopology
import Testing

/// Issue 13: the program in the hands of a hostile or careless user. Every run that could take
/// unbounded input goes through `bash -c 'ulimit -v ...'` so a regression cannot eat the machine.
@Suite struct CLIHostileUseTests {
  /// Address-space cap (KiB) for every child started here.
  static let addressSpaceCapKiB = 4_000_000

  /// Runs `script` under bash with `$B` set to the binary and an address-space cap.
  static func shell(_ script: String, environment: [String: String] = [:]) throws -> CLIResult {
    let binary = try CLI.requireBinary()
    var exports = ""
    for (key, value) in environment { exports += "export \(key)='\(value)'; " }
    let wrapped = "ulimit -v \(addressSpaceCapKiB); \(exports)B='\(binary)'; \(script)"
    let (status, out, err) = try CLI.run(executable: "/bin/bash", ["-c", wrapped])
    return CLIResult(arguments: ["bash", "-c", script], status: status, stdout: out, stderr: err)
  }

  static let smallDump = """
    00:00.0 Host bridge: Intel Corporation Device 09a2
    00: 86 80 a2 09 06 00 10 00 00 00 00 06 00 00 00 00
    10: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
    20: 00 00 00 00 00 00 00 00 00 00 00 00 86 80 00 00
    30: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00

    """

  /// A dump whose names carry terminal controls: OSC title, clear screen, hide cursor, C1 CSI, DEL.
  static let hostileDump =
    "00:00.0 Host bridge: Evil \u{1b}]0;pwned\u{07} \u{1b}[2J\u{9b}31m\u{7f}x\n"
    + "00: 86 80 a2 09 06 00 10 00 00 00 00 06 00 00 00 00\n\n"
    + "00:01.0 Ethernet controller: Bad\u{1b}[?25l name\n"
    + "00: zz\u{1b}[2J\n"

  static func write(_ text: String, name: String) throws -> URL {
    let directory = try CLI.makeTemporaryDirectory()
    let url = directory.appendingPathComponent(name)
    try Data(text.utf8).write(to: url)
    return url
  }

  static func hasTerminalControls(_ text: String) -> Bool {
    text.unicodeScalars.contains { scalar in
      (scalar.value < 0x20 && scalar != "\n" && scalar != "\t") || (0x7f...0x9f).contains(scalar.value)
    }
  }

  // MARK: Item 4: write failures

  @Test(arguments: [
    "tree", "matrix", "scenarios", "explain --provider 03:00.0 --client 04:00.0",
    "simulate --exporter 03:00.0 --importer 04:00.0", "generate --functions 50", "tree --format json", "--help",
  ])
  func fullDeviceIsAnErrorNotATrapOrSuccess(command: String) throws {
    let result = try Self.shell("\"$B\" \(command) >/dev/full")
    #expect(result.status == 1, "\(result)")
    #expect(result.stderrLines == ["dmabuf-explorer: cannot write to standard output: no space left on device"])
    expectNoCrashText(result)
  }

  @Test(arguments: ["generate --functions 3000", "matrix --format json", "tree"])
  func closedPipeWithSIGPIPEIgnoredIsAnError(command: String) throws {
    let result = try Self.shell(
      "trap '' PIPE; \"$B\" \(command) | (exec 0<&-; sleep 0.2); exit ${PIPESTATUS[0]}")
    #expect(result.status == 1, "\(result)")
    #expect(result.stderr.contains("broken pipe"), "\(result)")
    expectNoCrashText(result)
  }

  @Test func closedStandardOutputIsAnError() throws {
    let result = try Self.shell("\"$B\" tree >&-")
    #expect(result.status == 1, "\(result)")
    #expect(result.stderrLines == ["dmabuf-explorer: cannot write to standard output: it is closed"])
  }

  @Test func closedStandardErrorDoesNotTrap() throws {
    let missing = try Self.shell("\"$B\" tree --topology /nonexistent/file 2>&-")
    #expect(missing.status == 2, "\(missing)")
    let full = try Self.shell("\"$B\" matrix >/dev/full 2>&-")
    #expect(full.status == 1, "\(full)")
    let warned = try Self.shell("\"$B\" simulate --exporter 03:00.0 --importer 04:00.0 2>&- >/dev/null")
    #expect(warned.status == 0, "\(warned)")
  }

  // MARK: Item 3: escapes

  @Test(arguments: [
    "tree", "tree --format json", "matrix", "matrix --format json", "explain --provider 00:00.0 --client 00:01.0",
    "explain --provider 00:00.0 --client 00:01.0 --format json",
  ])
  func controlCharactersFromInputsAreEscaped(command: String) throws {
    let file = try Self.write(Self.hostileDump, name: "hostile.txt")
    let result = try Self.shell("\"$B\" \(command) --topology '\(file.path)'")
    #expect(!Self.hasTerminalControls(result.stdout), "stdout: \(result.stdout.debugDescription)")
    #expect(!Self.hasTerminalControls(result.stderr), "stderr: \(result.stderr.debugDescription)")
    if command.contains("json") {
      // Still valid JSON, carrying the same strings (escaped, not dropped).
      _ = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
      if !command.hasPrefix("explain") { #expect(result.stdout.contains("\\u001b"), "\(result.stdout)") }
    } else {
      #expect(result.stdout.contains("\\x1b") || result.stderr.contains("\\x1b"), "\(result)")
    }
  }

  @Test func errorMessagesEscapeTheirQuotes() throws {
    let result = try Self.shell("\"$B\" tree --topology $'\\e[2Jmissing\\x9b'")
    #expect(result.status == 2)
    #expect(!Self.hasTerminalControls(result.stderr), "\(result.stderr.debugDescription)")
  }

  // MARK: Item 2: generate --output only writes regular files

  @Test func generateRefusesSymlinksDevicesFIFOsAndDirectories() throws {
    let directory = try CLI.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let target = directory.appendingPathComponent("target.txt")
    try Data("keep me\n".utf8).write(to: target)
    let link = directory.appendingPathComponent("link.txt")
    try FileManager.default.createSymbolicLink(at: link, withDestinationURL: target)
    let fifo = directory.appendingPathComponent("fifo")
    #expect(mkfifo(fifo.path, 0o600) == 0)
    for (path, kind) in [
      (link.path, "symbolic link"), ("/dev/null", "character device"), (fifo.path, "FIFO"),
      (directory.path, "directory"),
    ] {
      let result = try runCLI(["generate", "--functions", "5", "--output", path, "--force"])
      expectInputError(result, mentions: [path, kind, "not a regular file"])
    }
    #expect(try String(contentsOf: target, encoding: .utf8) == "keep me\n")
    #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == target.path)
    // A regular file is replaced with --force, and only then.
    let refused = try runCLI(["generate", "--functions", "5", "--output", target.path])
    expectInputError(refused, mentions: ["already exists"])
    let replaced = try runCLI(["generate", "--functions", "5", "--output", target.path, "--force"])
    #expect(replaced.status == 0, "\(replaced)")
    #expect(try String(contentsOf: target, encoding: .utf8).hasPrefix("0000:00:00.0"))
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == [
        "fifo", "link.txt", "target.txt",
      ])
  }

  @Test func generateIntoAFullDeviceLeavesNothingBehind() throws {
    let result = try runCLI(["generate", "--functions", "5", "--output", "/dev/full/x"])
    #expect(result.status == 2, "\(result)")
    expectNoCrashText(result)
  }

  // MARK: Item 1: bounded reads

  @Test(arguments: [
    "\"$B\" tree --topology /dev/zero", "\"$B\" tree --topology /dev/stdin </dev/zero",
    "\"$B\" tree --topology - </dev/zero",
    "\"$B\" tree --topology /dev/urandom",
  ])
  func devicesAreRefused(script: String) throws {
    let result = try Self.shell("timeout 20 \(script)")
    #expect(result.status == 2, "\(result)")
    #expect(result.stderr.contains("device"), "\(result)")
    expectNoCrashText(result)
  }

  @Test(arguments: [
    "yes '00: 00 00 00 00' | \"$B\" tree --topology -",
    "\"$B\" tree --topology <(yes '00:00.0 Host bridge: x')",
    "yes | \"$B\" tree --topology /dev/stdin",
  ])
  func endlessPipesStopAtTheLimit(script: String) throws {
    let result = try Self.shell("timeout 60 \(script)", environment: ["DMABUF_MAX_INPUT_MIB": "16"])
    #expect(result.status == 2, "\(result)")
    #expect(result.stderr.contains("more than 16 MiB"), "\(result)")
    expectNoCrashText(result)
  }

  @Test func oversizedRegularFileIsRefusedBeforeReading() throws {
    let directory = try CLI.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("big.txt").path
    #expect(FileManager.default.createFile(atPath: path, contents: nil))
    #expect(truncate(path, 17 << 20) == 0)
    let result = try Self.shell("\"$B\" tree --topology '\(path)'", environment: ["DMABUF_MAX_INPUT_MIB": "16"])
    expectInputError(result, mentions: [path, "17 MiB", "16 MiB limit"])
  }

  /// A FIFO: the program says it waits for a writer, then reads what comes.
  @Test func fifoWithoutAWriterSaysSoThenReads() throws {
    let dump = try Self.write(Self.smallDump, name: "dump.txt")
    let fifo = dump.deletingLastPathComponent().appendingPathComponent("fifo")
    #expect(mkfifo(fifo.path, 0o600) == 0)
    let result = try Self.shell(
      "(sleep 1; cat '\(dump.path)' > '\(fifo.path)') & timeout 20 \"$B\" tree --topology '\(fifo.path)'; "
        + "status=$?; wait; exit $status")
    #expect(result.status == 0, "\(result)")
    #expect(result.stderr.contains("waiting for a program to write to the FIFO"), "\(result)")
    #expect(result.stdout.contains("00.0"), "\(result)")
  }

  /// The generator's largest machine must be readable: the input limit is derived from it.
  @Test func inputLimitCoversTheLargestGeneratedDump() throws {
    #expect(
      TopologyLoader.maximumFileSize
        >= MachineGenerator.maximumFunctionCount * TopologyLoader.maximumDumpBytesPerFunction)
    let sample = HexDumpWriter.write(
      MachineGenerator(options: .init(functionCount: 2000, seed: 3)).generate().functions)
    let perFunction = Double(sample.count) / 2000
    #expect(perFunction < Double(TopologyLoader.maximumDumpBytesPerFunction), "\(perFunction) bytes per function")
  }

  // MARK: Item 9: plain words

  @Test func emptySysfsRootIsExplained() throws {
    let result = try runCLI(["tree", "--topology", "sysfs:"])
    expectInputError(result, mentions: ["sysfs:", "no directory after 'sysfs:'"])
  }
}

/// Issue 13 item 9: plain words for careless input.
@Suite struct CLIPlainWordsTests {
  @Test func negativeSeedIsRefusedInWords() throws {
    let result = try runCLI(["generate", "--functions", "3", "--seed", "-1"])
    #expect(result.status == 2, "\(result)")
    #expect(result.stderr.contains("--seed must be a whole number"), "\(result)")
    #expect(!result.stderr.contains("Missing value"), "\(result)")
    let simulate = try runCLI(["simulate", "--exporter", "03:00.0", "--importer", "04:00.0", "--seed", "-1"])
    expectInputError(simulate, mentions: ["--seed '-1' is not a whole number"])
  }

  @Test func benchRepeatsZeroIsRefused() throws {
    let result = try runCLI(["bench", "--repeats", "0", "--functions", "10"])
    expectInputError(result, mentions: ["--repeats must be 1 or more"])
  }

  @Test(arguments: [("/etc/passwd", "is not a directory"), ("/nonexistent/dir", "no such directory")])
  func sysfsRootProblemsInWords(path: String, words: String) throws {
    let result = try runCLI(["tree", "--topology", "sysfs:\(path)"])
    expectInputError(result, mentions: [path, words])
    #expect(!result.stderr.contains("NSCocoaErrorDomain"), "\(result)")
  }

  @Test(
    .enabled(
      if: CLI.canRunAsNobody, "needs root (to run as nobody), setpriv and a build folder nobody can reach"))
  func unreadableFileInWords() throws {
    let directory = try CLI.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    #expect(chmod(directory.path, 0o755) == 0)
    let file = directory.appendingPathComponent("secret.txt")
    try Data("00:00.0 Host bridge: x\n".utf8).write(to: file)
    #expect(chmod(file.path, 0) == 0)
    let result = try runCLIAsNobody(["tree", "--topology", file.path])
    expectInputError(result, mentions: [file.path, "permission denied"])
    #expect(!result.stderr.contains("NSCocoaErrorDomain"), "\(result)")
  }

  @Test func unreadableSpecialFileInWords() throws {
    let result = try runCLI(["tree", "--topology", "/dev/null"])
    #expect(result.status == 2, "\(result)")
    #expect(!result.stderr.contains("NSCocoaErrorDomain"), "\(result)")
    #expect(result.stderr.contains("/dev/null"), "\(result)")
  }
}
