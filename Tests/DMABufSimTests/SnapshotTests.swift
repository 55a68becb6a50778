import Assets
import P2PDMA
import PCITopology
import Testing

@testable import DMABufSim

/// Per-step snapshots (step-true playback): the share as it stands after each step.
@Suite struct ShareSnapshotTests {
  static let gpu = BDF("0000:03:00.0")!
  static let nic = BDF("0000:05:00.0")!
  static let capture = BDF("0000:07:00.0")!

  /// The default built-in scenario's default share: GPU 03:00.0 with the NIC, then the capture card.
  static func defaultShare() throws -> ShareSimulation {
    let name = BuiltinAssets.defaultScenarioName
    let data = try #require(BuiltinAssets.scenarioData(named: name))
    let scenario = try ScenarioLoader.loadScenario(data: data, path: "builtin:\(name)")
    let topology = scenario.topology
    return try DMABufSimulator.simulate(
      topology: topology,
      request: ShareRequest(
        exporter: gpu, importers: [nic, capture],
        configuration: P2PConfiguration(inferringFrom: topology, iommu: .off)))
  }

  @Test func nicMapsVRAMAtTheBARThenIsInvalidatedAndRemappedToSystemMemory() throws {
    let simulation = try Self.defaultShare()
    let steps = simulation.steps
    #expect(steps.allSatisfy { $0.snapshot.attachments.map(\.importer) == [Self.nic, Self.capture] })

    // The NIC's first DMA mapping: one VRAM entry at BAR0 (0x40_0000_0000) + 1 GiB.
    let nicMap = try #require(steps.first { $0.actor == .dmaAPI && $0.attachmentIndex == 0 })
    let nicAtMap = nicMap.snapshot.attachments[0]
    #expect(nicMap.snapshot.placement == .vram)
    #expect(nicAtMap.attached && nicAtMap.mapped && nicAtMap.peer2peer)
    #expect(nicAtMap.mapType == .busAddress && nicAtMap.distance == 4)
    #expect(nicAtMap.mappedPlacement == .vram && !nicAtMap.invalidated)
    let vramTable = try #require(nicAtMap.sgTable)
    #expect(vramTable.nents == 1)
    #expect(vramTable[0].dmaAddress == 0x40_4000_0000)
    #expect(vramTable[0].target == .bar(device: Self.gpu, bar: 0, offset: 0x4000_0000))
    // The capture card has not attached yet.
    #expect(!nicMap.snapshot.attachments[1].attached && nicMap.snapshot.attachments[1].sgTable == nil)

    // The static importer's pin moves the BO to system memory; the NIC's table is invalidated
    // but still shown (flagged) until its re-map.
    let move = try #require(steps.first { $0.function == "amdgpu_bo_pin -> ttm_bo_validate" })
    #expect(move.snapshot.placement == .gtt && move.snapshot.pinCount == 1)
    let invalidate = try #require(steps.first { $0.actor == .importerDriver(Self.nic) && $0.outcome == "unmapped" })
    let nicInvalidated = invalidate.snapshot.attachments[0]
    #expect(nicInvalidated.invalidated && !nicInvalidated.mapped && nicInvalidated.invalidations == 1)
    #expect(nicInvalidated.sgTable == vramTable && nicInvalidated.mappedPlacement == .vram)

    // Still invalidated while the capture card maps.
    let captureMap = try #require(steps.first { $0.actor == .dmaAPI && $0.attachmentIndex == 1 })
    #expect(captureMap.snapshot.attachments[0].invalidated)
    #expect(captureMap.snapshot.attachments[1].mappedPlacement == .gtt)
    #expect(captureMap.snapshot.attachments[1].peer2peer == false)

    // The NIC's re-map replaces the old table with system pages.
    let remap = try #require(steps.last { $0.actor == .dmaAPI && $0.attachmentIndex == 0 })
    #expect(remap.index > invalidate.index)
    let nicRemapped = remap.snapshot.attachments[0]
    #expect(!nicRemapped.invalidated && nicRemapped.mapped && nicRemapped.mappedPlacement == .gtt)
    let systemTable = try #require(nicRemapped.sgTable)
    #expect(systemTable.isPageBacked && systemTable.nents == 10507)
    #expect(systemTable[0].addressKind == .cpuPhysical)

    // Teardown: both detached at the end, the tables they used kept.
    let last = try #require(steps.last)
    #expect(last.snapshot.attachments.allSatisfy { !$0.attached && !$0.mapped && $0.sgTable != nil })
    #expect(last.snapshot.pinCount == 0)
  }

  @Test func everyStepHasASnapshotMatchingTheFinalResultAtTheEnd() throws {
    let simulation = try Self.defaultShare()
    let final = try #require(simulation.steps.last?.snapshot)
    for (snapshot, result) in zip(final.attachments, simulation.attachments) {
      #expect(snapshot.sgTable == result.sgTable)
      #expect(snapshot.invalidations == result.invalidations)
      #expect(snapshot.peer2peer == result.peer2peer)
      #expect(snapshot.error == result.error)
    }
  }
}
