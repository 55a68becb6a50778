import ArgumentParser

/// `dmabuf-explorer matrix` (not implemented yet).
public struct MatrixCommand: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(commandName: "matrix", abstract: "(not implemented yet)")
  public init() {}
  public mutating func run() async throws { throw CLIFailure("matrix: not implemented yet") }
}
