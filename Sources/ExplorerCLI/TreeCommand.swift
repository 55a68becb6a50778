import ArgumentParser

/// `dmabuf-explorer tree` (not implemented yet).
public struct TreeCommand: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(commandName: "tree", abstract: "(not implemented yet)")
  public init() {}
  public mutating func run() async throws { throw CLIFailure("tree: not implemented yet") }
}
