import ArgumentParser

/// `dmabuf-explorer generate` (not implemented yet).
public struct GenerateCommand: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(commandName: "generate", abstract: "(not implemented yet)")
  public init() {}
  public mutating func run() async throws { throw CLIFailure("generate: not implemented yet") }
}
