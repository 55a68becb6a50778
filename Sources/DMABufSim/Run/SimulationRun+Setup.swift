import P2PDMA
import PCITopology

/// Importer devices: profiles, DMA masks and IOVA domains.
extension SimulationRun {
  mutating func setUpAttachments() throws {
    var reservedSummary: [String]?
    for (position, importer) in request.importers.enumerated() {
      guard let function = topology.function(importer), let functionIndex = topology.index(of: importer) else {
        throw DMABufSimError.unknownDevice(importer, role: "importer")
      }
      let profile = try DriverProfile.resolve(
        userChoice: request.importerProfiles[importer], for: function, in: topology)
      assumptions.append("importer \(importer) uses profile \(profile.name): \(profile.chosenBecause)")
      let maskBits: Int
      if let given = function.extras.dmaMaskBits {
        maskBits = given
      } else {
        maskBits = profile.dmaMaskBits
        assumptions.append("importer \(importer): DMA mask \(maskBits) bits (\(profile.name) default)")
      }
      if request.configuration.iommu.translates, reservedSummary == nil {
        reservedSummary = [iommuAssumption]
      }
      // One device has one IOMMU domain: an importer listed twice shares its IOVA space.
      let device =
        attachments.first { $0.importer == importer }?.device
        ?? DMADevice(
          bdf: importer, driverName: profile.driverName, dmaMaskBits: maskBits, maxSegmentSize: profile.maxSegmentSize,
          segmentBoundaryMask: profile.segmentBoundaryMask, iommu: request.configuration.iommu,
          domain: newDomain(forImporterAt: functionIndex), layer: DMALayer.of(topology),
          mapsResourceThroughMapPhys: releaseHasDMAMapPhys)
      var state = AttachmentState(
        importer: importer, importerIndex: functionIndex, profile: profile, device: device, lane: 4 + position)
      state.isDynamic = profile.isDynamicImporter && has(.dmabufDynamicAttach)
      state.allowPeer2peer = state.isDynamic && profile.allowPeer2peer && has(.dmabufPeer2Peer)
      attachments.append(state)
    }
    assumptions += reservedSummary ?? []
    switch request.configuration.iommu {
    case .off: assumptions.append("IOMMU off: dma-direct, DMA address = CPU physical address")
    case .passthrough: assumptions.append("iommu=pt: identity domain, dma-direct, DMA address = CPU physical address")
    case .on: break
    }
    if placement.isSystemMemory || ops.mayUseSystemPages {
      assumptions.append(
        "system pages: \(request.systemPageLayout.rawValue) layout starting near PFN 0x100000; "
          + ops.cpuListAssumption)
    }
  }

  /// What the IOVA model does on this machine's DMA layer.
  var iommuAssumption: String {
    let reserved =
      DMALayer.reservesX86MSIWindow(topology)
      ? "the x86 MSI window 0xfee00000-0xfeefffff and, standing in for the host-bridge windows, "
      : "standing in for the host-bridge windows, "
    switch DMALayer.of(topology) {
    case .iommuDMA:
      return "IOMMU on: each importer has its own IOVA domain (48-bit aperture); IOVAs are allocated top-down below "
        + "the DMA mask, trying below 4 GiB first for PCI devices (iommu_dma_alloc_iova); "
        + reserved + "every sized BAR under the importer's root bus are reserved"
    case .powerpcIOMMU:
      return "IOMMU on, POWER: mappings go through the powerpc IOMMU ops (arch/powerpc/kernel/dma-iommu.c, TCE "
        + "tables), not dma-iommu, which is built only for ARM64, x86 and s390. The addresses shown come from the "
        + "simulator's generic IOVA model (UNCONFIRMED for TCE tables; PowerNV may also use a 64-bit DMA bypass "
        + "window); no x86 MSI window is reserved; "
        + reserved + "every sized BAR under the importer's root bus is reserved"
    }
  }

  /// A new IOVA domain for the importer at `index`: empty without a translating IOMMU; otherwise
  /// with the x86 MSI window and the importer's host-bridge windows reserved.
  func newDomain(forImporterAt index: Int) -> IOVADomain {
    var domain = IOVADomain()
    guard request.configuration.iommu.translates else { return domain }
    // The IOAPIC/MSI doorbell window is an x86 reserved region (intel/amd IOMMU drivers);
    // other architectures reserve their own MSI areas, which we do not model.
    if DMALayer.reservesX86MSIWindow(topology) {
      domain.reserve(start: 0xfee0_0000, end: 0xfeef_ffff, why: "x86 MSI/IOAPIC window")
    }
    // iova_reserve_pci_windows(): the importer's host-bridge windows. We do not know the
    // windows, so every sized BAR under the same root bus stands in for them.
    let root = topology.rootBus(of: index)
    for other in topology.functions.indices where topology.rootBus(of: other) == root {
      for otherBar in topology[other].bars where !otherBar.isIO && otherBar.address != 0 {
        guard let size = otherBar.size, size > 0 else { continue }
        let start = otherBar.busAddress
        // A BAR that wraps past 2^64 (broken input) cannot be a window; skip it.
        guard !start.addingReportingOverflow(size - 1).overflow else { continue }
        domain.reserve(
          start: start, end: start &+ size &- 1,
          why: "host-bridge window (BAR\(otherBar.index) of \(topology[other].bdf))")
      }
    }
    return domain
  }
}
