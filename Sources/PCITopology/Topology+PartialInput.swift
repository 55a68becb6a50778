/// A root bus of the input whose upstream (the bridges, root port and host bridge above it) is not
/// in the input, so the hierarchy the kernel walks is cut there.
public struct MissingUpstream: Sendable, Equatable {
  /// The bus that looks like a root bus only because the input stops there.
  public var bus: BusID
  /// What in the input says so, in words.
  public var evidence: String

  public init(bus: BusID, evidence: String) {
    self.bus = bus
    self.evidence = evidence
  }
}

/// What is known about a partial input: the buses whose upstream is missing and a hint on how the
/// input was cut. Empty for complete inputs.
public struct PartialInput: Sendable, Equatable {
  /// Sorted by bus.
  public var buses: [MissingUpstream]
  /// How the input looks cut, e.g. "it looks filtered with -d (every function is vendor 10de)".
  public var hint: String

  public init(buses: [MissingUpstream] = [], hint: String = "") {
    self.buses = buses
    self.hint = hint
  }

  public var isEmpty: Bool { buses.isEmpty }

  /// The finding for one bus, nil when its upstream is not known to be missing.
  public func missing(_ bus: BusID) -> MissingUpstream? { buses.first { $0.bus == bus } }

  /// "the bridges above 0000:04 and 0000:05 are not in the input — it looks filtered with -d
  /// (...); add `lspci -t` or a full dump".
  public func explanation(for buses: [BusID]) -> String {
    let names = buses.map(\.description)
    let list: String
    switch names.count {
    case 0: list = "some buses"
    case 1: list = names[0]
    default: list = names.dropLast().joined(separator: ", ") + " and " + names[names.count - 1]
    }
    return "the bridges above \(list) are not in the input — \(hint); add `lspci -t` or a full dump"
  }
}

extension Topology {
  /// Looks for root buses that cannot be real root buses (`pci_find_host_bridge()` would never
  /// end there on the capturing machine):
  /// * a bus inside a bridge's bus range that no bridge in the input leads to;
  /// * a bus other than 00 whose functions include a PCIe Endpoint, Legacy Endpoint, switch port
  ///   or PCIe-to-PCI bridge (they have an upstream link, so a port sits above them) and nothing
  ///   that stands for a host bridge (class 0600, a Root Port, an RC Integrated Endpoint or Event
  ///   Collector). Bus 00 is never flagged: virtual machines put endpoints there.
  ///
  /// Only dumps are checked: trees label their root buses themselves, sysfs is the live machine,
  /// scenarios and generated machines say what they mean.
  func partialInputFindings() -> (PartialInput, LoadWarning?) {
    switch source.kind {
    case .hexDump, .lspciText, .merged: break
    default: return (PartialInput(), nil)
    }
    var found: [MissingUpstream] = []
    let bridges = functions.filter { $0.isBridge && !$0.isPoweredOff && $0.secondaryBus != nil }
    for bus in rootBuses {
      let members = functions(onBus: bus).map { functions[$0] }
      if let bridge = bridges.first(where: { bridge in
        guard bridge.bdf.domain == bus.domain, let secondary = bridge.secondaryBus,
          let subordinate = bridge.subordinateBus
        else { return false }
        return bus.bus > secondary && bus.bus <= subordinate
      }) {
        found.append(
          MissingUpstream(
            bus: bus,
            evidence:
              "bus \(bus) lies inside the bus range of bridge \(bridge.bdf), but no bridge in the input leads to it"))
        continue
      }
      guard bus.bus != 0 else { continue }
      let standsForHostBridge = members.contains { function in
        if function.isHostBridgeClass { return true }
        switch function.portType {
        case .rootPort, .rootComplexIntegratedEndpoint, .rootComplexEventCollector: return true
        default: return false
        }
      }
      guard !standsForHostBridge else { continue }
      if let below = members.first(where: { function in
        switch function.portType {
        case .endpoint, .legacyEndpoint, .upstreamPort, .downstreamPort, .pcieToPCIBridge: return true
        default: return false
        }
      }), let type = below.portType {
        found.append(
          MissingUpstream(
            bus: bus,
            evidence:
              "\(below.bdf) is a PCIe \(type.lspciName), which has a link to a port above it and never sits on a root bus"
          ))
      }
    }
    guard !found.isEmpty else { return (PartialInput(), nil) }
    let partial = PartialInput(buses: found, hint: cutHint())
    let warning = LoadWarning(
      "partial input: "
        + partial.explanation(for: found.map(\.bus))
        + ". P2P verdicts that depend on them are UNKNOWN, and no function there is taken for a host bridge ("
        + found[0].evidence + (found.count > 1 ? "; likewise on \(found.count - 1) more bus(es)" : "") + ")")
    return (partial, warning)
  }

  /// How the input looks cut: one vendor throughout means `lspci -d VENDOR` (nvidia-bug-report
  /// dumps only 10de and 10b5 devices that way).
  private func cutHint() -> String {
    let vendors = Set(functions.map(\.vendorID))
    if vendors.count == 1, let vendor = vendors.first, functions.count > 0 {
      return "it looks filtered with -d (every function in it is vendor \(hex(vendor, width: 4)))"
    }
    if vendors.count == 2 {
      let list = vendors.sorted().map { hex($0, width: 4) }.joined(separator: " and ")
      return "it looks filtered with -d (it holds only vendors \(list))"
    }
    return "the input looks cut (filtered with -d or -s, or an excerpt)"
  }
}
