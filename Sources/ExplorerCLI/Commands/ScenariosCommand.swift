import ArgumentParser
import Assets
import Foundation
import PCITopology

/// `dmabuf-explorer scenarios`: the built-in machines, one line each.
public struct ScenariosCommand: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "scenarios",
    abstract: "List the built-in topologies (use a name with --topology).",
    discussion: """
      The first one is the default the explorer opens without --topology. With a NAME, shows that \
      scenario's description: what the machine is and what it teaches.
      """)

  @Argument(help: "Show the description of this built-in scenario.")
  public var name: String?

  @Option(name: .long, help: "Output format: text or json.")
  public var format: OutputFormat = .text

  public init() {}

  public mutating func run() async throws {
    if let name {
      try CommandLineEntry.writeOutput(try Self.renderDetails(name: name, format: format), json: format == .json)
    } else {
      try CommandLineEntry.writeOutput(try Self.render(format: format), json: format == .json)
    }
  }

  /// Pretty, and `/` written as `\/`: both outputs always were (JSONSerialization without
  /// `.withoutEscapingSlashes`); kept so the documented output does not change.
  static let encoder = JSONOutputEncoder(layout: .pretty, escapesSlashes: true)

  /// One scenario's name, title, platform and description.
  public static func renderDetails(name: String, format: OutputFormat) throws -> String {
    guard let data = BuiltinAssets.scenarioData(named: name) else {
      throw TopologyError.unknownScenario(name: name, known: BuiltinAssets.scenarioNames)
    }
    let scenario = try ScenarioLoader.loadScenario(data: data, path: ScenarioLoader.builtinPathPrefix + name)
    let platform = scenario.topology.platform
    var platformWords: [String] = []
    if let model = platform.cpuModelName { platformWords.append(model) }
    if let family = platform.cpuFamily { platformWords.append("family 0x\(String(family, radix: 16))") }
    if let iommu = platform.iommu { platformWords.append("IOMMU \(iommu.rawValue)") }
    if let kernel = platform.kernel { platformWords.append("kernel \(kernel)") }
    switch format {
    case .json:
      let document = ScenarioDetailsJSON(
        description: scenario.description, functions: scenario.topology.count, name: scenario.name,
        platform: platformWords.joined(separator: ", "), title: scenario.title)
      return try Self.encoder.encode(document) + "\n"
    case .text, .summary:
      var text = "\(scenario.name): \(scenario.title)\n"
      text += "platform: \(platformWords.joined(separator: ", "))\n"
      text += "functions: \(scenario.topology.count)\n\n"
      text += wrap(scenario.description, width: 96) + "\n"
      return text
    }
  }

  /// Wraps each paragraph at word boundaries for a terminal; long words stay whole.
  static func wrap(_ text: String, width: Int) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).map { paragraph in
      var lines: [String] = []
      var line = ""
      for word in paragraph.split(separator: " ") {
        if !line.isEmpty && line.count + 1 + word.count > width {
          lines.append(line)
          line = ""
        }
        line += line.isEmpty ? String(word) : " " + word
      }
      lines.append(line)
      return lines.joined(separator: "\n")
    }.joined(separator: "\n")
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
      let document = ScenarioListJSON(
        scenarios: entries.map {
          .init(default: $0.isDefault, functions: $0.functionCount, name: $0.name, title: $0.title)
        })
      return try Self.encoder.encode(document) + "\n"
    case .text, .summary:
      let width = entries.map(\.name.count).max() ?? 0
      return entries.map { entry in
        let padded = entry.name.padding(toLength: width, withPad: " ", startingAt: 0)
        return "\(padded)  \(entry.title)\(entry.isDefault ? " (default)" : "")\n"
      }.joined()
    }
  }
}
