import ArgumentParser

/// `dmabuf-explorer explain` (not implemented yet).
public struct ExplainCommand: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(commandName: "explain", abstract: "(not implemented yet)")
  public init() {}
  public mutating func run() async throws { throw CLIFailure("explain: not implemented yet") }
}
