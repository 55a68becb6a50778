import P2PDMA
import PCITopology

/// VFIO's `vfio_pci_dmabuf_ops` (drivers/vfio/pci/vfio_pci_dmabuf.c): exports a range of a BAR
/// (MMIO, no struct pages) to importers that set allow_peer2peer; map hands the range to the
/// dma-buf phys-vec helper, which asks PCI P2PDMA how the importer reaches it.
struct VFIOExporter: DMABufOps {
  func exportFunction(_ run: SimulationRun) -> String {
    "vfio_pci_core_feature_dma_buf (VFIO_DEVICE_FEATURE_DMA_BUF) -> dma_buf_export"
  }
  var opsDescription: String { "vfio_pci_dmabuf_ops" }
  var requiredChange: (change: KernelChange, what: String)? { (.vfioDmabufExport, "VFIO dma-buf export") }
  var exportNote: String? { "VFIO dma-buf export: ≈v6.19 (UNVERIFIED release)" }
  /// The ops have a pin callback (it refuses), so `dma_buf_is_dynamic()` is true; static
  /// importers never get as far as pin-on-map because attach refuses them.
  var isDynamic: Bool { true }
  var releaseFunction: String { "vfio_pci_dma_buf_release" }
  var mayUseSystemPages: Bool { false }
  var unpinFunction: String { "vfio_pci_dma_buf_unpin" }
  var unmapFunction: String { "vfio_pci_dma_buf_unmap -> dma_buf_free_sgt" }

  /// The BAR a VFIO export uses by default: the largest memory BAR of known size, else the
  /// first assigned memory BAR.
  static func defaultBAR(of function: PCIFunction) -> BAR? {
    let memory = function.bars.filter { !$0.isIO }
    if let sized = memory.filter({ $0.size != nil }).max(by: { ($0.size ?? 0, -$0.index) < ($1.size ?? 0, -$1.index) })
    {
      return sized
    }
    return memory.first { $0.address != 0 } ?? memory.first
  }

  func defaultBuffers(for function: PCIFunction) -> [BufferSpec] {
    let bar = Self.defaultBAR(of: function)
    let size = min(DMABufSimulator.defaultBufferSize, bar?.size ?? DMABufSimulator.defaultBufferSize)
    return [
      BufferSpec(
        name: "bar\(bar?.index ?? 0)-\(formatBytes(size).replacingOccurrences(of: " ", with: ""))", size: size,
        preferredPlacement: .vram, vramOffset: 0)
    ]
  }

  /// `vfio_pci_core_feature_dma_buf` checks the range against the BAR.
  func setUpMemory(_ run: inout SimulationRun) {
    let chosenBar = Self.defaultBAR(of: run.exporterFunction)
    run.placement = .vram
    if var chosenBar {
      if chosenBar.address == 0 {
        run.assumptions.append(
          "BAR\(chosenBar.index) of \(run.request.exporter) has no address; 0x\(hex(DMABufSimulator.placeholderBARAddress, width: 1)) assumed"
        )
        chosenBar.address = DMABufSimulator.placeholderBARAddress
      }
      run.bar = chosenBar
      let offset = run.spec.vramOffset ?? 0
      if offset & (simPageSize - 1) != 0 || run.spec.size & (simPageSize - 1) != 0 || run.spec.size == 0 {
        run.exportError = (
          "-EINVAL", "vfio_pci_core_feature_dma_buf",
          "VFIO requires every range to be non-empty and page aligned"
        )
      } else if let size = chosenBar.size, offset > size || run.spec.size > size - offset {
        run.exportError = (
          "-EINVAL", "vfio_pci_core_feature_dma_buf",
          "the range 0x\(hex(offset, width: 1))+\(run.spec.size) does not lie inside BAR\(chosenBar.index) (\(formatBytes(size)))"
        )
      } else if chosenBar.size == nil {
        run.assumptions.append("BAR\(chosenBar.index) size unknown; the range is assumed to fit")
      }
    } else {
      run.exportError = (
        "-EINVAL", "vfio_pci_core_feature_dma_buf", "\(run.request.exporter) has no memory BAR to export"
      )
    }
  }

  /// `vfio_pci_dma_buf_attach`.
  func attach(_ index: Int, _ run: inout SimulationRun) -> Bool {
    let state = run.attachments[index]
    let inputs = "attachment of \(run.importerLabel(index)), peer2peer \(state.peer2peer)"
    if !run.attachments[index].peer2peer {
      return run.refuseAttach(
        index, function: "vfio_pci_dma_buf_attach", inputs: inputs, errno: "-EOPNOTSUPP",
        why: "A VFIO buffer is raw MMIO with no struct pages, so only importers that set allow_peer2peer may "
          + "attach. VFIO does not ask PCI P2PDMA here; that happens at map time.")
    }
    run.record(
      .exporterDriver, "vfio_pci_dma_buf_attach", inputs: inputs, changes: ["peer2peer = true (required)"],
      explanation:
        "VFIO only checks that the importer can handle memory without struct pages (and that the buffer is not "
        + "revoked). Whether the PCI path works is decided at map time.",
      note: "newer kernels also require dma_buf_attach_revocable(); ≈v6.19+ (UNVERIFIED)", attachment: index)
    return true
  }

  func pin(_ index: Int, pinOnMap: Bool, _ run: inout SimulationRun) -> Bool {
    let inputs = "attachment of \(run.importerLabel(index))" + (pinOnMap ? " (pin-on-map)" : "")
    // vfio_pci_dma_buf_pin(): VFIO must always be able to revoke the buffer (reset, decode
    // off), so it refuses pins (61ceaf236115, on top of v6.19-rc6).
    return run.failPin(
      index, function: "vfio_pci_dma_buf_pin", inputs: inputs, errno: "-EOPNOTSUPP",
      why:
        "VFIO refuses to pin: it must be able to revoke the MMIO range at any time (device reset, memory decode "
        + "turned off), and a pinned importer could not be told. So an importer that pins (pinned RDMA MRs, "
        + "iommufd) cannot use a VFIO dma-buf.",
      note: pinOnMap && run.attachments[index].isDynamic
        ? "UNCONFIRMED: the core pinned on map because CONFIG_DMABUF_MOVE_NOTIFY=n, and VFIO's pin refuses; derived "
          + "from the two documented rules, whether VFIO's dma-buf Kconfig needs DMABUF_MOVE_NOTIFY was not checked"
        : "v6.19 (61ceaf236115); a 2026 series (PENDING, ≈v7.1) drops pin/unpin and instead refuses non-revocable "
          + "importers at attach (dma_buf_attach_revocable)")
  }

  /// `vfio_pci_dma_buf_map` -> `dma_buf_phys_vec_to_sgt`.
  func map(_ index: Int, _ run: inout SimulationRun) {
    run.record(
      .exporterDriver, "vfio_pci_dma_buf_map", inputs: "attachment of \(run.importerLabel(index)), revoked false",
      changes: ["phys_vec: BAR CPU address + range offset, handed to the dma-buf mapping helper"],
      outcome: "calls dma_buf_phys_vec_to_sgt",
      explanation:
        "VFIO does not build addresses itself: it describes its BAR range as physical address/length pairs and "
        + "lets the shared helper ask PCI P2PDMA how the importer reaches them.",
      attachment: index)
    let verdict = run.mapType(index, caller: "dma_buf_phys_vec_to_sgt")
    let state = run.attachments[index]
    guard let bar = run.bar else { return }
    let result = DMAMapper.physVecToSGT(
      provider: run.request.exporter, bar: bar, rangeOffset: run.spec.vramOffset ?? 0, size: run.spec.size,
      mapType: verdict.mapType,
      device: state.device)
    switch result {
    case .failure(let failure):
      run.attachments[index].error = failure.errno
      run.attachments[index].failedFunction = "dma_buf_phys_vec_to_sgt"
      run.record(
        .dmaAPI, "dma_buf_phys_vec_to_sgt",
        inputs: "1 range: BAR\(bar.index) +0x\(hex(run.spec.vramOffset ?? 0, width: 1)), \(run.spec.size) bytes",
        outcome: failure.errno, explanation: failure.explanation,
        note: "dma-buf-mapping.c helper, ≈v6.19 (UNVERIFIED release)", attachment: index, dmesg: failure.dmesg,
        failed: true)
      run.record(
        .exporterDriver, "vfio_pci_dma_buf_map", inputs: "helper returned \(failure.errno)", outcome: failure.errno,
        explanation: "VFIO passes the helper's error back; the importer gets no mapping.", attachment: index,
        failed: true)
    case .success(let mapped):
      run.attachments[index].table = mapped.table
      run.attachments[index].invalidatedTable = nil
      run.attachments[index].tablePlacement = .vram
      run.attachments[index].mapped = true
      run.attachments[index].iovas = mapped.iovas
      run.record(
        .dmaAPI, "dma_buf_phys_vec_to_sgt",
        inputs:
          "1 range: BAR\(bar.index) +0x\(hex(run.spec.vramOffset ?? 0, width: 1)), \(run.spec.size) bytes, \(verdict.mapType.shortName)",
        changes: mapped.notes + ["sgt: nents \(mapped.table.nents), orig_nents 0 (no CPU list at all)"],
        outcome: "sgt (\(mapped.table.nents) entr\(mapped.table.nents == 1 ? "y" : "ies"))",
        explanation: physVecExplanation(verdict.mapType, device: state.device),
        note: "dma-buf-mapping.c helper, ≈v6.19 (UNVERIFIED release); entries capped at UINT_MAX (4 GiB - 1)",
        attachment: index, sgVisible: mapped.table.nents, dmesg: mapped.dmesg)
    }
  }

  private func physVecExplanation(_ mapType: MapType, device: DMADevice) -> String {
    switch mapType {
    case .busAddress:
      return "The path stays below a switch, so the importer gets PCI bus addresses (CPU address + bus offset). "
        + "Unlike the page-based dma_map_sg path, this helper does not flag them SG_DMA_BUS_ADDRESS. No IOMMU "
        + "mapping is made even if the IOMMU translates: the switch routes these TLPs by address and they never "
        + "reach the root complex."
    case .thruHostBridge:
      return device.usesIOMMU
        ? "The traffic goes through the host bridge, so the importer needs a normal DMA address: one IOVA range "
          + "that its IOMMU translates to the BAR."
        : "The traffic goes through the host bridge and there is no translating IOMMU, so the DMA address is the "
          + "BAR's CPU physical address."
    default:
      return "Not supported."
    }
  }

  func describePlacement(_ run: SimulationRun) -> String {
    guard let bar = run.bar else { return "VRAM blocks []" }
    return "MMIO: BAR\(bar.index) of \(run.request.exporter) +0x\(hex(run.spec.vramOffset ?? 0, width: 1))"
  }

  func backing(_ run: SimulationRun) -> String {
    "MMIO range BAR\(run.bar?.index ?? 0) of \(run.request.exporter) +0x\(hex(run.spec.vramOffset ?? 0, width: 1))"
  }

  func deviceMemory(_ run: SimulationRun) -> UInt64? { run.bar?.size }
}
