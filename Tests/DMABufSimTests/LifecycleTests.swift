import P2PDMA
import PCITopology
import Testing

@testable import DMABufSim

private typealias F = SimFixtures

@Suite struct VRAMExportTests {
  @Test func switchLocalImporterWithoutIOMMUGetsBARPhysicalAddresses() throws {
    let topology = F.topology(exporter: F.gpu(buffers: [F.framebuffer]))
    let simulation = try F.simulate(topology, importers: [F.switchImporter], iommu: .off)
    let attachment = try #require(simulation.attachments.first)
    #expect(simulation.exporterProfile.name == "amdgpu")
    #expect(attachment.importerProfile.name == "mlx5")
    #expect(attachment.allowPeer2peer && attachment.peer2peer)
    #expect(attachment.mapType == .busAddress)
    #expect(attachment.distance == 4)
    #expect(attachment.placement == .vram)
    #expect(attachment.error == nil)
    let table = try #require(attachment.sgTable)
    #expect(table.nents == 4 && table.origNents == 4)
    let expected: [(UInt64, UInt64, UInt64)] = [
      (0xc0_0010_0000, 1 << 20, 0x10_0000), (0xc0_0020_0000, 2 << 20, 0x20_0000),
      (0xc0_0040_0000, 4 << 20, 0x40_0000), (0xc0_0080_0000, 1 << 20, 0x80_0000),
    ]
    for (index, (address, length, offset)) in expected.enumerated() {
      let entry = table[index]
      #expect(entry.dmaAddress == address)
      #expect(entry.dmaLength == length)
      #expect(entry.pagePFN == nil)
      #expect(!entry.isBusAddress)
      #expect(entry.addressKind == .cpuPhysical)
      #expect(entry.target == .bar(device: F.exporter, bar: 0, offset: offset))
      // Inside the exporter's BAR window.
      #expect(entry.dmaAddress >= F.barAddress && entry.dmaAddress + entry.dmaLength <= F.barAddress + (16 << 30))
    }
    // The attach step carries the P2P walk for the animation.
    let walkStep = try #require(simulation.steps.first { $0.actor == .pciP2PDMA })
    #expect(walkStep.p2pVerdict?.mapType == .busAddress)
    #expect(walkStep.function.contains("pci_p2pdma_distance"))
    #expect(simulation.steps.contains { $0.function == "amdgpu_dma_buf_attach" && $0.outcome == "0" })
    #expect(simulation.steps.contains { $0.function == "for_each_sgtable_dma_sg" && $0.sgEntriesVisible == 4 })
  }

  @Test func translatingIOMMUGivesTopDownIOVAsBelowTheMask() throws {
    let topology = F.topology(exporter: F.gpu(buffers: [F.framebuffer]))
    let simulation = try F.simulate(topology, importers: [F.switchImporter], iommu: .on)
    let table = try #require(simulation.attachments[0].sgTable)
    // One dma_map_resource per block, each an IOVA allocated top-down below 4 GiB first
    // (PCI SAC attempt), size-aligned: 1 MiB, 2 MiB, 4 MiB, 1 MiB.
    let expected: [(UInt64, UInt64)] = [
      (0xfff0_0000, 1 << 20), (0xffc0_0000, 2 << 20), (0xff80_0000, 4 << 20), (0xff70_0000, 1 << 20),
    ]
    #expect(table.nents == 4)
    for (index, (address, length)) in expected.enumerated() {
      #expect(table[index].dmaAddress == address)
      #expect(table[index].dmaLength == length)
      #expect(table[index].addressKind == .iova)
      #expect(
        table[index].target.backing
          == .bar(device: F.exporter, bar: 0, offset: [0x10_0000, 0x20_0000, 0x40_0000, 0x80_0000][index]))
      #expect(table[index].dmaAddress < F.barAddress)  // not the BAR address
    }
  }

  @Test func refusedPairMigratesToSystemPages() throws {
    // Other root port, Intel host bridge 4c43 is not allowlisted: NOT_SUPPORTED.
    let topology = F.topology(exporter: F.gpu(buffers: [F.framebuffer]), rootPortImporter: F.mellanox)
    let simulation = try F.simulate(topology, importers: [F.rootPortImporter], iommu: .off)
    let attachment = simulation.attachments[0]
    #expect(attachment.mapType == .notSupported)
    #expect(attachment.distance == -1)
    #expect(attachment.allowPeer2peer && !attachment.peer2peer)
    #expect(attachment.placement == .gtt)
    #expect(attachment.error == nil)
    let table = try #require(attachment.sgTable)
    #expect(table.nents == table.origNents)
    #expect(table.totalDMALength == 8 << 20)
    let runs = SystemPageAllocator.allocate(size: 8 << 20, seed: simulation.buffer.seed, layout: .partlyContiguous)
    #expect(table.nents == runs.count)
    for index in 0..<table.nents {
      let entry = table[index]
      let pfn = try #require(entry.pagePFN)
      #expect(entry.dmaAddress == pfn << 12)
      #expect(pfn >= 0x100000)
      #expect(entry.target == .systemRAM(firstPFN: pfn, pages: entry.dmaLength >> 12))
    }
    // Exact values for the documented seed (FNV-1a of "0000:03:00.0/fb").
    #expect(simulation.buffer.seed == simulationSeed(exporter: F.exporter, bufferName: "fb"))
    #expect(table[0].dmaAddress == runs.firstPFN[0] << 12)
    #expect(simulation.steps.contains { $0.function.contains("ttm_bo_validate") && $0.outcome == "moved" })
  }

  @Test func bufferAboveTheVisibleBARMovesIntoTheWindow() throws {
    let buffer = BufferSpec(name: "high", size: 8 << 20, preferredPlacement: .vram, vramOffset: 1 << 30)
    let exporter = F.gpu(barSize: 256 << 20, vram: 8 << 30, buffers: [buffer])
    let simulation = try F.simulate(F.topology(exporter: exporter), importers: [F.switchImporter])
    #expect(simulation.buffer.visibleVRAMSize == 256 << 20)
    #expect(simulation.buffer.initialBlocks == [VRAMBlock(offset: 1 << 30, size: 8 << 20)])
    let table = try #require(simulation.attachments[0].sgTable)
    #expect(simulation.attachments[0].placement == .vram)
    #expect(table.totalDMALength == 8 << 20)
    for entry in table.entries {
      #expect(entry.dmaAddress >= F.barAddress && entry.dmaAddress + entry.dmaLength <= F.barAddress + (256 << 20))
    }
    #expect(simulation.steps.contains { $0.function.contains("VRAM -> visible VRAM") })
  }

  @Test func bufferLargerThanTheVisibleBARFallsBackToGTT() throws {
    let buffer = BufferSpec(name: "big", size: 512 << 20, preferredPlacement: .vram, vramOffset: 0)
    let exporter = F.gpu(barSize: 256 << 20, vram: 8 << 30, buffers: [buffer])
    let simulation = try F.simulate(F.topology(exporter: exporter), importers: [F.switchImporter])
    #expect(simulation.attachments[0].peer2peer)
    #expect(simulation.attachments[0].placement == .gtt)
    #expect(simulation.attachments[0].sgTable?.isPageBacked == true)
  }

  @Test func xeRefusesABufferThatIsNotFullyCPUVisible() throws {
    let buffer = BufferSpec(name: "high", size: 8 << 20, preferredPlacement: .vram, vramOffset: 1 << 30)
    var exporter = F.gpu(barSize: 256 << 20, vram: 8 << 30, buffers: [buffer], vendor: 0x8086)
    exporter.device = 0xe20b
    let simulation = try F.simulate(F.topology(exporter: exporter), importers: [F.switchImporter])
    #expect(simulation.exporterProfile.name == "xe")
    #expect(simulation.attachments[0].error == "-EOPNOTSUPP")
    #expect(simulation.attachments[0].failedFunction == "xe_ttm_vram_mgr_alloc_sgt")
    #expect(simulation.attachments[0].sgTable == nil)
  }

  @Test func importerWithATooSmallDMAMaskFailsWithTheOverflowMessage() throws {
    // BAR at 0x380000000000 (46 bits); amdgpu importer with its 44-bit mask, IOMMU passthrough.
    var amdImporter = F.gpu(buffers: [])
    amdImporter.extras = DeviceExtras()
    let exporter = F.gpu(barAddress: 0x3800_0000_0000, buffers: [F.framebuffer])
    let topology = F.topology(exporter: exporter, switchImporter: amdImporter)
    let simulation = try F.simulate(topology, importers: [F.switchImporter], iommu: .passthrough)
    let attachment = simulation.attachments[0]
    #expect(attachment.importerProfile.name == "amdgpu")
    #expect(attachment.dmaMaskBits == 44)
    #expect(attachment.peer2peer)
    #expect(attachment.error == "-ENOMEM")
    #expect(attachment.sgTable == nil)
    #expect(
      simulation.dmesg.contains(
        "amdgpu 0000:04:00.0: DMA addr 0x0000380000100000+1048576 overflow (mask fffffffffff, bus limit 0)."))
    // With a translating IOMMU the same pair works: the IOVA is below the mask.
    let translated = try F.simulate(topology, importers: [F.switchImporter], iommu: .on)
    #expect(translated.attachments[0].error == nil)
    #expect(translated.attachments[0].sgTable?[0].dmaAddress == 0xfff0_0000)
  }

  @Test func amdgpuPinsVRAMForAPinnedP2PImporterOnly() throws {
    var pinned = F.mellanox
    pinned.extras = DeviceExtras(driverProfile: "rdma-pinned")
    let topology = F.topology(exporter: F.gpu(buffers: [F.framebuffer]), switchImporter: pinned)
    let simulation = try F.simulate(topology, importers: [F.switchImporter])
    #expect(simulation.attachments[0].placement == .vram)
    #expect(simulation.steps.contains { $0.function == "dma_buf_pin" })
    #expect(simulation.steps.contains { $0.function == "amdgpu_dma_buf_pin" })
  }
}

@Suite struct VFIOTests {
  @Test func busAddressPathGivesBusAddressesWithTheOffset() throws {
    let buffer = BufferSpec(name: "mmio", size: 2 << 20, preferredPlacement: .vram, vramOffset: 1 << 20)
    var exporter = F.gpu(busOffset: -0x40_0000_0000, buffers: [buffer], profile: "vfio-pci")
    exporter.bars = [BAR(index: 0, address: F.barAddress, size: 16 << 30, busOffset: -0x40_0000_0000)]
    // IOMMU on, to show that BUS_ADDR entries are not IOVAs.
    let simulation = try F.simulate(F.topology(exporter: exporter), importers: [F.switchImporter], iommu: .on)
    let attachment = simulation.attachments[0]
    #expect(simulation.exporterProfile.name == "vfio-pci")
    #expect(attachment.mapType == .busAddress)
    let table = try #require(attachment.sgTable)
    #expect(table.nents == 1 && table.origNents == 0)
    #expect(table[0].dmaAddress == 0x80_0010_0000)  // 0xc000100000 - 0x4000000000
    #expect(table[0].dmaLength == 2 << 20)
    // dma_buf_phys_vec_to_sgt never sets SG_DMA_BUS_ADDRESS (issue 10): only the page-based
    // dma_map_sg paths mark P2PDMA pages.
    #expect(!table[0].isBusAddress)
    #expect(table[0].addressKind == .pciBus)
    // The step's words agree with the table: no SG_DMA_BUS_ADDRESS flag, UINT_MAX cap.
    let helper = try #require(simulation.steps.first { $0.function == "dma_buf_phys_vec_to_sgt" })
    #expect(helper.explanation.contains("does not flag them SG_DMA_BUS_ADDRESS"))
    #expect(!helper.explanation.contains("flagged SG_DMA_BUS_ADDRESS"))
    #expect(helper.kernelNote?.hasSuffix("entries capped at UINT_MAX (4 GiB - 1)") == true)
    #expect(table[0].target == .bar(device: F.exporter, bar: 0, offset: 1 << 20))
    #expect(simulation.steps.contains { $0.function == "pci_p2pdma_map_type -> calc_map_type_and_dist" })
  }

  @Test func staticImporterIsRefusedAtAttach() throws {
    let buffer = BufferSpec(name: "mmio", size: 2 << 20, vramOffset: 0)
    let exporter = F.gpu(buffers: [buffer], profile: "vfio-pci")
    let simulation = try F.simulate(F.topology(exporter: exporter), importers: [F.rootPortImporter])
    #expect(simulation.attachments[0].error == "-EOPNOTSUPP")
    #expect(simulation.attachments[0].failedFunction == "vfio_pci_dma_buf_attach")
  }

  @Test func notSupportedFailsAtMapWithEINVALAndVerboseWarnings() throws {
    let buffer = BufferSpec(name: "mmio", size: 2 << 20, vramOffset: 0)
    let exporter = F.gpu(buffers: [buffer], profile: "vfio-pci")
    let topology = F.topology(exporter: exporter, rootPortImporter: F.mellanox)
    let simulation = try F.simulate(topology, importers: [F.rootPortImporter])
    #expect(simulation.attachments[0].peer2peer)
    #expect(simulation.attachments[0].mapType == .notSupported)
    #expect(simulation.attachments[0].error == "-EINVAL")
    let mapStep = try #require(
      simulation.steps.first { $0.function == "pci_p2pdma_map_type -> calc_map_type_and_dist" })
    #expect(mapStep.p2pVerdict?.verbose == true)
    #expect(!mapStep.dmesg.isEmpty)
  }

  @Test func thruHostBridgeUnderIOMMUGetsOneIOVARange() throws {
    let buffer = BufferSpec(name: "mmio", size: 6 << 20, vramOffset: 0)
    let exporter = F.gpu(buffers: [buffer], profile: "vfio-pci")
    let topology = F.topology(exporter: exporter, rootPortImporter: F.mellanox)
    let simulation = try F.simulate(topology, importers: [F.rootPortImporter], iommu: .on, cpu: .amdZen)
    let table = try #require(simulation.attachments[0].sgTable)
    #expect(simulation.attachments[0].mapType == .thruHostBridge)
    // 6 MiB = 1536 pages, aligned to 8 MiB below 4 GiB: 0x100000000 - 6 MiB rounded down to 8 MiB.
    #expect(table.nents == 1)
    #expect(table[0].dmaAddress == 0xff80_0000)
    #expect(table[0].addressKind == .iova)
  }
}

@Suite struct MultiImporterTests {
  @Test func staticImporterDragsEveryoneToSystemMemory() throws {
    let topology = F.topology(exporter: F.gpu(buffers: [F.framebuffer]))
    let simulation = try F.simulate(topology, importers: [F.switchImporter, F.rootPortImporter])
    let dynamic = simulation.attachments[0]
    let stat = simulation.attachments[1]
    #expect(stat.importerProfile.name == "nouveau")
    #expect(!stat.allowPeer2peer && !stat.peer2peer)
    #expect(dynamic.peer2peer)
    #expect(dynamic.placement == .gtt)
    #expect(stat.placement == .gtt)
    #expect(dynamic.invalidations == 1)
    #expect(dynamic.error == nil && stat.error == nil)
    let notifyIndex = try #require(simulation.steps.firstIndex { $0.function.hasPrefix("dma_buf_invalidate_mappings") })
    let pinIndex = try #require(simulation.steps.firstIndex { $0.function == "amdgpu_dma_buf_pin" })
    #expect(pinIndex < notifyIndex)  // the pin decides GTT, the move follows, then the notification
    #expect(
      simulation.steps.contains { $0.function.hasPrefix("mlx5_ib_dmabuf_invalidate_cb") && $0.sgEntriesVisible == 0 })
    #expect(simulation.steps.contains { $0.function == "re-map before next use" })
    // Both importers see the same pages.
    #expect(dynamic.sgTable?[0].pagePFN == stat.sgTable?[0].pagePFN)
    #expect(dynamic.sgTable?.isPageBacked == true)
    // Teardown reaches the final release.
    #expect(simulation.steps.last?.function.contains("dma_buf_release") == true)
  }

  @Test func stepsAreNumberedAndLaned() throws {
    let topology = F.topology(exporter: F.gpu(buffers: [F.framebuffer]))
    let simulation = try F.simulate(topology, importers: [F.switchImporter, F.rootPortImporter])
    for (index, step) in simulation.steps.enumerated() {
      #expect(step.index == index)
      #expect(!step.function.isEmpty && !step.explanation.isEmpty)
      if case .importerDriver(let bdf) = step.actor {
        #expect(step.lane == (bdf == F.switchImporter ? 4 : 5))
      }
    }
  }
}

@Suite struct InputErrorTests {
  @Test func unknownBDFAndBufferAreUserFacing() throws {
    let topology = F.topology(exporter: F.gpu(buffers: [F.framebuffer]))
    #expect(throws: DMABufSimError.self) {
      try DMABufSimulator.simulate(
        topology: topology,
        request: ShareRequest(
          exporter: F.bdf("0000:99:00.0"), importers: [F.switchImporter], configuration: F.configuration(iommu: .off)))
    }
    do {
      _ = try F.simulate(topology, importers: [F.switchImporter], buffer: "nope")
      Issue.record("expected an unknown-buffer error")
    } catch let error as DMABufSimError {
      #expect(error == .unknownBuffer(name: "nope", exporter: F.exporter, known: ["fb"]))
      #expect(error.description.contains("has no buffer named 'nope'"))
    }
  }

  @Test func defaultsAreReportedAsAssumptions() throws {
    let exporter = F.gpu(barSize: nil, vram: nil, buffers: [])
    let simulation = try F.simulate(F.topology(exporter: exporter), importers: [F.switchImporter])
    #expect(simulation.buffer.name == "framebuffer-8MiB")
    #expect(simulation.buffer.vramSize == 8 << 30)
    #expect(simulation.buffer.visibleVRAMSize == 256 << 20)
    #expect(simulation.assumptions.contains { $0.contains("VRAM size not in the input; 8 GiB assumed") })
    #expect(simulation.assumptions.contains { $0.contains("visible VRAM 256 MiB assumed") })
  }
}

@Suite struct ExporterPolicyTests {
  @Test func pinnedVRAMCannotBeRepinnedInGTTForAStaticImporter() throws {
    var pinned = F.mellanox
    pinned.extras = DeviceExtras(driverProfile: "rdma-pinned")
    let topology = F.topology(exporter: F.gpu(buffers: [F.framebuffer]), switchImporter: pinned)
    let simulation = try F.simulate(topology, importers: [F.switchImporter, F.rootPortImporter])
    #expect(simulation.attachments[0].placement == .vram)
    #expect(simulation.attachments[0].invalidations == 0)
    #expect(simulation.attachments[1].error == "-EINVAL")
    #expect(simulation.attachments[1].failedFunction == "amdgpu_dma_buf_pin -> amdgpu_bo_pin")
  }

  @Test func xeStaticImporterPinsInTTAndInvalidatesTheP2PImporter() throws {
    var exporter = F.gpu(buffers: [F.framebuffer], vendor: 0x8086)
    exporter.device = 0xe20b
    let simulation = try F.simulate(F.topology(exporter: exporter), importers: [F.switchImporter, F.rootPortImporter])
    #expect(simulation.exporterProfile.name == "xe")
    #expect(simulation.attachments.allSatisfy { $0.placement == .gtt && $0.error == nil })
    #expect(simulation.attachments[0].invalidations == 1)
    #expect(simulation.steps.contains { $0.function == "xe_dma_buf_pin" })
  }

  @Test func xeRefusesANonMigratableBufferForANonP2PImporter() throws {
    let pinnedBO = BufferSpec(name: "scanout", size: 8 << 20, vramOffset: 0, migratable: false)
    var exporter = F.gpu(buffers: [pinnedBO], vendor: 0x8086)
    exporter.device = 0xe20b
    let simulation = try F.simulate(F.topology(exporter: exporter), importers: [F.rootPortImporter])
    #expect(simulation.attachments[0].error == "-EOPNOTSUPP")
    #expect(simulation.attachments[0].failedFunction == "xe_dma_buf_attach")
  }

  @Test func i915MigratesToSystemMemoryAtAttach() throws {
    let exporter = F.gpu(buffers: [F.framebuffer], profile: "i915")
    let simulation = try F.simulate(F.topology(exporter: exporter), importers: [F.switchImporter])
    // i915 does not touch attach->peer2peer (spec §3.3); the placement is what says "no P2P".
    #expect(simulation.attachments[0].peer2peer == simulation.attachments[0].allowPeer2peer)
    #expect(simulation.attachments[0].placement == .system)
    let attach = try #require(simulation.steps.firstIndex { $0.function == "i915_gem_dmabuf_attach" })
    let move = try #require(simulation.steps.firstIndex { $0.function == "i915_gem_object_migrate(SMEM)" })
    #expect(attach < move)
  }

  @Test func gfx12DCCBufferIsNeverShared() throws {
    let dcc = BufferSpec(name: "dcc", size: 8 << 20, vramOffset: 0, dccCompressed: true)
    let simulation = try F.simulate(F.topology(exporter: F.gpu(buffers: [dcc])), importers: [F.switchImporter])
    #expect(simulation.attachments[0].mapType == .busAddress)
    #expect(!simulation.attachments[0].peer2peer)
    #expect(simulation.attachments[0].placement == .gtt)
  }

  @Test func unknownImporterProfileIsAnInputError() throws {
    let topology = F.topology(exporter: F.gpu(buffers: [F.framebuffer]))
    #expect(throws: DMABufSimError.unknownProfile("warp-drive")) {
      try DMABufSimulator.simulate(
        topology: topology,
        request: ShareRequest(
          exporter: F.exporter, importers: [F.switchImporter], importerProfiles: [F.switchImporter: "warp-drive"],
          configuration: F.configuration(iommu: .off)))
    }
  }
}

@Suite struct AddressSpaceTests {
  /// iova_reserve_pci_windows stand-in: the exporter's BAR (bus 0xf8000000-0xfbffffff) and the
  /// MSI window are skipped, so the 64 MiB IOVA lands at 0xf4000000.
  @Test func iovaSkipsHostBridgeWindowsAndTheMSIWindow() throws {
    let buffer = BufferSpec(name: "low", size: 64 << 20, vramOffset: 0)
    let exporter = F.gpu(barAddress: 0xf800_0000, barSize: 64 << 20, vram: 8 << 30, buffers: [buffer])
    let simulation = try F.simulate(F.topology(exporter: exporter), importers: [F.switchImporter], iommu: .on)
    let table = try #require(simulation.attachments[0].sgTable)
    #expect(table.nents == 1)
    #expect(table[0].dmaAddress == 0xf400_0000)
    #expect(table[0].dmaLength == 64 << 20)
  }

  /// A static importer with a 32-bit mask under dma-direct cannot reach pages above 4 GiB; the
  /// simulator reports the overflow (it does not model swiotlb) and amdgpu returns -EBUSY.
  @Test func pagesAboveA32BitMaskFailUnderDMADirect() throws {
    var capture = F.nvidiaDisplay
    capture.extras = DeviceExtras(driverProfile: "v4l2", dmaMaskBits: 32)
    let topology = F.topology(exporter: F.gpu(buffers: [F.framebuffer]), rootPortImporter: capture)
    let simulation = try F.simulate(topology, importers: [F.rootPortImporter])
    #expect(simulation.attachments[0].error == "-EBUSY")
    #expect(
      simulation.dmesg.contains {
        $0.hasPrefix("videobuf2 0000:07:00.0: DMA addr 0x00000001") && $0.contains("mask ffffffff,")
      })
    // Under a translating IOMMU the same importer works: the IOVA is below 4 GiB.
    let translated = try F.simulate(topology, importers: [F.rootPortImporter], iommu: .on)
    #expect(translated.attachments[0].error == nil)
    #expect(translated.attachments[0].sgTable.map { $0[0].dmaAddress < (1 << 32) } == true)
  }
}

@Suite struct HostileInputTests {
  @Test func absurdBuffersAreInputErrorsNotTraps() throws {
    let cases: [(BufferSpec, String)] = [
      (BufferSpec(name: "empty", size: 0), "its size is 0"),
      (BufferSpec(name: "huge", size: 1 << 50), "more than the simulator handles"),
      (BufferSpec(name: "wrap", size: 1 << 20, vramOffset: UInt64.max - 4096), "does not fit in 64 bits"),
    ]
    for (buffer, message) in cases {
      let topology = F.topology(exporter: F.gpu(buffers: [buffer]))
      do {
        _ = try F.simulate(topology, importers: [F.switchImporter])
        Issue.record("expected an error for \(buffer.name)")
      } catch let error as DMABufSimError {
        #expect(error.description.contains(message))
      }
    }
  }

  @Test func hugeBARsZeroVRAMAndOddMasksDoNotTrap() throws {
    var exporter = F.gpu(
      barAddress: UInt64.max - 0xfff, barSize: UInt64.max, vram: 0, visible: 0, buffers: [F.framebuffer])
    exporter.extras.dmaMaskBits = -3
    var importer = F.mellanox
    importer.extras = DeviceExtras(dmaMaskBits: 200)
    importer.bars = [BAR(index: 0, address: UInt64.max - 0xfff, size: UInt64.max)]
    let topology = F.topology(exporter: exporter, switchImporter: importer)
    for iommu in IOMMUMode.allCases {
      let simulation = try F.simulate(topology, importers: [F.switchImporter, F.rootPortImporter], iommu: iommu)
      #expect(simulation.attachments.count == 2)
      _ = SimulationReport.text(simulation)
      _ = try SimulationReport.json(simulation)
    }
    var vfio = exporter
    vfio.extras.driverProfile = "vfio-pci"
    vfio.extras.buffers = []
    let simulation = try F.simulate(F.topology(exporter: vfio, switchImporter: importer), importers: [F.switchImporter])
    #expect(simulation.structPageTradeoff != nil)
    _ = SimulationReport.text(simulation)
    #expect(formatBytes(UInt64.max) == "16384 PiB" || formatBytes(UInt64.max).hasSuffix("TiB"))
  }
}
