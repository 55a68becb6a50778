import CNcurses
import ExplorerUI
import Foundation
import P2PDMA
import PCITopology

/// Starts the ncurses explorer: checks for a terminal, loads the topology, runs the event loop,
/// and always restores the terminal.
enum InteractiveLauncher {
  /// Environment variable: when set, render-time statistics (p50/p99 per frame, first frame) are
  /// printed on exit: to stderr for `1`, else appended to the file it names.
  static let statsVariable = "DMABUF_EXPLORER_STATS"

  @MainActor
  static func launch(topology options: TopologyOptions, noColor: Bool, ascii: Bool) async throws {
    let launchedAt = ContinuousClock.now
    guard cn_stdio_are_terminals() != 0 else {
      throw CLIFailure(
        "the interactive explorer needs a terminal on stdin and stdout; for scripts and pipes use "
          + "the headless subcommands: 'dmabuf-explorer tree', 'matrix', 'explain', 'simulate' (see --help)")
    }
    // Load before touching the terminal, so load errors print as plain lines.
    let topology = try TopologyResolver.resolve(options.topology)
    let configuration = try options.p2pConfiguration(for: topology)
    let utf8 = cn_setup_locale() != 0
    let environment = ProcessInfo.processInfo.environment
    let colorWanted = !noColor && (environment["NO_COLOR"] ?? "").isEmpty
    let glyphs: Glyphs = ascii || !utf8 ? .ascii : .unicode
    let terminal = try TerminalBackend(useColor: colorWanted)
    let (width, height) = terminal.size
    let state = ExplorerState(
      topology: topology, configuration: configuration, width: width, height: height,
      display: DisplayOptions(glyphs: glyphs), backendFactory: KernelBackend.factory)
    var app = TerminalApp(state: state, launchedAt: launchedAt)
    app.run(on: terminal)
    terminal.stop()
    if let target = environment[statsVariable], !target.isEmpty {
      try report(app.statsReport, to: target)
    }
  }

  /// Frame statistics to stderr or appended to a file, with checked writes: a failure is one
  /// line and exit status 1, not a trap and not a silent exit 0.
  private static func report(_ text: String, to target: String) throws {
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
