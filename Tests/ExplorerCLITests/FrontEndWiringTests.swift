import ExplorerCLI
import Testing

/// The command line reaches the explorer only through `InteractiveFrontEnd` (the terminal app is
/// a target above it): the root command must hand its options to the front end it was given, and
/// say so in one line when it was given none.
@MainActor
struct FrontEndWiringTests {
  @MainActor
  final class RecordingFrontEnd: InteractiveFrontEnd {
    struct Launch: Equatable {
      var topology: [String]
      var kernel: String?
      var noColor: Bool
      var ascii: Bool
      var lessonFile: String?
      var bufinfoFile: String? = nil
    }
    var launches: [Launch] = []
    var benchmarkedDumps: [String] = []

    func launchExplorer(
      topology: TopologyOptions, noColor: Bool, ascii: Bool, lessonFile: String?, bufinfoFile: String?
    ) async throws {
      launches.append(
        Launch(
          topology: topology.topology, kernel: topology.kernel, noColor: noColor, ascii: ascii,
          lessonFile: lessonFile, bufinfoFile: bufinfoFile))
    }

    func uiBenchmark(dumpPath: String) throws -> [BenchCommand.Row] {
      benchmarkedDumps.append(dumpPath)
      return []
    }
  }

  @Test func rootCommandHandsItsOptionsToTheFrontEnd() async {
    let frontEnd = RecordingFrontEnd()
    let status = await CommandLineEntry.main(
      [
        "--topology", "teaching-workstation", "--kernel", "6.1", "--no-color", "--lesson", "acs.md", "--bufinfo",
        "bufinfo.txt",
      ],
      frontEnd: frontEnd)
    #expect(status == 0)
    #expect(
      frontEnd.launches == [
        RecordingFrontEnd.Launch(
          topology: ["teaching-workstation"], kernel: "6.1", noColor: true, ascii: false, lessonFile: "acs.md",
          bufinfoFile: "bufinfo.txt")
      ])
  }

  @Test func benchUICaseRunsTheFrontEndsBenchmarkWithoutLaunching() async {
    let frontEnd = RecordingFrontEnd()
    let status = await CommandLineEntry.main(["bench", "--case", "ui", "--dump", "machine.dump"], frontEnd: frontEnd)
    #expect(status == 0)
    #expect(frontEnd.benchmarkedDumps == ["machine.dump"])
    #expect(frontEnd.launches.isEmpty)
  }

  @Test func withoutAFrontEndTheRootCommandFailsAsBadInput() async {
    #expect(await CommandLineEntry.main(["--ascii"], frontEnd: nil) == 2)
  }
}
