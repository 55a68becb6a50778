import ArgumentParser

/// `dmabuf-explorer simulate` (not implemented yet).
public struct SimulateCommand: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(commandName: "simulate", abstract: "(not implemented yet)")
  public init() {}
  public mutating func run() async throws { throw CLIFailure("simulate: not implemented yet") }
}
