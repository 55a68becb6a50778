import Assets
import Foundation
import P2PDMA
import PCITopology
import Testing

@testable import DMABufSim

private typealias F = SimFixtures

/// One test per finding of the issue 10 audit (the simulator against kernel sources).
@Suite struct KernelAuditTests {
  static func share(
    exporterProfile: String, importers: [(BDF, String)], buffer: BufferSpec = F.framebuffer, iommu: IOMMUMode = .off,
    layout: SystemPageLayout = .partlyContiguous
  ) throws -> ShareSimulation {
    let topology = F.topology(exporter: F.gpu(buffers: [buffer], profile: exporterProfile))
    return try DMABufSimulator.simulate(
      topology: topology,
      request: ShareRequest(
        exporter: F.exporter, importers: importers.map(\.0),
        importerProfiles: Dictionary(uniqueKeysWithValues: importers), configuration: F.configuration(iommu: iommu),
        systemPageLayout: layout))
  }

  static func builtin(_ name: String) throws -> Topology {
    let data = try #require(BuiltinAssets.scenarioData(named: name))
    return try ScenarioLoader.loadScenario(data: data, path: "builtin:\(name)").topology
  }

  @Test func vfioRefusesAPinningImporter() throws {
    let buffer = BufferSpec(name: "bar", size: 2 << 20, preferredPlacement: .vram, vramOffset: 0)
    let simulation = try Self.share(
      exporterProfile: "vfio-pci", importers: [(F.switchImporter, "rdma-pinned"), (F.secondSwitchImporter, "mlx5")],
      buffer: buffer)
    let pinned = simulation.attachments[0]
    #expect(pinned.error == "-EOPNOTSUPP" && pinned.failedFunction == "vfio_pci_dma_buf_pin")
    #expect(pinned.sgTable == nil)
    let pinStep = try #require(simulation.steps.first { $0.function == "vfio_pci_dma_buf_pin" })
    #expect(pinStep.failed && pinStep.outcome == "-EOPNOTSUPP")
    #expect(pinStep.source.file == "drivers/vfio/pci/vfio_pci_dmabuf.c" && pinStep.source.confirmed)
    // A dynamic importer that does not pin still maps the BAR range.
    #expect(simulation.attachments[1].error == nil && simulation.attachments[1].sgTable != nil)
  }

  @Test func udmabufListsOnePagePerEntry() throws {
    let topology = F.topology(exporter: F.gpu(buffers: [F.framebuffer], profile: "system-memory"))
    let simulation = try DMABufSimulator.simulate(
      topology: topology,
      request: ShareRequest(
        exporter: F.exporter, importers: [F.switchImporter], configuration: F.configuration(iommu: .off)))
    let table = try #require(simulation.attachments[0].sgTable)
    #expect(table.origNents == 2048 && table.nents == 2048)
    #expect((0..<table.nents).allSatisfy { table[$0].dmaLength == 4096 })
    #expect(simulation.steps.contains { $0.function == "get_sg_table -> sg_alloc_table + sg_set_folio per page" })
    #expect(simulation.steps.contains { $0.function == "map_udmabuf" })
    #expect(
      simulation.steps.contains { $0.function == "dma_buf_put (last reference) -> dma_buf_release -> release_udmabuf" })
    // Under an IOMMU the pages merge on the DMA side only.
    let merged = try DMABufSimulator.simulate(
      topology: topology,
      request: ShareRequest(
        exporter: F.exporter, importers: [F.switchImporter], configuration: F.configuration(iommu: .on)))
    let iommuTable = try #require(merged.attachments[0].sgTable)
    #expect(iommuTable.origNents == 2048 && iommuTable.nents < 2048)
  }

  @Test func i915CopiesItsObjectTableAndSkipsCPUSync() throws {
    var exporter = F.gpu(buffers: [F.framebuffer], profile: "i915", vendor: 0x8086)
    exporter.device = 0x56a0
    let simulation = try F.simulate(F.topology(exporter: exporter), importers: [F.switchImporter])
    let copy = try #require(simulation.steps.first { $0.function.hasPrefix("i915_gem_map_dma_buf: sg_alloc_table") })
    #expect(copy.stateChanges.first?.contains("copied from the object's own table") == true)
    let dma = try #require(simulation.steps.first { $0.actor == .dmaAPI })
    #expect(dma.inputs.hasSuffix("DMA_ATTR_SKIP_CPU_SYNC"))
    #expect(!simulation.steps.contains { $0.function.hasPrefix("drm_prime_pages_to_sg") })
    #expect(simulation.attachments[0].placement == .system)
    #expect(simulation.steps.contains { $0.function == "dma_buf_detach -> i915_gem_dmabuf_detach" })
  }

  @Test func mainlineTracesNameTheDMAMapPhysFunctions() throws {
    for iommu in [IOMMUMode.off, .on] {
      let simulation = try Self.share(exporterProfile: "amdgpu", importers: [(F.switchImporter, "mlx5")], iommu: iommu)
      let dma = try #require(simulation.steps.first { $0.actor == .dmaAPI })
      let notes = dma.stateChanges.joined(separator: "\n")
      #expect(notes.contains(iommu == .on ? "iommu_dma_map_phys(DMA_ATTR_MMIO)" : "dma_direct_map_phys(DMA_ATTR_MMIO)"))
      #expect(!notes.contains("_map_resource:"))
      #expect(dma.kernelNote?.contains("release UNCONFIRMED") == true)
    }
  }

  @Test func power9DoesNotUseTheX86IOMMULayerOrMSIWindow() throws {
    let topology = try Self.builtin("multi-domain")
    #expect(DMALayer.of(topology) == .powerpcIOMMU)
    #expect(!DMALayer.reservesX86MSIWindow(topology))
    let endpoints = topology.functions.filter(\.isEndpointForMatrix).map(\.bdf)
    let exporter = try #require(endpoints.first { DMABufSimulator.profile(for: $0, in: topology)?.exporter == .amdgpu })
    let importers = Array(endpoints.filter { $0 != exporter }.prefix(3))
    let simulation = try DMABufSimulator.simulate(
      topology: topology,
      request: ShareRequest(
        exporter: exporter, importers: importers,
        configuration: P2PConfiguration(inferringFrom: topology, iommu: .on)))
    let text = SimulationReport.text(simulation)
    #expect(!text.contains("iommu_dma_"))
    #expect(!text.contains("__finalise_sg:"))
    #expect(!text.contains("0xfee00000"))
    #expect(text.contains("not dma-iommu, which is built only for ARM64, x86 and s390"))
    // The x86 default still reserves the MSI window.
    let x86 = try Self.builtin("teaching-workstation")
    #expect(DMALayer.of(x86) == .iommuDMA && DMALayer.reservesX86MSIWindow(x86))
  }

  @Test func amdgpuPlacementIsGTTAndItsOpsHaveNoDetach() throws {
    let simulation = try Self.share(
      exporterProfile: "amdgpu", importers: [(F.switchImporter, "mlx5"), (F.rootPortImporter, "v4l2")])
    #expect(simulation.attachments.allSatisfy { $0.placement == .gtt })
    #expect(simulation.steps.contains { $0.stateChanges.contains("BO pinned in GTT: no validation, it stays there") })
    #expect(!simulation.steps.contains { $0.function.contains("exporter detach") })
    let detaches = simulation.steps.filter { $0.function.hasPrefix("dma_buf_detach") }
    #expect(detaches.count == 2 && detaches.allSatisfy { $0.function == "dma_buf_detach" })
    let xe = try Self.share(exporterProfile: "xe", importers: [(F.switchImporter, "mlx5")])
    #expect(xe.steps.contains { $0.function == "dma_buf_detach -> xe_dma_buf_detach" })
  }

  @Test func xePinsInVRAMWhenEveryAttachmentIsP2P() throws {
    let simulation = try Self.share(exporterProfile: "xe", importers: [(F.switchImporter, "rdma-pinned")])
    let attachment = simulation.attachments[0]
    #expect(attachment.error == nil && attachment.placement == .vram && attachment.peer2peer)
    let pin = try #require(simulation.steps.first { $0.function == "xe_dma_buf_pin" })
    #expect(pin.stateChanges.first?.hasPrefix("pinned in VRAM") == true)
    #expect(!pin.source.confirmed)
  }

  /// Every step every golden share prints has a catalogued source, and JSON carries it.
  @Test func everyStepHasACataloguedSource() throws {
    var functions = Set<String>()
    for name in BuiltinAssets.scenarioNames {
      let topology = try Self.builtin(name)
      let endpoints = topology.functions.filter(\.isEndpointForMatrix).map(\.bdf)
      for exporter in endpoints where DMABufSimulator.profile(for: exporter, in: topology)?.exporter != nil {
        for simulation in try sharesWithIOMMUOffAndOn(from: exporter, among: endpoints, in: topology) {
          functions.formUnion(simulation.steps.map(\.function))
        }
      }
    }
    for profile in GoldenOutputTests.exporterProfiles {
      for importers in [
        [(F.switchImporter, "rdma-pinned"), (F.rootPortImporter, "iommufd")], [(F.switchImporter, "xe")],
      ] {
        functions.formUnion(try Self.share(exporterProfile: profile, importers: importers).steps.map(\.function))
      }
    }
    let missing = functions.filter { !SourceCatalogue.knows($0) }.sorted()
    #expect(missing.isEmpty, "steps without a catalogued source: \(missing)")
    let simulation = try Self.share(exporterProfile: "amdgpu", importers: [(F.switchImporter, "mlx5")])
    let json = try SimulationReport.json(simulation, maxEntries: 2)
    let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    let steps = try #require(object["steps"] as? [[String: Any]])
    let source = try #require(steps[0]["source"] as? [String: Any])
    #expect(source["file"] as? String == "drivers/gpu/drm/amd/amdgpu/amdgpu_dma_buf.c")
    #expect(source["function"] as? String == "amdgpu_gem_prime_export")
    #expect(source["release"] as? String == "mainline (v7.3-era)")
    #expect(source["confirmed"] as? Bool == true)
    #expect(steps.allSatisfy { ($0["source"] as? [String: Any])?["file"] is String })
  }
}

extension KernelAuditTests {
  /// The Talos II capture names no CPU; its IBM PHB root ports make it POWER.
  @Test(
    .enabled(if: GoldenOutputTests.capturesAvailable, "real captures not found next to the package"))
  func power9CaptureIsRecognised() throws {
    let topology = try TopologyLoader.load(
      spec: CaptureSweepTests.directory + "/server-raptor-talos2-power9_lspci-vvxxx.txt")
    #expect(topology.platform.cpuVendor == nil)
    #expect(DMALayer.of(topology) == .powerpcIOMMU)
    #expect(!DMALayer.reservesX86MSIWindow(topology))
  }
}

extension KernelAuditTests {
  @Test func udmabufPageSplit() {
    let runs = PageRuns(runs: [(pfn: 0x100, pages: 3), (pfn: 0x200, pages: 1)])
    let pages = runs.splitIntoPages()
    #expect(pages.firstPFN == [0x100, 0x101, 0x102, 0x200] && pages.pageCount == [1, 1, 1, 1])
    #expect(pages.totalPages == 4)
    let single = PageRuns(runs: [(pfn: 0x300, pages: 1), (pfn: 0x400, pages: 1)])
    #expect(single.splitIntoPages() == single)
  }
}
