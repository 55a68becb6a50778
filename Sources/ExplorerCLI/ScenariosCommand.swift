import ArgumentParser

/// `dmabuf-explorer scenarios` (not implemented yet).
public struct ScenariosCommand: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(commandName: "scenarios", abstract: "(not implemented yet)")
  public init() {}
  public mutating func run() async throws { throw CLIFailure("scenarios: not implemented yet") }
}
