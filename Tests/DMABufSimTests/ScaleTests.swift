import P2PDMA
import PCITopology
import Testing

@testable import DMABufSim

/// Issue 5's target: a 16 GiB system buffer in scattered 4 KiB pages (4,194,304 sg entries),
/// shared with a switch-local importer, IOMMU off and on. Tables stay compact (runs plus merged
/// segments) and entries are computed on demand.
@Suite struct ScaleTests {
  static func simulate(iommu: IOMMUMode) throws -> ShareSimulation {
    let buffer = BufferSpec(name: "huge", size: 16 << 30, preferredPlacement: .system)
    let exporter = SimFixtures.Device(
      vendor: 0x1234, classCode: 0x058000, extras: DeviceExtras(driverProfile: "udmabuf", buffers: [buffer]))
    return try SimFixtures.simulate(
      SimFixtures.topology(exporter: exporter), importers: [SimFixtures.switchImporter], iommu: iommu,
      layout: .scattered)
  }

  @Test func sixteenGiBScatteredWithoutIOMMU() throws {
    let clock = ContinuousClock()
    var simulation: ShareSimulation?
    let elapsed = try clock.measure { simulation = try Self.simulate(iommu: .off) }
    let table = try #require(simulation?.attachments[0].sgTable)
    #expect(table.nents == 4_194_304 && table.origNents == 4_194_304)
    #expect(table[4_194_303].dmaLength == 4096)
    #expect(table[4_194_303].dmaAddress == table[4_194_303].pagePFN! << 12)
    print("note: 16 GiB scattered, IOMMU off: \(elapsed)")
  }

  @Test func sixteenGiBScatteredWithIOMMU() throws {
    let clock = ContinuousClock()
    var simulation: ShareSimulation?
    let elapsed = try clock.measure { simulation = try Self.simulate(iommu: .on) }
    let table = try #require(simulation?.attachments[0].sgTable)
    #expect(table.origNents == 4_194_304)
    // One contiguous IOVA range (16 GiB does not fit below 4 GiB, so the 48-bit fallback);
    // __finalise_sg merges pages until mlx5's 2 GiB max_seg_size: 8 DMA entries.
    #expect(table.nents == 8)
    #expect(table[0].dmaLength == 2 << 30)
    #expect(table.totalDMALength == 16 << 30)
    #expect(simulation?.dmesg.contains { $0.hasSuffix("Using 48-bit DMA addresses") } == true)
    print("note: 16 GiB scattered, IOMMU on: \(elapsed)")
  }
}
