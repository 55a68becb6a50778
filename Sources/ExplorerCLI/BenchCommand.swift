import ArgumentParser

/// `dmabuf-explorer bench` (not implemented yet).
public struct BenchCommand: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(commandName: "bench", abstract: "(not implemented yet)")
  public init() {}
  public mutating func run() async throws { throw CLIFailure("bench: not implemented yet") }
}
