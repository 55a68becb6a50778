import ArgumentParser
import Foundation
import PCITopology

/// `dmabuf-explorer tree`: the loaded topology drawn like `lspci -tv`, or as JSON.
public struct TreeCommand: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "tree",
    abstract: "Show the PCI hierarchy as lspci -tv draws it (or as JSON).",
    discussion: """
      Text output has the same shape as 'lspci -tv', so it can be compared with the real thing. \
      Load warnings (malformed lines, partial dumps) go to stderr. JSON lists every function with \
      its parent bridge, root bus, IDs, class, port type, bus range, ACS, BARs, IOMMU group and \
      driver, plus the warnings.
      """)

  @OptionGroup public var topology: TopologyOptions

  @Option(name: .long, help: "Output format: text or json (summary: one line of counts).")
  public var format: OutputFormat = .text

  public init() {}

  public mutating func run() async throws {
    let loaded = try TopologyResolver.resolve(topology.topology)
    // The tree does not depend on the what-ifs, but a mistyped --cpu/--iommu must not pass silently.
    _ = try topology.p2pConfiguration(for: loaded)
    let output = Self.render(loaded, format: format)
    if format != .json {
      for warning in loaded.warnings { CommandLineEntry.printError("warning: \(warning)") }
    }
    try CommandLineEntry.writeOutput(output, json: format == .json)
  }

  /// The command's standard output for a topology.
  public static func render(_ topology: Topology, format: OutputFormat) -> String {
    switch format {
    case .text: return TreeRenderer.render(topology)
    case .summary:
      return "\(topology.source.title): \(topology.count) functions, \(topology.rootBuses.count) root buses, "
        + "\(topology.functions.filter(\.isBridge).count) bridges (\(topology.source.kind.rawValue))\n"
    case .json:
      return (try? JSONOutputEncoder(layout: .pretty).encode(TreeJSON(topology))).map { $0 + "\n" } ?? "{}\n"
    }
  }
}
