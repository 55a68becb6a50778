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
      let object: [String: Any] = [
        "source": [
          "kind": topology.source.kind.rawValue, "location": topology.source.location,
          "title": topology.source.title,
        ],
        "devices": (0..<topology.count).map { deviceObject(topology, $0) },
        "warnings": topology.warnings.map(\.description),
      ]
      guard
        let data = try? JSONSerialization.data(
          withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
      else { return "{}\n" }
      return String(decoding: data, as: UTF8.self) + "\n"
    }
  }

  /// One function as the JSON `devices` entry.
  static func deviceObject(_ topology: Topology, _ index: Int) -> [String: Any] {
    let function = topology[index]
    let null = NSNull()
    var object: [String: Any] = [
      "bdf": function.bdf.description,
      "parent": topology.upstreamBridge(of: index).map { topology[$0].bdf.description } ?? null,
      "root_bus": topology.rootBus(of: index).description,
      "vendor_id": hex(function.vendorID, width: 4),
      "device_id": hex(function.deviceID, width: 4),
      "class": hex(function.classCode >> 8, width: 4),
      "name": function.name ?? null,
      "vendor_name": function.vendorName ?? null,
      "header_type": Int(function.headerType),
      "multifunction": function.isMultiFunction,
      "port_type": function.portType?.shortName ?? null,
      "secondary_bus": function.secondaryBus.map { Int($0) } ?? null,
      "subordinate_bus": function.subordinateBus.map { Int($0) } ?? null,
      "acs": acsObject(function.acs),
      "bars": function.bars.map { bar -> [String: Any] in
        [
          "index": bar.index, "address": "0x" + String(bar.address, radix: 16),
          "size": bar.size.map { NSNumber(value: $0) } ?? null, "is_64bit": bar.is64Bit,
          "prefetchable": bar.isPrefetchable, "io": bar.isIO,
        ]
      },
      "iommu_group": function.iommuGroup ?? null,
      "driver": function.driver ?? null,
      "powered_off": function.isPoweredOff,
    ]
    if case .unknown(let reason) = function.acs { object["acs_unknown_reason"] = reason }
    return object
  }

  /// An ACS state as JSON: `"absent"`, `"unknown"`, or the capability and control registers in hex
  /// (shared with `explain --json`'s walk steps).
  static func acsObject(_ acs: ACSState) -> Any {
    switch acs {
    case .absent: return "absent"
    case .unknown: return "unknown"
    case .present(let capability, let control):
      return [
        "capability": "0x" + hex(capability.rawValue, width: 4), "control": "0x" + hex(control.rawValue, width: 4),
      ]
    }
  }
}
