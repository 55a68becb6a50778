import Foundation
import Testing

/// `--topology -` reads standard input, so `sudo lspci -xxxx | dmabuf-explorer tree --topology -`
/// works; errors name `<stdin>`.
@Suite struct CLIStandardInputTests {
  @Test func readsADumpFromStandardInput() throws {
    let directory = try CLI.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("dump.txt")
    try Data(CLIErrorTests.smallDump.utf8).write(to: file)
    let fromFile = try runCLI(["tree", "--topology", file.path])
    let fromStdin = try runCLI(["tree", "--topology", "-"], stdinFile: file)
    #expect(fromFile.status == 0, "\(fromFile)")
    #expect(fromStdin.status == 0, "\(fromStdin)")
    #expect(!fromStdin.stdout.isEmpty)
    #expect(fromStdin.stdout == fromFile.stdout)
  }

  @Test func emptyOrJunkStandardInputIsNamed() throws {
    let directory = try CLI.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let junk = directory.appendingPathComponent("junk.txt")
    try Data("hello\n".utf8).write(to: junk)
    for input in [nil, junk] {
      let result = try runCLI(["matrix", "--topology", "-"], stdinFile: input)
      #expect(result.status == 2, "\(result)")
      #expect(result.stderr.hasPrefix("dmabuf-explorer: <stdin>: "), "\(result)")
    }
  }
}
