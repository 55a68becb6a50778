import P2PDMA
import PCITopology
import Testing

@testable import DMABufSim

private typealias F = SimFixtures

/// The share per kernel release (issue 9 item 4): each change of the table at the release before
/// it and at the release it landed in, on the hand-built switch machine.
@Suite struct ReleaseShareTests {
  static func release(_ major: Int, _ minor: Int) -> KernelRelease { KernelRelease(major: major, minor: minor) }

  static func share(
    on release: KernelRelease, moveNotify: Bool? = nil, exporterProfile: String = "amdgpu",
    importers: [(BDF, String)], buffer: BufferSpec = F.framebuffer
  ) throws -> ShareSimulation {
    let kernel =
      try moveNotify.map {
        try KernelContext(release: release, source: .given, dmabufMoveNotify: $0, moveNotifySource: "given")
      } ?? KernelContext(release: release, source: .given)
    let topology = F.topology(exporter: F.gpu(buffers: [buffer], profile: exporterProfile))
    return try DMABufSimulator.simulate(
      topology: topology,
      request: ShareRequest(
        exporter: F.exporter, importers: importers.map(\.0),
        importerProfiles: Dictionary(uniqueKeysWithValues: importers),
        configuration: P2PConfiguration(cpu: .intel, kernel: kernel)))
  }

  static let gpuPeer = [(F.switchImporter, "amdgpu")]

  @Test func dynamicAttachArrivesIn57AndPeer2peerIn58() throws {
    let v56 = try Self.share(on: Self.release(5, 6), importers: Self.gpuPeer)
    #expect(!v56.attachments[0].isDynamic && !v56.attachments[0].peer2peer)
    #expect(v56.steps.contains { $0.function == "dma_buf_attach" })
    #expect(v56.attachments[0].placement == .gtt)
    let v57 = try Self.share(on: Self.release(5, 7), importers: Self.gpuPeer)
    #expect(v57.attachments[0].isDynamic && !v57.attachments[0].allowPeer2peer && !v57.attachments[0].peer2peer)
    let v58 = try Self.share(on: Self.release(5, 8), moveNotify: true, importers: Self.gpuPeer)
    #expect(v58.attachments[0].allowPeer2peer && v58.attachments[0].peer2peer)
    #expect(v58.attachments[0].placement == .vram)
  }

  /// Before 5.8 amdgpu exports GTT only and its attach asks p2pdma nothing, so even an ACS-redirected
  /// path prints no warning; before 5.7 its ops have no pin/unpin. From 5.8 the attach asks.
  @Test func amdgpuAttachAsksP2PDMAOnlyFrom58() throws {
    let v57 = try Self.share(on: Self.release(5, 7), importers: Self.gpuPeer)
    #expect(!v57.steps.contains { $0.actor == .pciP2PDMA })
    let attach = try #require(v57.steps.first { $0.function == "amdgpu_dma_buf_attach" })
    #expect(attach.stateChanges.contains("no pci_p2pdma_distance call: amdgpu exports GTT only before 5.8"))
    #expect(v57.attachments[0].placement == .gtt)
    let v54 = try Self.share(on: Self.release(5, 4), importers: Self.gpuPeer)
    #expect(
      v54.steps[0].stateChanges.contains {
        $0.hasSuffix("ops = amdgpu_dmabuf_ops (no pin/unpin before 5.7: a static exporter on 5.4)")
      })
    let v58 = try Self.share(on: Self.release(5, 8), importers: Self.gpuPeer)
    let distance = try #require(v58.steps.first { $0.actor == .pciP2PDMA })
    #expect(distance.inputs.contains("verbose=true"))
  }

  @Test func moveNotifyOffPinsEvenDynamicImportersUntil70() throws {
    let off = try Self.share(on: Self.release(7, 0), moveNotify: false, importers: Self.gpuPeer)
    #expect(off.attachments[0].peer2peer && off.attachments[0].placement == .gtt)
    #expect(off.steps.contains { $0.stateChanges.contains { $0.hasPrefix("pin-on-map: CONFIG_DMABUF_MOVE_NOTIFY=n") } })
    let on = try Self.share(on: Self.release(7, 0), moveNotify: true, importers: Self.gpuPeer)
    #expect(on.attachments[0].placement == .vram)
    let v71 = try Self.share(on: Self.release(7, 1), importers: Self.gpuPeer)
    #expect(v71.kernel.dmabufMoveNotify && v71.attachments[0].placement == .vram)
  }

  @Test func amdgpuPinsVRAMFrom615WhenEveryoneIsP2P() throws {
    let pinned = [(F.switchImporter, "rdma-pinned")]
    let v614 = try Self.share(on: Self.release(6, 14), moveNotify: true, importers: pinned)
    #expect(v614.attachments[0].placement == .gtt)
    #expect(
      v614.steps.contains { $0.stateChanges.contains("VRAM not allowed: before 6.15 amdgpu pins dma-bufs only in GTT") }
    )
    let v615 = try Self.share(on: Self.release(6, 15), moveNotify: true, importers: pinned)
    #expect(v615.attachments[0].placement == .vram)
    // From ≈6.16 a MOVE_NOTIFY=n kernel keeps VRAM pins off.
    let v616 = try Self.share(on: Self.release(6, 16), moveNotify: false, importers: pinned)
    #expect(v616.attachments[0].placement == .gtt)
  }

  /// The trace names the DMA-API function of the release: `dma_direct_map_resource` up to 6.17,
  /// `dma_direct_map_phys(DMA_ATTR_MMIO)` after the dma_map_phys series (6.18 on, UNCONFIRMED).
  @Test func vramMapNamesDMAMapResourceBeforeTheMapPhysSeries() throws {
    func directMapChange(_ share: ShareSimulation) -> String? {
      share.steps.lazy.flatMap(\.stateChanges).first { $0.hasPrefix("dma_direct_map_") }
    }
    let v617 = try Self.share(on: Self.release(6, 17), moveNotify: true, importers: Self.gpuPeer)
    #expect(v617.attachments[0].placement == .vram)
    #expect(directMapChange(v617)?.hasPrefix("dma_direct_map_resource: 0x") == true)
    #expect(!v617.steps.contains { $0.kernelNote?.hasPrefix("mainline") == true })
    let v618 = try Self.share(on: Self.release(6, 18), moveNotify: true, importers: Self.gpuPeer)
    #expect(directMapChange(v618)?.hasPrefix("dma_direct_map_phys(DMA_ATTR_MMIO): 0x") == true)
  }

  @Test func staticImportersAreMappedAtAttachUntil615() throws {
    let staticImporter = [(F.rootPortImporter, "v4l2")]
    let v614 = try Self.share(on: Self.release(6, 14), importers: staticImporter)
    let attachMap = try #require(
      v614.steps.first { $0.function == "dma_buf_attach -> map_dma_buf (attach-time mapping)" })
    #expect(attachMap.stateChanges.first?.hasPrefix("maps now and caches attach->sgt") == true)
    #expect(!v614.steps.contains { $0.function == "dma_buf_map_attachment" })
    let v615 = try Self.share(on: Self.release(6, 15), importers: staticImporter)
    #expect(!v615.steps.contains { $0.function.hasSuffix("(attach-time mapping)") })
    #expect(v615.steps.contains { $0.function == "dma_buf_map_attachment" })
    #expect(v614.attachments[0].placement == .gtt && v615.attachments[0].placement == .gtt)
  }

  @Test func moveNotifyIsRenamedInvalidateMappingsIn71() throws {
    let importers = [(F.switchImporter, "mlx5"), (F.rootPortImporter, "v4l2")]
    let v70 = try Self.share(on: Self.release(7, 0), moveNotify: true, importers: importers)
    #expect(v70.steps.contains { $0.function == "dma_buf_move_notify" })
    #expect(v70.steps.contains { $0.function == "mlx5_ib_dmabuf_invalidate_cb (move_notify)" })
    let v71 = try Self.share(on: Self.release(7, 1), importers: importers)
    #expect(v71.steps.contains { $0.function == "dma_buf_invalidate_mappings (was dma_buf_move_notify)" })
    #expect(!v71.steps.contains { $0.function == "dma_buf_move_notify" })
  }

  @Test func vfioExportAndItsPinRefusalArriveIn619() throws {
    let buffer = BufferSpec(name: "bar", size: 2 << 20, preferredPlacement: .vram, vramOffset: 0)
    let v618 = try Self.share(
      on: Self.release(6, 18), exporterProfile: "vfio-pci", importers: [(F.switchImporter, "mlx5")], buffer: buffer)
    #expect(v618.attachments[0].error == "not in 6.18 (VFIO dma-buf export arrived in 6.19)")
    #expect(v618.steps.first?.failed == true)
    let v619 = try Self.share(
      on: Self.release(6, 19), moveNotify: true, exporterProfile: "vfio-pci",
      importers: [(F.switchImporter, "mlx5"), (F.secondSwitchImporter, "rdma-pinned")], buffer: buffer)
    #expect(v619.attachments[0].error == nil && v619.attachments[0].placement == .vram)
    #expect(v619.attachments[1].error == "-EOPNOTSUPP" && v619.attachments[1].failedFunction == "vfio_pci_dma_buf_pin")
    // With MOVE_NOTIFY=n (the 6.19 default) the core pins on map for every importer and VFIO's pin
    // refuses: derived from the two rules, labelled UNCONFIRMED.
    let defaultConfig = try Self.share(
      on: Self.release(6, 19), exporterProfile: "vfio-pci", importers: [(F.switchImporter, "mlx5")], buffer: buffer)
    #expect(defaultConfig.attachments[0].error == "-EOPNOTSUPP")
    let pin = try #require(defaultConfig.steps.first { $0.function == "vfio_pci_dma_buf_pin" })
    #expect(pin.kernelNote?.contains("UNCONFIRMED") == true)
  }

  @Test func rdmaImportersArriveIn512And516() throws {
    let v511 = try Self.share(on: Self.release(5, 11), importers: [(F.switchImporter, "mlx5")])
    #expect(v511.attachments[0].error == "not in 5.11 (RDMA dma-buf import arrived in 5.12)")
    #expect(v511.attachments[0].failedFunction == "ib_umem_dmabuf_get")
    #expect(
      try Self.share(on: Self.release(5, 12), importers: [(F.switchImporter, "mlx5")]).attachments[0].error == nil)
    let v515 = try Self.share(on: Self.release(5, 15), importers: [(F.switchImporter, "rdma-pinned")])
    #expect(v515.attachments[0].error == "not in 5.15 (pinned RDMA dma-buf import arrived in 5.16)")
    #expect(
      try Self.share(on: Self.release(5, 16), importers: [(F.switchImporter, "rdma-pinned")]).attachments[0].error
        == nil)
  }

  @Test func xeExportsFrom68AndPinsVRAMFrom619() throws {
    let v67 = try Self.share(on: Self.release(6, 7), exporterProfile: "xe", importers: Self.gpuPeer)
    #expect(v67.attachments[0].error == "not in 6.7 (the xe driver arrived in 6.8)")
    let pinned = [(F.switchImporter, "rdma-pinned")]
    let v618 = try Self.share(on: Self.release(6, 18), moveNotify: true, exporterProfile: "xe", importers: pinned)
    #expect(v618.attachments[0].placement == .gtt)
    let v619 = try Self.share(on: Self.release(6, 19), moveNotify: true, exporterProfile: "xe", importers: pinned)
    #expect(v619.attachments[0].placement == .vram)
  }

  @Test func amdgpuAttachIsVerboseUntil61() throws {
    let v60 = try Self.share(on: Self.release(6, 0), importers: Self.gpuPeer)
    #expect(v60.steps.contains { $0.function == "pci_p2pdma_distance_many -> upstream_bridge_distance" })
    let v61 = try Self.share(on: Self.release(6, 1), importers: Self.gpuPeer)
    #expect(v61.steps.contains { $0.function == "pci_p2pdma_distance -> calc_map_type_and_dist" })
  }

  @Test func byReleaseNamesEachReleaseAndTheKernelModel() throws {
    let topology = F.topology(exporter: F.gpu(buffers: [F.framebuffer]))
    let request = ShareRequest(
      exporter: F.exporter, importers: [F.secondSwitchImporter], importerProfiles: [F.secondSwitchImporter: "amdgpu"],
      configuration: P2PConfiguration(cpu: .intel))
    let runs = try DMABufSimulator.byRelease(topology: topology, request: request)
    #expect(
      DMABufSimulator.byReleaseLine(runs, attachment: 0)
        == "5.4 GTT peer2peer=false | 5.10 GTT peer2peer=true | 6.1 GTT peer2peer=true "
        + "[UNCONFIRMED: dmabuf-resv-all-importers, amdgpu-attach-quiet] | 6.12 GTT peer2peer=true "
        + "| mainline VRAM peer2peer=true")
    let v612 = runs[3].simulation
    #expect(v612.kernel.release.series == "6.12" && !v612.kernel.dmabufMoveNotify && v612.kernel.source == .given)
    #expect(v612.kernelModel == "6.12 (given), CONFIG_DMABUF_MOVE_NOTIFY=n (the release's default (n))")
  }
}
