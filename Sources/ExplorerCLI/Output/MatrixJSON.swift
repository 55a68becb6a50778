import P2PDMA
import PCITopology

/// The `matrix --format json` document (README: Matrix), streamed with the `.lines` layout:
/// one pair per line, computed while it is written (a machine with thousands of endpoints has
/// millions of pairs), the summary counted on the way.
struct MatrixJSON: Encodable {
  let engine: P2PEngine
  let includeSelf: Bool

  struct TopologyJSON: Encodable {
    var title: String
    var source: String
    var location: String
  }

  struct CPU: Encodable {
    var rule: String
    var inferred: Bool
    var source: String
  }

  struct Endpoint: Encodable {
    var bdf: String
    var id: String
    var name: String
    var driver: String?
  }

  struct Pair: Encodable {
    var provider: String
    var client: String
    var map_type: String
    /// null for UNKNOWN.
    var distance: Int?
    var acs_redirect: [String]
    var topo: String
    /// UNKNOWN pairs only (the key is absent otherwise): which bridges are missing.
    var reason: String?

    enum CodingKeys: String, CodingKey { case provider, client, map_type, distance, acs_redirect, topo, reason }

    func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(provider, forKey: .provider)
      try container.encode(client, forKey: .client)
      try container.encode(map_type, forKey: .map_type)
      try container.encodeIfPresent(distance, forKey: .distance)
      try container.encode(acs_redirect, forKey: .acs_redirect)
      try container.encode(topo, forKey: .topo)
      if let reason { try container.encode(reason, forKey: .reason) }
    }
  }

  /// Counts per map type; `UNKNOWN` only when the input is partial or a pair was UNKNOWN.
  struct Summary: Encodable {
    var counts: MatrixSummary
    var showsUnknown: Bool

    enum CodingKeys: String, CodingKey {
      case endpoints, pairs, BUS_ADDR, THRU_HOST_BRIDGE, NOT_SUPPORTED, UNKNOWN
    }

    func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(counts.endpointCount, forKey: .endpoints)
      try container.encode(counts.pairCount, forKey: .pairs)
      try container.encode(counts.busAddress, forKey: .BUS_ADDR)
      try container.encode(counts.thruHostBridge, forKey: .THRU_HOST_BRIDGE)
      try container.encode(counts.notSupported, forKey: .NOT_SUPPORTED)
      if showsUnknown { try container.encode(counts.unknown, forKey: .UNKNOWN) }
    }
  }

  /// Every ordered endpoint pair, computed as it is encoded; the counts land in `summary`.
  struct Pairs: Encodable {
    let engine: P2PEngine
    let includeSelf: Bool
    let summary: SummaryBox

    func encode(to encoder: any Encoder) throws {
      var array = encoder.unkeyedContainer()
      let topology = engine.topology
      for provider in engine.endpointIndices {
        let providerName = topology[provider].bdf.description
        for client in engine.endpointIndices where includeSelf || provider != client {
          let (mapType, distance) = engine.mapTypeAndDistance(providerIndex: provider, clientIndex: client)
          switch mapType {
          case .busAddress: summary.counts.busAddress += 1
          case .thruHostBridge: summary.counts.thruHostBridge += 1
          case .unknown: summary.counts.unknown += 1
          default: summary.counts.notSupported += 1
          }
          // BUS_ADDR means no redirect was found, so only the other verdicts need the walk.
          let redirect =
            mapType == .busAddress
            ? [] : engine.acsRedirectDevices(providerIndex: provider, clientIndex: client).map(\.description)
          let unknown = mapType == .unknown
          try array.encode(
            Pair(
              provider: providerName, client: topology[client].bdf.description,
              map_type: unknown ? "UNKNOWN" : mapType.shortName, distance: unknown ? nil : distance,
              acs_redirect: redirect, topo: engine.topoClass(providerIndex: provider, clientIndex: client).rawValue,
              // Only partial inputs have these; the reason says which bridges are missing.
              reason: unknown
                ? engine.verdict(providerIndex: provider, clientIndex: client, verbose: false).reason : nil))
        }
      }
    }
  }

  final class SummaryBox {
    var counts: MatrixSummary
    init(_ counts: MatrixSummary) { self.counts = counts }
  }

  enum CodingKeys: String, CodingKey {
    case topology, cpu, iommu, kernel, disable_acs_redir, kernel_acs_enable, include_self, endpoints, pairs
    case partial_input, summary
  }

  func encode(to encoder: any Encoder) throws {
    let topology = engine.topology
    let configuration = engine.configuration
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(
      TopologyJSON(
        title: topology.source.title, source: topology.source.kind.rawValue, location: topology.source.location),
      forKey: .topology)
    try container.encode(
      CPU(rule: configuration.cpu.rawValue, inferred: configuration.cpuWasInferred, source: configuration.cpuSource),
      forKey: .cpu)
    try container.encode(configuration.iommu.rawValue, forKey: .iommu)
    // One compact line inside the line-per-member document, as it always was.
    try container.encode(CompactJSON(KernelResolution.json(configuration.kernel)), forKey: .kernel)
    try container.encode(configuration.disableACSRedirect.map(\.description), forKey: .disable_acs_redir)
    try container.encode(configuration.simulateKernelACSEnable, forKey: .kernel_acs_enable)
    try container.encode(includeSelf, forKey: .include_self)
    try container.encode(
      engine.endpointIndices.map { index in
        let function = topology[index]
        return Endpoint(
          bdf: function.bdf.description, id: function.idPair, name: function.displayName, driver: function.driver)
      }, forKey: .endpoints)
    let summary = SummaryBox(
      MatrixSummary(endpointCount: engine.endpointIndices.count, includesSelfPairs: includeSelf))
    try container.encode(Pairs(engine: engine, includeSelf: includeSelf, summary: summary), forKey: .pairs)
    // Partial inputs only: which buses lack their upstream, and the UNKNOWN count.
    let partial = MatrixRenderer.partialInputJSON(topology)
    if let partial { try container.encode(partial, forKey: .partial_input) }
    try container.encode(
      Summary(counts: summary.counts, showsUnknown: partial != nil || summary.counts.unknown > 0), forKey: .summary)
  }
}

/// Which buses of a partial input lack their upstream bridge (`matrix` and `explain` JSON).
struct PartialInputJSON: Encodable {
  struct Bus: Encodable {
    var bus: String
    var evidence: String
  }
  var reason: String
  var buses: [Bus]
}
