#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// What the command line needs from the interactive explorer. The terminal app lives in a target
/// above this one (ExplorerTerminal, the only one that links ncurses), so the command line cannot
/// call it directly: the executable passes an implementation to `CommandLineEntry.main`, and the
/// root command (no subcommand) and `bench --case ui` reach it through `InteractiveFrontEnds.current`.
package protocol InteractiveFrontEnd: Sendable {
  /// Opens the full-screen explorer and returns when the user quits.
  @MainActor
  func launchExplorer(
    topology: TopologyOptions, noColor: Bool, ascii: Bool, lessonFile: String?, bufinfoFile: String?
  ) async throws

  /// The UI rows of `bench`: first frame, keypress → frame, sg-table scrolling.
  @MainActor
  func uiBenchmark(dumpPath: String) throws -> [BenchCommand.Row]
}

/// The front end of this process, set for the duration of `CommandLineEntry.main`.
package enum InteractiveFrontEnds {
  @TaskLocal package static var current: (any InteractiveFrontEnd)?

  /// The front end, or a one-line failure when the program was built without one.
  static func required(for purpose: String) throws -> any InteractiveFrontEnd {
    guard let current else {
      throw CLIFailure("\(purpose) needs the terminal app, which this build of the command line does not include")
    }
    return current
  }
}

extension CommandLineEntry {
  /// The explorer's frame statistics to stderr (`target` is `1` or `stderr`) or appended to the
  /// file `target` names, with checked writes: a failure is one line and exit status 1, not a
  /// trap and not a silent exit 0.
  package static func writeStatistics(_ text: String, to target: String) throws {
    if target == "1" || target == "stderr" {
      StandardError.writeLine("dmabuf-explorer: \(text)")
      return
    }
    let descriptor = open(target, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else {
      throw OutputWriteFailure(
        message: "\(target): cannot write the statistics: \(DescriptorWriter.describe(errno: errno))")
    }
    defer { close(descriptor) }
    var writer = DescriptorWriter(descriptor: descriptor, name: target, mode: .text)
    writer.write(text + "\n")
    try writer.finish()
  }
}
