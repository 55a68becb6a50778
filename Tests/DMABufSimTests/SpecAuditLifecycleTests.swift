import P2PDMA
import PCITopology
import Testing

@testable import DMABufSim

private typealias F = SimFixtures

/// Independent audit of kernel-model §2.3–§4.4 against the simulator: the points where a wrong
/// answer would be easy to miss (quiet dmesg of verbose=false callers, which address kind an
/// importer gets, -EOPNOTSUPP vs -EINVAL and where each happens).
@Suite struct SpecAuditLifecycleTests {
  /// SimFixtures with ACS redirect (RR+CR) on both switch downstream ports above the exporter and
  /// importer A, so the switch-local pair becomes a host-bridge path.
  static func redirectingSwitch(exporter: SimFixtures.Device, hostDevice: UInt16 = 0x4c43) -> Topology {
    var topology = F.topology(exporter: exporter, hostDevice: hostDevice)
    let redirect = ACSState.present(
      capability: [.sourceValidation, .requestRedirect, .completionRedirect, .upstreamForwarding],
      control: [.sourceValidation, .requestRedirect, .completionRedirect, .upstreamForwarding])
    for port in ["0000:02:00.0", "0000:02:01.0"] {
      topology.setACS(redirect, at: topology.index(of: F.bdf(port))!)
    }
    return topology
  }

  static let allowlistLine = "pci 0000:00:00.0: Host bridge not in P2PDMA whitelist: 8086:4c43"

  /// §3.1 + §1.4 warn quirk: amdgpu calls pci_p2pdma_distance(verbose=false). The attach still
  /// returns 0 and only clears peer2peer; the only dmesg line is the allowlist warning, printed
  /// because warn = acs_redirects.
  @Test func amdgpuAttachPrintsOnlyTheAllowlistLineAndNeverFails() throws {
    let topology = Self.redirectingSwitch(exporter: F.gpu(buffers: [F.framebuffer]))
    let simulation = try F.simulate(topology, importers: [F.switchImporter])
    let attachment = simulation.attachments[0]
    #expect(attachment.mapType == .notSupported && attachment.distance == -1)
    #expect(attachment.allowPeer2peer && !attachment.peer2peer)
    #expect(attachment.error == nil)
    #expect(attachment.placement == .gtt)
    #expect(simulation.dmesg == [Self.allowlistLine])
    #expect(simulation.steps.contains { $0.function == "amdgpu_dma_buf_attach" && $0.outcome == "0" && !$0.failed })
    #expect(attachment.verdict?.verbose == false)
  }

  /// No common upstream device: warn=false and verbose=false, so nothing at all is printed.
  @Test func amdgpuAttachAcrossRootPortsIsSilent() throws {
    let topology = F.topology(exporter: F.gpu(buffers: [F.framebuffer]), rootPortImporter: F.mellanox)
    let simulation = try F.simulate(topology, importers: [F.rootPortImporter])
    #expect(simulation.attachments[0].mapType == .notSupported)
    #expect(!simulation.attachments[0].peer2peer)
    #expect(simulation.dmesg.isEmpty)
  }

  /// §3.1: with an allowed host-bridge path (AMD Zen) amdgpu keeps VRAM, and the address is
  /// still dma_map_resource's (§5.5): CPU physical under dma-direct, even where a bus offset
  /// exists; never the bus address.
  @Test func amdgpuUsesDMAMapResourceAddressesEvenForBusAddrPaths() throws {
    let exporter = F.gpu(busOffset: -0x40_0000_0000, buffers: [F.framebuffer])
    let simulation = try F.simulate(F.topology(exporter: exporter), importers: [F.switchImporter], iommu: .off)
    let attachment = simulation.attachments[0]
    #expect(attachment.mapType == .busAddress)
    #expect(attachment.placement == .vram)
    let table = try #require(attachment.sgTable)
    #expect(table[0].dmaAddress == F.barAddress + (1 << 20))
    #expect(!table[0].isBusAddress && table[0].addressKind == .cpuPhysical)
    #expect(table.origNents == table.nents && table[0].pagePFN == nil)
  }

  /// §3.5 + §2.8 + §1.7: VFIO does not ask P2PDMA at attach; at map pci_p2pdma_map_type runs
  /// with verbose=true, so all four lines appear, and the helper fails with -EINVAL.
  @Test func vfioNotSupportedFailsAtMapWithAllFourLines() throws {
    let buffer = BufferSpec(name: "mmio", size: 2 << 20, preferredPlacement: .vram, vramOffset: 0)
    let topology = Self.redirectingSwitch(exporter: F.gpu(buffers: [buffer], profile: "vfio-pci"))
    let simulation = try F.simulate(topology, importers: [F.switchImporter])
    let attachment = simulation.attachments[0]
    #expect(attachment.error == "-EINVAL")
    #expect(attachment.failedFunction == "dma_buf_phys_vec_to_sgt")
    #expect(attachment.peer2peer)
    #expect(
      simulation.dmesg == [
        "pci 0000:04:00.0: ACS redirect is set between the client and provider (0000:03:00.0)",
        "pci 0000:04:00.0: to disable ACS redirect for this path, add the kernel parameter: pci=disable_acs_redir=0000:02:00.0;0000:02:01.0",
        Self.allowlistLine,
        "pci 0000:04:00.0: cannot be used for peer-to-peer DMA as the client and provider (0000:03:00.0) do not share an upstream bridge or whitelisted host bridge",
      ])
    let attachIndex = try #require(simulation.steps.firstIndex { $0.function == "vfio_pci_dma_buf_attach" })
    let p2pIndex = try #require(simulation.steps.firstIndex { $0.actor == .pciP2PDMA })
    #expect(attachIndex < p2pIndex)
    #expect(!simulation.steps[attachIndex].failed)
  }

  /// §2.8/§4.4: THRU_HOST_BRIDGE without a translating IOMMU (off or iommu=pt) gives the CPU
  /// physical address, not the bus address, and orig_nents is 0.
  @Test(arguments: [IOMMUMode.off, .passthrough])
  func vfioThroughHostBridgeWithoutTranslationIsCPUPhysical(iommu: IOMMUMode) throws {
    let buffer = BufferSpec(name: "mmio", size: 2 << 20, preferredPlacement: .vram, vramOffset: 1 << 20)
    var exporter = F.gpu(buffers: [buffer], profile: "vfio-pci")
    exporter.bars = [BAR(index: 0, address: F.barAddress, size: 16 << 30, busOffset: 0x1000_0000)]
    let topology = Self.redirectingSwitch(exporter: exporter)
    let simulation = try F.simulate(topology, importers: [F.switchImporter], iommu: iommu, cpu: .amdZen)
    let attachment = simulation.attachments[0]
    #expect(attachment.mapType == .thruHostBridge)
    let table = try #require(attachment.sgTable)
    #expect(table.origNents == 0 && table.nents == 1)
    #expect(table[0].dmaAddress == F.barAddress + (1 << 20))
    #expect(!table[0].isBusAddress && table[0].addressKind == .cpuPhysical)
    // verbose=true at map: the two ACS lines, no allowlist line (cpu_supports_p2pdma is true).
    #expect(simulation.dmesg.count == 2)
  }

  /// §2.3: a static importer (NULL importer_ops) has peer2peer false even on a BUS_ADDR path;
  /// amdgpu serves it from GTT (pin-on-map, §2.4).
  @Test func staticImporterNeverGetsPeer2peerEvenOnABusAddrPath() throws {
    let topology = F.topology(exporter: F.gpu(buffers: [F.framebuffer]), switchImporter: F.nvidiaDisplay)
    let simulation = try F.simulate(topology, importers: [F.switchImporter])
    let attachment = simulation.attachments[0]
    #expect(!attachment.isDynamic && !attachment.allowPeer2peer && !attachment.peer2peer)
    #expect(attachment.mapType == .busAddress)
    #expect(attachment.placement == .gtt)
    #expect(simulation.steps.contains { $0.function == "amdgpu_dma_buf_pin" })
  }

  /// §1.7 + §1.2 step 6: pci_p2pdma_map_type() reads the provider's map_types cache and runs
  /// calc_map_type_and_dist(verbose=true) only on a miss. A client that maps a VFIO buffer a
  /// second time (a NIC registering the same dma-buf twice) gets the cached answer and prints
  /// nothing. The simulator used to recompute and print the four lines again.
  @Test func vfioSecondMapOfTheSameClientUsesTheCacheAndPrintsNothing() throws {
    let buffer = BufferSpec(name: "mmio", size: 2 << 20, preferredPlacement: .vram, vramOffset: 0)
    let topology = Self.redirectingSwitch(exporter: F.gpu(buffers: [buffer], profile: "vfio-pci"))
    let simulation = try F.simulate(topology, importers: [F.switchImporter, F.switchImporter])
    #expect(simulation.attachments.map(\.error) == ["-EINVAL", "-EINVAL"])
    #expect(simulation.attachments.map(\.mapType) == [.notSupported, .notSupported])
    #expect(simulation.dmesg.count == 4)
    let p2pSteps = simulation.steps.filter { $0.actor == .pciP2PDMA }
    #expect(
      p2pSteps.map(\.function) == [
        "pci_p2pdma_map_type -> calc_map_type_and_dist", "pci_p2pdma_map_type (map_types cache hit)",
      ])
    #expect(p2pSteps.map(\.attachmentIndex) == [0, 1])
    #expect(p2pSteps[1].dmesg.isEmpty && p2pSteps[1].failed)
    #expect(simulation.attachments[1].verdict?.dmesg.isEmpty == true)
  }

  /// The cache is per client: a different importer is computed (and prints) on its own.
  @Test func vfioCacheIsPerClient() throws {
    let buffer = BufferSpec(name: "mmio", size: 2 << 20, preferredPlacement: .vram, vramOffset: 0)
    let topology = Self.redirectingSwitch(exporter: F.gpu(buffers: [buffer], profile: "vfio-pci"))
    let simulation = try F.simulate(
      topology, importers: [F.switchImporter, F.secondSwitchImporter, F.switchImporter], cpu: .amdZen)
    let p2pSteps = simulation.steps.filter { $0.actor == .pciP2PDMA }
    #expect(p2pSteps.map { $0.function.hasSuffix("cache hit)") } == [false, false, true])
    #expect(simulation.attachments.map(\.mapType) == [.thruHostBridge, .thruHostBridge, .thruHostBridge])
    // 04:00.0 prints both ACS lines once; 06:00.0 sits below 02:02.0 (no ACS), but the
    // provider side port 02:00.0 redirects, so it prints its own two lines.
    #expect(simulation.dmesg.count == 4)
    #expect(simulation.attachments.allSatisfy { $0.error == nil && $0.sgTable != nil })
  }

  /// §2.4: pin-on-map pins before map_dma_buf and unpins on error. A static importer whose GTT
  /// mapping fails (pages above its 32-bit mask under dma-direct) must not leave the BO pinned:
  /// the unpin follows the failure at once and teardown has nothing left to unpin. The simulator
  /// used to keep the pin (and the pin count) until the end of the run.
  @Test func pinOnMapIsUndoneWhenTheMapFails() throws {
    var capture = F.nvidiaDisplay
    capture.extras = DeviceExtras(driverProfile: "v4l2", dmaMaskBits: 32)
    let topology = F.topology(exporter: F.gpu(buffers: [F.framebuffer]), rootPortImporter: capture)
    let simulation = try F.simulate(topology, importers: [F.rootPortImporter, F.switchImporter])
    #expect(simulation.attachments[0].error == "-EBUSY")
    let functions = simulation.steps.map(\.function)
    let pin = try #require(functions.firstIndex(of: "amdgpu_dma_buf_pin"))
    let failure = try #require(simulation.steps.firstIndex { $0.function == "amdgpu_dma_buf_map" && $0.failed })
    let unpin = try #require(functions.firstIndex(of: "dma_buf_map_attachment (error path) -> amdgpu_dma_buf_unpin"))
    #expect(pin < failure && failure < unpin)
    #expect(simulation.steps[unpin].attachmentIndex == 0 && simulation.steps[unpin].failed)
    #expect(!simulation.steps.contains { $0.stateChanges.contains("unpin (pin-on-map)") })
    // The second importer (dynamic, switch-local) is no longer told the BO is pinned.
    #expect(
      !simulation.steps.contains {
        $0.attachmentIndex == 1 && $0.stateChanges.contains { $0.hasPrefix("BO pinned in") }
      })
    #expect(simulation.attachments[1].error == nil && simulation.attachments[1].placement == .gtt)
  }

  static func importerDevice(_ iommu: IOMMUMode) -> DMADevice {
    DMADevice(
      bdf: F.switchImporter, driverName: "mlx5_core", dmaMaskBits: 64, maxSegmentSize: 2 << 30,
      segmentBoundaryMask: 0xffff_ffff, iommu: iommu, domain: IOVADomain())
  }

  /// §2.8 steps 1, 3, 4: THRU_HOST_BRIDGE under a translating IOMMU is one IOVA range cut at
  /// 4 GiB - 4 KiB; without translation it is the CPU physical address (bus offset ignored);
  /// every other map type is -EINVAL.
  @Test func physVecHelperAddressKindsAndRefusals() throws {
    let bar = BAR(index: 2, address: 0x200_0000_0000, size: 16 << 30, busOffset: 0x1000_0000)
    let provider = F.exporter
    let iova = try DMAMapper.physVecToSGT(
      provider: provider, bar: bar, rangeOffset: 0, size: 8 << 30, mapType: .thruHostBridge,
      device: Self.importerDevice(.on)
    ).get()
    #expect(iova.table.origNents == 0 && iova.table.nents == 3)
    #expect(iova.iovas.count == 1)
    #expect(iova.table[0].dmaAddress == iova.iovas[0])
    #expect(iova.table[1].dmaAddress == iova.table[0].dmaAddress + 0xffff_ffff)
    #expect(iova.table[2].dmaAddress == iova.table[1].dmaAddress + 0xffff_ffff)
    #expect(iova.table.entries.allSatisfy { !$0.isBusAddress && $0.addressKind == .iova })
    for mode in [IOMMUMode.off, .passthrough] {
      let direct = try DMAMapper.physVecToSGT(
        provider: provider, bar: bar, rangeOffset: 1 << 20, size: 4 << 20, mapType: .thruHostBridge,
        device: Self.importerDevice(mode)
      ).get()
      #expect(direct.table.nents == 1 && direct.table[0].dmaAddress == 0x200_0010_0000)
      #expect(direct.table[0].addressKind == .cpuPhysical && !direct.table[0].isBusAddress)
    }
    for type in [MapType.notSupported, .notP2PMemory, .unknown] {
      let result = DMAMapper.physVecToSGT(
        provider: provider, bar: bar, rangeOffset: 0, size: 4 << 20, mapType: type, device: Self.importerDevice(.on))
      guard case .failure(let failure) = result else {
        Issue.record("\(type.shortName) mapped")
        continue
      }
      #expect(failure.errno == "-EINVAL")
    }
  }
}
