import Dispatch
import PCITopology
import Synchronization

/// Per-function facts precomputed once so that a pair is answered by walking to the nearest
/// common ancestor, with no allocation.
final class FastPathTables: Sendable {
  struct Node: Sendable {
    /// Upstream bridge index, -1 on a root bus.
    var parent: Int32
    /// Number of bridges above the function (0 on a root bus).
    var depth: Int32
    /// Devices with ACS redirect from this function up to the root bus, both ends included.
    var redirectsToRoot: Int32
    /// 1 when this function itself has ACS redirect.
    var redirectsHere: Int32
    /// Index into `Topology.rootBuses`.
    var rootBus: Int32
  }

  /// What the allowlist says about one root bus, without the warning.
  enum HostBridgeStatus: UInt8 {
    case refused = 0
    /// Matched an entry with REQ_SAME_HOST_BRIDGE: allowed only when both devices are under it.
    case allowedWithinOnly = 1
    case allowed = 2
  }

  /// Which decision function the release has (kernel-history.md §1a).
  enum Era: UInt8, Sendable {
    /// Before 4.20: no P2PDMA, every pair refused.
    case noP2PDMA
    /// 4.20–5.3 and RHEL 8: `upstream_bridge_distance()` returns an int; redirect or no common
    /// bridge refuses (AMD root-complex exception from 5.2).
    case intDistance
    /// 5.4 on: map types and the host-bridge gate.
    case mapTypes
  }

  /// The per-release switches of `classify`.
  struct Rules: Sendable {
    var era: Era
    /// `cpu_supports_p2pdma()` (false before 5.9).
    var cpuAllows: Bool
  }

  let nodes: [Node]
  /// 5.4 on: the whitelist per root bus. 4.20–5.3: 1 when the root bus passes
  /// `root_complex_whitelist()` (AMD 1022:1450 at 00.0, from 5.2), else 0.
  let hostBridgeStatus: [UInt8]
  let rules: Rules
  /// `cpu_supports_p2pdma()`.
  var cpuAllows: Bool { rules.cpuAllows }
  /// Per root-bus index: what the input lacks there, `RootGap` bits (P2PEngine+PartialInput.swift).
  let rootGaps: [UInt8]
  let hasMissingUpstream: Bool

  init(topology: Topology, configuration: P2PConfiguration) {
    let count = topology.count
    let engineForACS = ACSReader(topology: topology, configuration: configuration)
    var nodes = [Node](
      repeating: Node(parent: -1, depth: -1, redirectsToRoot: 0, redirectsHere: 0, rootBus: 0), count: count)
    for index in 0..<count {
      nodes[index].parent = topology.parentIndex[index]
      nodes[index].rootBus = topology.rootBusIndex[index]
      nodes[index].redirectsHere = engineForACS.redirects(index) ? 1 : 0
    }
    // Depth and cumulative redirect counts, filled top-down along each chain.
    var chain: [Int] = []
    for start in 0..<count where nodes[start].depth < 0 {
      chain.removeAll(keepingCapacity: true)
      var current = start
      while current >= 0 && nodes[current].depth < 0 {
        chain.append(current)
        current = Int(nodes[current].parent)
      }
      var depth: Int32 = current >= 0 ? nodes[current].depth : -1
      var redirects: Int32 = current >= 0 ? nodes[current].redirectsToRoot : 0
      for member in chain.reversed() {
        depth += 1
        redirects += nodes[member].redirectsHere
        nodes[member].depth = depth
        nodes[member].redirectsToRoot = redirects
      }
    }
    self.nodes = nodes
    rootGaps = Self.rootGaps(topology)
    hasMissingUpstream = rootGaps.contains { $0 != 0 }
    let release = configuration.kernel.release
    let era: Era =
      !release.hasP2PDMA ? .noP2PDMA : release.has(.acsRedirectThroughHostBridge) ? .mapTypes : .intDistance
    rules = Rules(era: era, cpuAllows: configuration.cpu.supportsHostBridgeP2P && release.has(.cpuRuleAMDZen))
    if era == .intDistance {
      let exception = release.has(.amdRootComplexAllowlist)
      hostBridgeStatus = topology.rootBuses.map { exception && topology.isAMDZenRootComplex(rootBus: $0) ? 1 : 0 }
      return
    }
    hostBridgeStatus = topology.rootBuses.map { bus in
      guard let device = topology.p2pHostBridgeDevice(forRootBus: bus, release: release) else {
        return HostBridgeStatus.refused.rawValue
      }
      let function = topology[device]
      guard
        let entry = P2PAllowlist.firstMatch(
          vendorID: function.vendorID, deviceID: function.deviceID,
          includeQueued: configuration.allowlistIncludesQueuedEntries, release: release)
      else { return HostBridgeStatus.refused.rawValue }
      return (entry.requiresSameHostBridge ? HostBridgeStatus.allowedWithinOnly : .allowed).rawValue
    }
  }

  /// The nearest device both paths pass through (-1 when none): the deeper device is lifted to
  /// the other's depth, then both go up together until they meet.
  @inline(__always)
  static func commonAncestor(_ first: Int, _ second: Int, nodes: UnsafeBufferPointer<Node>) -> Int {
    var a = first
    var b = second
    var depthA = Int(nodes[a].depth)
    var depthB = Int(nodes[b].depth)
    while depthA > depthB {
      a = Int(nodes[a].parent)
      depthA -= 1
    }
    while depthB > depthA {
      b = Int(nodes[b].parent)
      depthB -= 1
    }
    while a != b {
      if depthA == 0 { return -1 }
      a = Int(nodes[a].parent)
      b = Int(nodes[b].parent)
      depthA -= 1
    }
    return a
  }

  /// The map type and `pci_p2pdma_distance()` (-1 when NOT_SUPPORTED) of one pair.
  ///
  /// Same answer as `calc_map_type_and_dist()`: the nearest common ancestor is found by lifting
  /// the deeper device to the other's depth and then both together; the redirect count of the
  /// kernel's walk (provider side with the common device, client side without it) is a
  /// difference of the cumulative counts.
  @inline(__always)
  static func classify(
    provider: Int, client: Int, nodes: UnsafeBufferPointer<Node>, hostBridgeStatus: UnsafeBufferPointer<UInt8>,
    rules: Rules
  ) -> (MapType, Int) {
    if rules.era != .mapTypes {
      return classifyIntDistance(
        provider: provider, client: client, nodes: nodes, rootComplexAllowed: hostBridgeStatus, era: rules.era)
    }
    let cpuAllows = rules.cpuAllows
    let providerNode = nodes[provider]
    let clientNode = nodes[client]
    let common = commonAncestor(provider, client, nodes: nodes)
    let distance: Int
    if common >= 0 {
      let commonNode = nodes[common]
      distance = Int(providerNode.depth) + Int(clientNode.depth) - 2 * Int(commonNode.depth)
      let redirects =
        providerNode.redirectsToRoot + clientNode.redirectsToRoot - 2 * commonNode.redirectsToRoot
        + commonNode.redirectsHere
      if redirects == 0 { return (.busAddress, distance) }
    } else {
      // Every device on both paths counted: (depth + 1) each.
      distance = Int(providerNode.depth) + Int(clientNode.depth) + 2
    }
    if cpuAllows { return (.thruHostBridge, distance) }
    let providerRoot = Int(providerNode.rootBus)
    let clientRoot = Int(clientNode.rootBus)
    let allowed: Bool
    if providerRoot == clientRoot {
      allowed = hostBridgeStatus[providerRoot] != HostBridgeStatus.refused.rawValue
    } else {
      allowed =
        hostBridgeStatus[providerRoot] == HostBridgeStatus.allowed.rawValue
        && hostBridgeStatus[clientRoot] == HostBridgeStatus.allowed.rawValue
    }
    return allowed ? (.thruHostBridge, distance) : (.notSupported, -1)
  }

  /// 4.20–5.3 and RHEL 8 `upstream_bridge_distance()` as (map type, `pci_p2pdma_distance()`): an
  /// allowed pair is BUS_ADDR (those kernels always map with bus addresses), 0x1000 + distance
  /// through two AMD 1450 root complexes; a redirect or no common bridge is NOT_SUPPORTED (-1).
  static func classifyIntDistance(
    provider: Int, client: Int, nodes: UnsafeBufferPointer<Node>, rootComplexAllowed: UnsafeBufferPointer<UInt8>,
    era: Era
  ) -> (MapType, Int) {
    if era == .noP2PDMA { return (.notSupported, -1) }
    let providerNode = nodes[provider]
    let clientNode = nodes[client]
    let common = commonAncestor(provider, client, nodes: nodes)
    if common >= 0 {
      let commonNode = nodes[common]
      let redirects =
        providerNode.redirectsToRoot + clientNode.redirectsToRoot - 2 * commonNode.redirectsToRoot
        + commonNode.redirectsHere
      if redirects != 0 { return (.notSupported, -1) }
      return (.busAddress, Int(providerNode.depth) + Int(clientNode.depth) - 2 * Int(commonNode.depth))
    }
    if rootComplexAllowed[Int(providerNode.rootBus)] != 0 && rootComplexAllowed[Int(clientNode.rootBus)] != 0 {
      return (.busAddress, 0x1000 + Int(providerNode.depth) + Int(clientNode.depth) + 2)
    }
    return (.notSupported, -1)
  }
}

/// Reads ACS through the engine's what-if rules without needing a whole engine.
struct ACSReader {
  let topology: Topology
  let configuration: P2PConfiguration

  /// `pci_bridge_has_acs_redir()` after the what-ifs; unknown ACS reads as no redirect.
  func redirects(_ index: Int) -> Bool { configuration.effectiveACS(of: topology[index]).redirects }
}

/// Counts per map type over every ordered pair of matrix endpoints.
public struct MatrixSummary: Sendable, Equatable {
  /// Number of `isEndpointForMatrix` functions.
  public var endpointCount: Int
  /// Whether provider == client pairs were counted.
  public var includesSelfPairs: Bool
  public var busAddress: Int
  public var thruHostBridge: Int
  public var notSupported: Int
  /// Pairs whose answer depends on bridges the input lacks (partial inputs only).
  public var unknown = 0

  public init(
    endpointCount: Int, includesSelfPairs: Bool, busAddress: Int = 0, thruHostBridge: Int = 0, notSupported: Int = 0
  ) {
    self.endpointCount = endpointCount
    self.includesSelfPairs = includesSelfPairs
    self.busAddress = busAddress
    self.thruHostBridge = thruHostBridge
    self.notSupported = notSupported
  }

  /// All ordered pairs counted.
  public var pairCount: Int { busAddress + thruHostBridge + notSupported + unknown }

  /// The count for one map type (0 for types the decision never returns).
  public func count(of mapType: MapType) -> Int {
    switch mapType {
    case .busAddress: return busAddress
    case .thruHostBridge: return thruHostBridge
    case .notSupported: return notSupported
    case .unknown: return unknown
    default: return 0
    }
  }

  mutating func add(_ other: MatrixSummary) {
    busAddress += other.busAddress
    thruHostBridge += other.thruHostBridge
    notSupported += other.notSupported
    unknown += other.unknown
  }
}

extension P2PEngine {
  /// Map type and `pci_p2pdma_distance()` of one pair from the precomputed tables; equals
  /// `verdict(providerIndex:clientIndex:)`'s `mapType` and `distance`.
  /// The indices must be valid topology indices (the tables are read without bounds checks).
  public func mapTypeAndDistance(providerIndex: Int, clientIndex: Int) -> (MapType, Int) {
    precondition(
      tables.nodes.indices.contains(providerIndex) && tables.nodes.indices.contains(clientIndex),
      "mapTypeAndDistance: index out of range")
    let result = tables.nodes.withUnsafeBufferPointer { nodes in
      tables.hostBridgeStatus.withUnsafeBufferPointer { status in
        FastPathTables.classify(
          provider: providerIndex, client: clientIndex, nodes: nodes, hostBridgeStatus: status, rules: tables.rules)
      }
    }
    return tables.partialInputAdjusted(result, provider: providerIndex, client: clientIndex)
  }

  /// Counts per map type over every ordered pair of distinct matrix endpoints (and the
  /// provider == client pairs when `includeSelfPairs`). Runs on all cores.
  public func summary(includeSelfPairs: Bool = false) -> MatrixSummary {
    let endpoints = endpointIndices.map(Int32.init)
    let total = Mutex(MatrixSummary(endpointCount: endpoints.count, includesSelfPairs: includeSelfPairs))
    guard !endpoints.isEmpty else { return total.withLock { $0 } }
    let tables = self.tables
    // More chunks than cores so that an unlucky chunk does not leave a core idle.
    let chunkCount = min(endpoints.count, 64)
    DispatchQueue.concurrentPerform(iterations: chunkCount) { chunk in
      let start = endpoints.count * chunk / chunkCount
      let end = endpoints.count * (chunk + 1) / chunkCount
      var counts = (0, 0, 0, 0)
      endpoints.withUnsafeBufferPointer { endpointBuffer in
        tables.nodes.withUnsafeBufferPointer { nodes in
          tables.hostBridgeStatus.withUnsafeBufferPointer { status in
            for providerSlot in start..<end {
              let provider = Int(endpointBuffer[providerSlot])
              for client32 in endpointBuffer {
                let client = Int(client32)
                if client == provider && !includeSelfPairs { continue }
                var result = FastPathTables.classify(
                  provider: provider, client: client, nodes: nodes, hostBridgeStatus: status, rules: tables.rules)
                if tables.hasMissingUpstream {
                  result = tables.partialInputAdjusted(result, provider: provider, client: client)
                }
                switch result.0 {
                case .busAddress: counts.0 += 1
                case .thruHostBridge: counts.1 += 1
                case .unknown: counts.3 += 1
                default: counts.2 += 1
                }
              }
            }
          }
        }
      }
      var partial = MatrixSummary(
        endpointCount: 0, includesSelfPairs: includeSelfPairs, busAddress: counts.0, thruHostBridge: counts.1,
        notSupported: counts.2)
      partial.unknown = counts.3
      total.withLock { $0.add(partial) }
    }
    return total.withLock { $0 }
  }
}

extension P2PEngine {
  /// The devices `calc_map_type_and_dist()` would list in its ACS message, in its order
  /// (provider side with the common device, then client side without it); empty when the pair
  /// has no common upstream device. Cheaper than `verdict` (no words, no host-bridge check).
  public func acsRedirectDevices(providerIndex: Int, clientIndex: Int) -> [BDF] {
    guard let common = nearestCommonUpstream(providerIndex, clientIndex) else { return [] }
    let nodes = tables.nodes
    var devices: [BDF] = []
    var node = providerIndex
    while true {
      if nodes[node].redirectsHere != 0 { devices.append(topology[node].bdf) }
      if node == common { break }
      node = Int(nodes[node].parent)
    }
    node = clientIndex
    while node != common {
      if nodes[node].redirectsHere != 0 { devices.append(topology[node].bdf) }
      node = Int(nodes[node].parent)
    }
    return devices
  }

  /// The `nvidia-smi topo -m` class of a pair (see `TopoClass` for what it means and its limits).
  public func topoClass(providerIndex: Int, clientIndex: Int) -> TopoClass {
    let common = nearestCommonUpstream(providerIndex, clientIndex)
    var path: [Int] = []
    if let common {
      for start in [providerIndex, clientIndex] {
        var node = start
        while node != common {
          path.append(node)
          node = Int(tables.nodes[node].parent)
        }
      }
      path.append(common)
    }
    return TopoClass.classify(
      topology: topology, provider: providerIndex, client: clientIndex, common: common, path: path)
  }

  /// The nearest device both paths pass through, by depth arithmetic; nil when none.
  func nearestCommonUpstream(_ first: Int, _ second: Int) -> Int? {
    precondition(
      tables.nodes.indices.contains(first) && tables.nodes.indices.contains(second),
      "nearestCommonUpstream: index out of range")
    let common = tables.nodes.withUnsafeBufferPointer { FastPathTables.commonAncestor(first, second, nodes: $0) }
    return common >= 0 ? common : nil
  }
}
