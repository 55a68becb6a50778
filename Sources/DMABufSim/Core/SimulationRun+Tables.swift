import P2PDMA
import PCITopology

/// Building the importer's sg table for the buffer's current placement, and moving the buffer
/// from VRAM to system memory.
extension SimulationRun {
  /// Builds the sg table for the current placement (VRAM via dma_map_resource, or pages via
  /// dma_map_sgtable) and records the DMA API step.
  mutating func buildTable(_ index: Int, failureErrno: String?, exporterFunction: String) {
    let device = attachments[index].device
    let result: Result<DMAMappingResult, DMAMappingFailure>
    let function: String
    let inputs: String
    var explanation: String
    var note: String?
    if placement == .vram {
      let bar = self.bar ?? BAR(index: 0, address: DMABufSimulator.placeholderBARAddress, size: nil)
      let pieces = blocks.reduce(0) { $0 + Int(($1.size + DMAMapper.vramSegmentCap - 1) / DMAMapper.vramSegmentCap) }
      function = ops.vramTableFunction
      inputs = "\(pieces) piece(s): phys = BAR\(bar.index) 0x\(hex(bar.address, width: 1)) + block offset, ≤ 2 GiB each"
      result = DMAMapper.mapVRAM(
        blocks: blocks, exporter: request.exporter, bar: bar.index, barCPUStart: bar.address, device: device)
      explanation =
        "Each VRAM block becomes one entry with a NULL page: phys = BAR CPU address + offset, turned into a DMA "
        + "address by dma_map_resource. "
        + (device.usesIOMMU
          ? "The importer's IOMMU translates, so each piece gets an IOVA, allocated top-down below its DMA mask."
          : "Without a translating IOMMU (dma-direct) the physical address is used unchanged, after a DMA-mask check.")
      if let verdict = attachments[index].verdict, verdict.mapType == .busAddress {
        explanation +=
          " amdgpu and xe always use dma_map_resource, so they hand out host-bridge-style addresses "
          + "even though p2pdma classified this path as BUS_ADDR."
        if device.usesIOMMU {
          explanation +=
            " Inference, UNVERIFIED on hardware: these IOVAs make the traffic hairpin through the root "
            + "complex instead of staying in the switch."
        } else if bar.busOffset != 0 {
          explanation +=
            " Inference, UNVERIFIED on hardware: this host bridge has a bus offset of \(bar.busOffset), "
            + "so the CPU physical address handed out is not the bus address a switch would decode for the BAR."
        }
      }
      if device.usesIOMMU {
        explanation +=
          " Handing the importer the raw BAR address instead would make its IOMMU fault and drop the "
          + "writes (the NVIDIA/open-gpu-kernel-modules#1324 bug); dma_map_resource is what makes it an IOVA."
      }
      note =
        releaseHasDMAMapPhys
        ? "\(kernel.release.series): dma_map_resource is a wrapper of dma_map_phys(DMA_ATTR_MMIO); before the "
          + "dma_map_phys series (release UNCONFIRMED, after v6.17) the same addresses came from "
          + "dma_direct_map_resource/iommu_dma_map_resource"
        : "\(kernel.release.series): dma_map_resource calls dma_direct_map_resource/iommu_dma_map_resource; the "
          + "dma_map_phys series (after v6.17, release UNCONFIRMED) later made it a wrapper of "
          + "dma_map_phys(DMA_ATTR_MMIO), with the same addresses"
    } else {
      let listing = ops.pageListing
      let runs = listing.cpuList(of: systemPages())
      record(
        .exporterDriver, listing.function, inputs: "\(runs.totalPages) pages of \(formatBytes(simPageSize))",
        changes: [listing.change(runs)], outcome: "sgt, orig_nents \(runs.count)", explanation: listing.explanation,
        attachment: index)
      let attrs = listing.skipsCPUSync ? ", DMA_ATTR_SKIP_CPU_SYNC" : ""
      function =
        device.usesIOMMU
        ? "dma_map_sgtable -> "
          + device.translatedName("iommu_dma_map_sg -> __finalise_sg", powerpc: "dma_iommu_map_sg -> ppc_iommu_map_sg")
        : "dma_map_sgtable -> dma_direct_map_sg"
      inputs =
        "\(runs.count) CPU entries, importer mask \(device.dmaMaskBits) bits, max_seg_size \(device.maxSegmentSize)"
        + attrs
      result = DMAMapper.mapPages(runs, device: device)
      explanation =
        device.usesIOMMU
        ? "The IOMMU maps all entries into one contiguous IOVA range and "
          + device.translatedName("__finalise_sg", powerpc: "(as modelled; UNCONFIRMED for powerpc) the mapper")
          + " merges neighbours that start on a page, do not start on a segment boundary and keep the segment "
          + "within max_seg_size, so nents can be smaller than orig_nents."
        : "dma-direct uses each page's physical address as its DMA address: one DMA entry per CPU entry."
    }
    switch result {
    case .failure(let failure):
      let errno = failureErrno ?? failure.errno
      attachments[index].error = errno
      attachments[index].failedFunction = exporterFunction
      record(
        .dmaAPI, function, inputs: inputs, outcome: "DMA_MAPPING_ERROR", explanation: failure.explanation, note: note,
        attachment: index, dmesg: failure.dmesg, failed: true)
      record(
        .exporterDriver, exporterFunction, inputs: "mapping failed", outcome: errno,
        explanation: "The exporter frees the table and returns \(errno); the importer gets no mapping.",
        attachment: index, failed: true)
    case .success(let mapped):
      attachments[index].table = mapped.table
      attachments[index].invalidatedTable = nil
      attachments[index].tablePlacement = placement
      attachments[index].mapped = true
      attachments[index].iovas = mapped.iovas
      attachments[index].needsRemap = false
      record(
        .dmaAPI, function, inputs: inputs,
        changes: mapped.notes + ["sgt: nents \(mapped.table.nents), orig_nents \(mapped.table.origNents)"],
        outcome: "sgt (\(mapped.table.nents) DMA entr\(mapped.table.nents == 1 ? "y" : "ies"))",
        explanation: explanation, note: note, attachment: index, sgVisible: mapped.table.nents, dmesg: mapped.dmesg)
    }
  }

  mutating func systemPages() -> PageRuns {
    if let pages { return pages }
    let runs = SystemPageAllocator.allocate(size: spec.size, seed: seed, layout: request.systemPageLayout)
    pages = runs
    return runs
  }

  /// Moves the buffer out of VRAM into the exporter's system-memory placement (GTT/TT for the
  /// TTM drivers, plain pages for i915).
  mutating func migrateToSystem(by index: Int, function: String, reason: String) {
    guard placement == .vram else { return }
    let runs = systemPages()
    placement = ops.systemPlacement
    let freed = blocks
    blocks = []
    record(
      .exporterDriver, function,
      inputs: "BO in VRAM [\(freed.map { "0x\(hex($0.offset, width: 1))" }.joined(separator: ", "))]",
      changes: ["VRAM -> \(ops.systemPlacement.displayName) (\(runs.count) runs of pages)", "VRAM blocks freed"],
      outcome: "moved",
      explanation: "The buffer is copied to system memory because \(reason). Every importer that mapped the VRAM copy "
        + "must be told.",
      attachment: index)
    invalidateOthers(except: index, reason: "moved to system memory")
  }

}
