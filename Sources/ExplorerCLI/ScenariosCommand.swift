import ArgumentParser
import Assets
import Foundation
import PCITopology

/// `dmabuf-explorer scenarios`: the built-in machines, one line each.
public struct ScenariosCommand: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "scenarios",
    abstract: "List the built-in topologies (use a name with --topology).",
    discussion: "The first one is the default the explorer opens without --topology.")

  @Option(name: .long, help: "Output format: text or json.")
  public var format: OutputFormat = .text

  public init() {}

  public mutating func run() async throws {
    print(try Self.render(format: format), terminator: "")
  }

  /// One built-in as the listing shows it.
  public struct Entry: Sendable, Equatable {
    public var name: String
    public var title: String
    public var functionCount: Int
    public var isDefault: Bool
  }

  /// Loads every built-in (so a broken asset shows up here, not later in the UI).
  public static func entries() throws -> [Entry] {
    try BuiltinAssets.scenarioNames.map { name in
      guard let data = BuiltinAssets.scenarioData(named: name) else {
        throw CLIFailure("built-in scenario '\(name)' cannot be read")
      }
      let scenario = try ScenarioLoader.loadScenario(data: data, path: ScenarioLoader.builtinPathPrefix + name)
      return Entry(
        name: name, title: scenario.title, functionCount: scenario.topology.count,
        isDefault: name == BuiltinAssets.defaultScenarioName)
    }
  }

  /// The whole output as text (`NAME  TITLE` per line, default marked) or JSON.
  public static func render(format: OutputFormat) throws -> String {
    let entries = try entries()
    switch format {
    case .json:
      let objects: [[String: Any]] = entries.map {
        ["name": $0.name, "title": $0.title, "functions": $0.functionCount, "default": $0.isDefault]
      }
      let data = try JSONSerialization.data(
        withJSONObject: ["scenarios": objects], options: [.prettyPrinted, .sortedKeys])
      return String(decoding: data, as: UTF8.self) + "\n"
    case .text, .summary:
      let width = entries.map(\.name.count).max() ?? 0
      return entries.map { entry in
        let padded = entry.name.padding(toLength: width, withPad: " ", startingAt: 0)
        return "\(padded)  \(entry.title)\(entry.isDefault ? " (default)" : "")\n"
      }.joined()
    }
  }
}
