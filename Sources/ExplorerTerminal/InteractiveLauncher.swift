import CNcurses
import ExplorerCLI
import ExplorerUI
import Foundation
import P2PDMA
import PCITopology

/// The terminal app as the command line's front end: what `main.swift` passes to
/// `CommandLineEntry.main`.
public struct TerminalFrontEnd: InteractiveFrontEnd {
  public init() {}

  package func launchExplorer(
    topology: TopologyOptions, noColor: Bool, ascii: Bool, lessonFile: String?, bufinfoFile: String?
  ) async throws {
    try await InteractiveLauncher.launch(
      topology: topology, noColor: noColor, ascii: ascii, lessonFile: lessonFile, bufinfoFile: bufinfoFile)
  }

  package func uiBenchmark(dumpPath: String) throws -> [BenchCommand.Row] {
    try UIBenchmark.run(dumpPath: dumpPath)
  }
}

/// Starts the ncurses explorer: checks for a terminal, loads the topology, runs the event loop,
/// and always restores the terminal.
enum InteractiveLauncher {
  /// Environment variable: when set, render-time statistics (p50/p99 per frame, first frame) are
  /// printed on exit: to stderr for `1`, else appended to the file it names.
  static let statsVariable = "DMABUF_EXPLORER_STATS"

  @MainActor
  static func launch(
    topology options: TopologyOptions, noColor: Bool, ascii: Bool, lessonFile: String? = nil,
    bufinfoFile: String? = nil
  ) async throws {
    let launchedAt = ContinuousClock.now
    guard cn_stdio_are_terminals() != 0 else {
      throw CLIFailure(
        "the interactive explorer needs a terminal on stdin and stdout; for scripts and pipes use "
          + "the headless subcommands: 'dmabuf-explorer tree', 'matrix', 'explain', 'simulate' (see --help)")
    }
    // A terminal without cursor addressing cannot show panes: say so instead of drawing garbage.
    let terminalType = ProcessInfo.processInfo.environment["TERM"] ?? ""
    if ["", "dumb", "unknown"].contains(terminalType) {
      throw CLIFailure(
        "TERM=\(terminalType.isEmpty ? "(unset)" : terminalType) cannot move the cursor, which the interactive "
          + "explorer needs; run it in a full-screen terminal (e.g. TERM=xterm-256color), or use the headless "
          + "subcommands: 'dmabuf-explorer tree', 'matrix', 'explain', 'simulate', 'lessons'")
    }
    // Load before touching the terminal, so load errors print as plain lines.
    let topology = try TopologyResolver.resolve(options.topology)
    let configuration = try options.p2pConfiguration(for: topology)
    // What makes verdicts UNKNOWN or merged facts disputed is said before the screen takes over
    // (it stays visible in the terminal after quitting); the matrix overlay shows each reason.
    for warning in topology.warnings
    where warning.message.hasPrefix("partial input: ") || warning.message.hasPrefix("conflict: ") {
      CommandLineEntry.printError("warning: \(warning)")
    }
    // Lessons load before the terminal too: a malformed script prints its file and line.
    var lessons = try LessonLibrary.builtin()
    if let lessonFile { lessons.insert(try LessonLibrary.load(file: lessonFile), at: 0) }
    // So does --bufinfo (file and line of a malformed one); an unreadable live file is not an error.
    let liveBuffers = try LiveBuffers.load(file: bufinfoFile, topology: topology)
    let utf8 = cn_setup_locale() != 0
    let environment = ProcessInfo.processInfo.environment
    let colorWanted = !noColor && (environment["NO_COLOR"] ?? "").isEmpty
    let glyphs: Glyphs = ascii || !utf8 ? .ascii : .unicode
    let terminal = try NcursesTerminal(useColor: colorWanted)
    let (width, height) = terminal.size
    var state = ExplorerState(
      topology: topology, configuration: configuration, width: width, height: height,
      display: DisplayOptions(glyphs: glyphs), lessons: lessons, backendFactory: KernelBackend.factory)
    state.liveBuffers = liveBuffers
    if lessonFile != nil { state.startLesson(0) }
    var app = TerminalApp(state: state, launchedAt: launchedAt)
    app.run(on: terminal)
    terminal.stop()
    if let target = environment[statsVariable], !target.isEmpty {
      try CommandLineEntry.writeStatistics(app.statsReport, to: target)
    }
  }
}
