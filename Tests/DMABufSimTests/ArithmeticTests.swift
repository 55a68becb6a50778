import P2PDMA
import PCITopology
import Testing

@testable import DMABufSim

private func device(
  iommu: IOMMUMode, maskBits: Int = 64, maxSegment: UInt64 = 0x10000, boundary: UInt64 = 0xffff_ffff
) -> DMADevice {
  DMADevice(
    bdf: BDF("0000:04:00.0")!, driverName: "test", dmaMaskBits: maskBits, maxSegmentSize: maxSegment,
    segmentBoundaryMask: boundary, iommu: iommu, domain: IOVADomain())
}

@Suite struct DMAMapSGTests {
  /// 16 KiB, 4 KiB, 64 KiB and 8 KiB runs. IOVA: 23 pages rounded to 32 (cacheable size) and
  /// aligned to 128 KiB below 4 GiB, so the base is 0xfffe0000. __finalise_sg merges the first
  /// two (20 KiB <= 64 KiB), cannot add the 64 KiB run, and cannot add the 8 KiB run to it.
  @Test func iommuMergesUpToMaxSegmentSize() throws {
    let runs = PageRuns(runs: [(0x1000, 4), (0x2000, 1), (0x3000, 16), (0x4000, 2)])
    let result = try DMAMapper.mapPages(runs, device: device(iommu: .on)).get()
    let table = result.table
    #expect(table.origNents == 4)
    #expect(table.nents == 3)
    #expect(table[0].dmaAddress == 0xfffe_0000 && table[0].dmaLength == 20 << 10)
    #expect(table[0].cpuEntries == 0..<2)
    #expect(table[1].dmaAddress == 0xfffe_5000 && table[1].dmaLength == 64 << 10)
    #expect(table[2].dmaAddress == 0xffff_5000 && table[2].dmaLength == 8 << 10)
    #expect(table[2].pagePFN == 0x4000)
    #expect(table.cpuEntry(2) == SGCPUEntry(pagePFN: 0x3000, length: 64 << 10))
    #expect(table[1].target == .iova(.systemRAM(firstPFN: 0x3000, pages: 16)))
  }

  @Test func largerMaxSegmentMergesEverything() throws {
    let runs = PageRuns(runs: [(0x1000, 4), (0x2000, 1), (0x3000, 16), (0x4000, 2)])
    let table = try DMAMapper.mapPages(runs, device: device(iommu: .on, maxSegment: 0xffff_ffff)).get().table
    #expect(table.nents == 1)
    #expect(table[0].dmaLength == 23 << 12)
  }

  /// A 64 KiB segment boundary: the third run (64 KiB) would straddle 0x10000 from offset 0x5000,
  /// so the second entry is padded and the third starts on the boundary, unmerged.
  @Test func segmentBoundaryPadsAndSplits() throws {
    let runs = PageRuns(runs: [(0x1000, 4), (0x2000, 1), (0x3000, 16)])
    let table = try DMAMapper.mapPages(runs, device: device(iommu: .on, maxSegment: 0xffff_ffff, boundary: 0xffff))
      .get().table
    #expect(table.nents == 2)
    #expect(table[0].dmaLength == 20 << 10)
    #expect(table[1].dmaAddress - table[0].dmaAddress == 0x10000)
    #expect(table[1].dmaLength == 64 << 10)
  }

  @Test func dmaDirectKeepsOneEntryPerRun() throws {
    let runs = PageRuns(runs: [(0x100000, 4), (0x100005, 1)])
    let table = try DMAMapper.mapPages(runs, device: device(iommu: .off)).get().table
    #expect(table.nents == 2 && table.origNents == 2)
    #expect(table[0].dmaAddress == 0x1_0000_0000 && table[0].dmaLength == 16 << 10)
    #expect(table[1].dmaAddress == 0x1_0000_5000)
  }

  @Test func fullSimulationUnderIOMMUHasFewerDMAEntries() throws {
    let buffer = BufferSpec(name: "pages", size: 64 << 20, preferredPlacement: .system)
    let exporter = SimFixtures.Device(
      vendor: 0x1234, classCode: 0x058000, extras: DeviceExtras(driverProfile: "udmabuf", buffers: [buffer]))
    let topology = SimFixtures.topology(exporter: exporter)
    let simulation = try SimFixtures.simulate(topology, importers: [SimFixtures.switchImporter], iommu: .on)
    let table = try #require(simulation.attachments[0].sgTable)
    #expect(simulation.exporterProfile.name == "system-memory")
    #expect(table.nents < table.origNents)
    #expect(table.totalDMALength == 64 << 20)
    // mlx5's 2 GiB max_seg_size: the IOVA range is contiguous, so everything merges except at
    // 4 GiB segment boundaries; 64 MiB fits in one segment.
    #expect(table.nents == 1)
  }

  @Test func scatteredGigabyteTableIsCompactAndRandomAccess() throws {
    let runs = SystemPageAllocator.allocate(size: 1 << 30, seed: 7, layout: .scattered)
    #expect(runs.count == 262_144)
    let direct = try DMAMapper.mapPages(runs, device: device(iommu: .off)).get().table
    #expect(direct.nents == 262_144)
    #expect(direct[200_000].dmaLength == 4096)
    let merged = try DMAMapper.mapPages(runs, device: device(iommu: .on)).get().table
    // 64 KiB max segments over 4 KiB pages: 16 pages per DMA entry.
    #expect(merged.nents == 262_144 / 16)
    #expect(merged[100].cpuEntries == 1600..<1616)
    #expect(merged.totalDMALength == 1 << 30)
    // The 1 GiB IOVA range does not fit below 4 GiB? It does: 0xc0000000 (aligned to 1 GiB).
    #expect(merged[0].dmaAddress == 0xc000_0000)
  }
}

@Suite struct ResourceAndIOVATests {
  @Test func iovaAllocatorFallsBackAbove4GiBWithANotice() {
    var domain = IOVADomain()
    // 3 GiB is aligned to 4 GiB, which cannot sit below 4 GiB (IOVA page 0 is never used).
    let first = domain.allocate(size: 3 << 30, dmaMask: UInt64.max)
    #expect(first.iova == 0xffff_0000_0000)
    #expect(first.notice == "Using 48-bit DMA addresses")
  }

  @Test func iovaAllocatorIsTopDownAndSizeAligned() {
    var domain = IOVADomain()
    domain.reserve(start: 0xfee0_0000, end: 0xfeef_ffff, why: "MSI")
    #expect(domain.allocate(size: 4096, dmaMask: UInt64.max).iova == 0xffff_f000)
    #expect(domain.allocate(size: 4096, dmaMask: UInt64.max).iova == 0xffff_e000)
    // 3 pages round up to 4 (cacheable sizes are powers of two), aligned to 16 KiB.
    #expect(domain.allocate(size: 3 * 4096, dmaMask: UInt64.max).iova == 0xffff_8000)
    // 8 GiB does not fit below 4 GiB: the SAC attempt fails once, then the 48-bit aperture.
    let big = domain.allocate(size: 8 << 30, dmaMask: UInt64.max)
    #expect(big.iova == 0xfffe_0000_0000)
    #expect(big.notice == "Using 48-bit DMA addresses")
    #expect(!domain.pci32BitWorkaround)
    // A 40-bit device gets IOVAs below its mask.
    var small = IOVADomain()
    _ = small.allocate(size: 8 << 30, dmaMask: (1 << 40) - 1)
    #expect(small.allocate(size: 1 << 20, dmaMask: (1 << 40) - 1).iova! < (1 << 40))
  }

  /// free_iova moves the cached node back up, so a freed range is found again at once.
  @Test func freedIOVAIsReused() {
    var domain = IOVADomain()
    let first = domain.allocate(size: 4096, dmaMask: UInt64.max).iova
    let second = domain.allocate(size: 4096, dmaMask: UInt64.max).iova
    #expect(first == 0xffff_f000 && second == 0xffff_e000)
    domain.free(iova: 0xffff_f000)
    #expect(domain.allocate(size: 4096, dmaMask: UInt64.max).iova == 0xffff_f000)
    // Freeing something that is not an allocation (a reservation, an unknown address) is ignored.
    domain.reserve(start: 0x1000_0000, end: 0x1fff_ffff, why: "test")
    domain.free(iova: 0x1000_0000)
    domain.free(iova: 0x1234_5000)
    #expect(domain.allocate(size: 4096, dmaMask: UInt64.max).iova == 0xffff_d000)
  }

  @Test func invalidatedImporterRemapsAtTheSameIOVA() throws {
    let simulation = try SimFixtures.simulate(
      SimFixtures.topology(exporter: SimFixtures.gpu(buffers: [SimFixtures.framebuffer])),
      importers: [SimFixtures.switchImporter, SimFixtures.rootPortImporter], iommu: .on)
    let dynamic = try #require(simulation.attachments[0].sgTable)
    let stat = try #require(simulation.attachments[1].sgTable)
    #expect(simulation.attachments[0].invalidations == 1)
    // Its VRAM IOVAs were freed on invalidation; the page mapping takes the top again. 8 MiB of
    // pages is one aligned 8 MiB IOVA: 0xff800000, in each importer's own domain.
    #expect(dynamic[0].dmaAddress == 0xff80_0000)
    #expect(stat[0].dmaAddress == 0xff80_0000)
  }

  @Test func vramEntriesAreCappedAt2GiB() throws {
    let result = try DMAMapper.mapVRAM(
      blocks: [VRAMBlock(offset: 0, size: 4 << 30), VRAMBlock(offset: 4 << 30, size: 1 << 30)],
      exporter: BDF("0000:03:00.0")!, bar: 0, barCPUStart: 0x100_0000_0000, device: device(iommu: .off)
    ).get()
    #expect(result.table.nents == 3)
    #expect(result.table[0].dmaLength == 2 << 30 && result.table[1].dmaLength == 2 << 30)
    #expect(result.table[1].dmaAddress == 0x100_8000_0000)
    #expect(result.table[2].dmaAddress == 0x101_0000_0000 && result.table[2].dmaLength == 1 << 30)
  }

  /// Mainline splits phys-vec entries at UINT_MAX (issue 10), not ALIGN_DOWN(UINT_MAX, PAGE_SIZE).
  @Test func physVecEntriesAreSplitAtUINTMax() throws {
    let bar = BAR(index: 2, address: 0x200_0000_0000, size: 16 << 30, busOffset: 0x1000_0000)
    let result = try DMAMapper.physVecToSGT(
      provider: BDF("0000:03:00.0")!, bar: bar, rangeOffset: 0, size: 8 << 30, mapType: .busAddress,
      device: device(iommu: .off)
    ).get()
    #expect(result.table.origNents == 0)
    #expect(result.table.nents == 3)
    #expect(result.table[0].dmaLength == 0xffff_ffff)
    #expect(result.table[0].dmaAddress == 0x200_1000_0000)
    #expect(result.table[1].dmaAddress == 0x200_1000_0000 + 0xffff_ffff)
    #expect(result.table[2].dmaLength == 2)
    #expect((0..<3).allSatisfy { !result.table[$0].isBusAddress && result.table[$0].addressKind == .pciBus })
  }

  @Test func buddyDecompositionAndAllocator() {
    #expect(
      VRAMBuddyAllocator.alignedDecomposition(offset: 1 << 20, size: 8 << 20) == [
        VRAMBlock(offset: 1 << 20, size: 1 << 20), VRAMBlock(offset: 2 << 20, size: 2 << 20),
        VRAMBlock(offset: 4 << 20, size: 4 << 20), VRAMBlock(offset: 8 << 20, size: 1 << 20),
      ])
    var allocator = VRAMBuddyAllocator(limit: 256 << 20, occupiedBySeed: 42)
    let blocks = allocator.allocate(size: 12 << 20)!
    #expect(blocks.reduce(0) { $0 + $1.size } == 12 << 20)
    for block in blocks {
      #expect(block.size.nonzeroBitCount == 1 && block.offset % block.size == 0)
      #expect(block.offset + block.size <= 256 << 20)
    }
    for (a, b) in zip(blocks, blocks.dropFirst()) { #expect(a.offset + a.size <= b.offset) }
    var again = VRAMBuddyAllocator(limit: 256 << 20, occupiedBySeed: 42)
    #expect(again.allocate(size: 12 << 20) == blocks)
    var tooSmall = VRAMBuddyAllocator(limit: 4 << 20)
    #expect(tooSmall.allocate(size: 8 << 20) == nil)
  }
}

@Suite struct StructPageCostTests {
  @Test func tableRowsMatchTheCorrected2018Mail() {
    let rows = StructPageCost.referenceRows
    #expect(rows.map(\.structPageRAM) == [64 << 20, 128 << 20, 256 << 20, 512 << 20])
    #expect(rows[3].formula == "2^6·2^35/2^12 = 2^29")
    #expect(StructPageCost.bytes(forDeviceMemory: 24 << 30) == 384 << 20)
    #expect(StructPageCost.bytes(forDeviceMemory: 80 << 30) == 1280 << 20)
    #expect(formatBytes(1280 << 20) == "1.25 GiB")
  }

  @Test func simulationShowsTheTradeoff() throws {
    let simulation = try SimFixtures.simulate(
      SimFixtures.topology(exporter: SimFixtures.gpu(buffers: [SimFixtures.framebuffer])),
      importers: [SimFixtures.switchImporter])
    let tradeoff = try #require(simulation.structPageTradeoff)
    #expect(tradeoff.deviceMemory == 16 << 30)
    #expect(tradeoff.structPageRAM == 256 << 20)
    #expect(tradeoff.note.contains("dma_map_resource"))
  }
}

@Suite struct ProfileSelectionTests {
  @Test func inferenceFollowsVendorClassAndPosition() {
    let topology = SimFixtures.topology(
      exporter: SimFixtures.gpu(buffers: []),
      rootPortImporter: SimFixtures.Device(vendor: 0x8086, classCode: 0x030000),
      secondSwitchImporter: SimFixtures.Device(vendor: 0x8086, classCode: 0x030000))
    #expect(DMABufSimulator.profile(for: SimFixtures.exporter, in: topology)?.name == "amdgpu")
    #expect(DMABufSimulator.profile(for: SimFixtures.switchImporter, in: topology)?.name == "mlx5")
    #expect(DMABufSimulator.profile(for: SimFixtures.secondSwitchImporter, in: topology)?.name == "xe")
    // Intel display directly on the root bus: integrated, i915.
    var functions = topology.functions
    functions.append(PCIFunction(bdf: BDF("0000:00:02.0")!, vendorID: 0x8086, deviceID: 0x46a6, classCode: 0x030000))
    functions.removeAll { $0.bdf == BDF("0000:00:02.0")! && $0.isBridge }
    let withIGPU = Topology(functions: functions, source: topology.source)
    #expect(DMABufSimulator.profile(for: BDF("0000:00:02.0")!, in: withIGPU)?.name == "i915")
  }

  @Test func scenarioAndDriverNameWinOverInference() {
    var nic = SimFixtures.mellanox
    nic.extras = DeviceExtras(driverProfile: "v4l2")
    var gpu = SimFixtures.gpu(buffers: [])
    gpu.driver = "vfio-pci"
    let topology = SimFixtures.topology(exporter: gpu, switchImporter: nic)
    let nicProfile = DMABufSimulator.profile(for: SimFixtures.switchImporter, in: topology)
    #expect(nicProfile?.name == "v4l2")
    #expect(nicProfile?.chosenBecause.contains("scenario") == true)
    #expect(DMABufSimulator.profile(for: SimFixtures.exporter, in: topology)?.name == "vfio-pci")
    #expect(DriverProfile.named("udmabuf")?.name == "system-memory")
    #expect(DriverProfile.named("MLX5_CORE")?.name == "mlx5")
  }
}
