/// Starts the ncurses explorer (not implemented yet).
enum InteractiveLauncher {
  @MainActor
  static func launch(topology: TopologyOptions, noColor: Bool, ascii: Bool) async throws {
    throw CLIFailure("the interactive explorer is not implemented yet; try 'dmabuf-explorer --help'")
  }
}
