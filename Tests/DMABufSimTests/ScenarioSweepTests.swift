import Assets
import Foundation
import P2PDMA
import PCITopology
import Testing

@testable import DMABufSim

/// Every built-in scenario: each exporter-capable endpoint shares its default buffer with up to
/// three other endpoints, with the IOMMU off and on. Checks the invariants every run must keep.
@Suite struct ScenarioSweepTests {
  @Test(arguments: BuiltinAssets.scenarioNames)
  func everyScenarioSimulates(name: String) throws {
    let data = try #require(BuiltinAssets.scenarioData(named: name))
    let topology = try ScenarioLoader.loadScenario(data: data, path: "builtin:\(name)").topology
    let endpoints = topology.functions.filter(\.isEndpointForMatrix).map(\.bdf)
    var simulated = 0
    for exporter in endpoints {
      guard DMABufSimulator.profile(for: exporter, in: topology)?.exporter != nil else { continue }
      for simulation in try sharesWithIOMMUOffAndOn(from: exporter, among: endpoints, in: topology) {
        simulated += 1
        try checkInvariants(simulation)
      }
    }
    #expect(simulated > 0, "scenario \(name) has no exporter to simulate")
  }

  private func checkInvariants(_ simulation: ShareSimulation) throws {
    #expect(simulation.attachments.count >= 1)
    #expect(simulation.steps.enumerated().allSatisfy { $0.offset == $0.element.index })
    for attachment in simulation.attachments {
      if attachment.error == nil, let table = attachment.sgTable {
        #expect(table.nents > 0)
        #expect(table.totalDMALength >= simulation.buffer.size)
        #expect(table.totalDMALength - simulation.buffer.size < 4096)
        for index in 0..<min(table.nents, 64) {
          let entry = table[index]
          #expect(entry.dmaLength > 0)
          if entry.addressKind != .pciBus {
            #expect(entry.dmaAddress &+ entry.dmaLength &- 1 <= maskValue(attachment.dmaMaskBits))
          }
        }
        if !attachment.peer2peer { #expect(attachment.placement.isSystemMemory) }
      } else {
        #expect(attachment.error != nil || attachment.sgTable != nil)
      }
      if !attachment.isDynamic { #expect(!attachment.peer2peer) }
    }
    // JSON renders and is framed.
    let json = try SimulationReport.json(simulation, maxEntries: 8)
    #expect(json.hasPrefix("{\"kernel_model\"") && json.hasSuffix("}\n"))
  }

  private func maskValue(_ bits: Int) -> UInt64 { bits >= 64 ? .max : (1 << UInt64(bits)) - 1 }
}

/// Every capture in `../shared/data/real/` that the loaders read: each exporter-capable endpoint
/// (at most six per capture) shares its default buffer with up to three others, IOMMU off and on.
/// Files that are not topologies (nccl XML, reports) are skipped; so is the whole suite when the
/// data set is not next to the package.
@Suite struct CaptureSweepTests {
  static let directory: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<4 { url.deleteLastPathComponent() }
    return url.appendingPathComponent("shared/data/real").path
  }()

  static var captures: [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
      .filter { $0.hasSuffix(".txt") }.sorted()
  }

  @Test func everyCaptureSimulates() throws {
    var loaded = 0
    for name in Self.captures {
      guard let topology = try? TopologyLoader.load(spec: Self.directory + "/" + name) else { continue }
      loaded += 1
      let endpoints = topology.functions.filter(\.isEndpointForMatrix).map(\.bdf)
      let exporters = endpoints.filter { DMABufSimulator.profile(for: $0, in: topology)?.exporter != nil }.prefix(6)
      for exporter in exporters {
        let importerCount = min(3, endpoints.filter { $0 != exporter }.count)
        for simulation in try sharesWithIOMMUOffAndOn(from: exporter, among: endpoints, in: topology) {
          #expect(simulation.attachments.count == importerCount, "\(name) \(exporter)")
          for attachment in simulation.attachments where attachment.error == nil {
            #expect(attachment.sgTable != nil, "\(name) \(exporter) -> \(attachment.importer)")
          }
        }
      }
    }
    if Self.captures.isEmpty { print("note: no captures at \(Self.directory); skipped") } else { #expect(loaded > 0) }
  }
}

/// `exporter` shares its default buffer with up to three other `endpoints`, once with the IOMMU
/// off and once on; no runs when there is nobody to share with.
func sharesWithIOMMUOffAndOn(from exporter: BDF, among endpoints: [BDF], in topology: Topology) throws
  -> [ShareSimulation]
{
  let importers = Array(endpoints.filter { $0 != exporter }.prefix(3))
  guard !importers.isEmpty else { return [] }
  return try [IOMMUMode.off, .on].map { iommu in
    try DMABufSimulator.simulate(
      topology: topology,
      request: ShareRequest(
        exporter: exporter, importers: importers,
        configuration: P2PConfiguration(inferringFrom: topology, iommu: iommu)))
  }
}
