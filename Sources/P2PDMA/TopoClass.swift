import PCITopology

/// The connection class `nvidia-smi topo -m` prints for a pair of devices.
///
/// It answers "what lies on the wire between these two devices", while the kernel's map type
/// answers "may these two devices do peer-to-peer DMA, and with which addresses". A PIX pair can
/// still be THRU_HOST_BRIDGE (ACS redirect on the switch), and a NODE pair can be
/// THRU_HOST_BRIDGE on AMD Zen but NOT_SUPPORTED on a desktop Intel part.
///
/// Approximation: config space says nothing about sockets or NUMA nodes, so two different host
/// bridges are always NODE here; SYS (crossing the inter-socket link) needs platform facts we
/// do not have and is never produced. Switches are counted by their upstream ports.
public enum TopoClass: String, Sendable, CaseIterable {
  /// The same device.
  case same = "X"
  /// Through at most one PCIe switch (or inside one multi-function device).
  case pix = "PIX"
  /// Through several switches, without reaching the host bridge.
  case pxb = "PXB"
  /// Through the host bridge (the CPU's PCIe root complex).
  case phb = "PHB"
  /// Between host bridges within one NUMA node.
  case node = "NODE"
  /// Across the inter-socket interconnect (never produced; see the type's note).
  case sys = "SYS"
  /// Not known: the paths do not meet in the input and one end hangs from a bus whose bridges
  /// are missing (a `lspci -d` section), so a switch, a root port or another host bridge may join
  /// them. Not an nvidia-smi class.
  case unknown = "?"

  /// nvidia-smi's legend, in our words.
  public var meaning: String {
    switch self {
    case .same: return "the same device"
    case .pix: return "through at most one PCIe switch"
    case .pxb: return "through several PCIe switches, not through the host bridge"
    case .phb: return "through a PCIe host bridge, i.e. the CPU's root complex"
    case .node: return "between PCIe host bridges (assumed to be on one NUMA node)"
    case .sys: return "across the link between CPU sockets"
    case .unknown: return "not known: the bridges above one of the devices are not in the input"
    }
  }

  /// Classifies a pair. `common` is the nearest common upstream device (nil when the paths meet
  /// only at the host bridge); `path` is every device between the two endpoints, common included.
  static func classify(
    topology: Topology, provider: Int, client: Int, common: Int?, path: [Int]
  ) -> TopoClass {
    if provider == client { return .same }
    guard let common else {
      let partial = topology.partialInput
      if partial.missing(topology.rootBus(of: provider)) != nil || partial.missing(topology.rootBus(of: client)) != nil
      {
        return .unknown
      }
      return topology.rootBusIndex[provider] == topology.rootBusIndex[client] ? .phb : .node
    }
    // A root port as the meeting point means both devices share the root port's bus, i.e.
    // they are functions of one device (or sit on a conventional PCI bus) below the CPU.
    if topology[common].portType == .rootPort { return .pix }
    var switches = 0
    for node in path where node != provider && node != client {
      let function = topology[node]
      switch function.portType {
      case .upstreamPort: switches += 1
      case .downstreamPort, .rootPort: break
      default:
        // A bridge without an Express port type (conventional PCI, PCIe-to-PCI) counts as
        // one bridge of its own.
        if function.isBridge { switches += 1 }
      }
    }
    return switches <= 1 ? .pix : .pxb
  }
}
