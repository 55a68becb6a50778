import P2PDMA
import PCITopology

/// The dma-buf core sequence (drivers/dma-buf/dma-buf.c): export, fd, then per importer
/// `dma_buf_get`, `dma_buf_(dynamic_)attach`, optional `dma_buf_pin`, `dma_buf_map_attachment`,
/// the importer's walk of the table; moves and `dma_buf_invalidate_mappings`; finally unmap,
/// unpin, detach and put. The exporter's part of each call is `ops` (Exporters/).
extension SimulationRun {
  mutating func execute() {
    exportBuffer()
    guard exportError == nil else {
      for index in attachments.indices {
        attachments[index].error = exportError?.errno
        attachments[index].failedFunction = exportError?.function
      }
      return
    }
    for index in attachments.indices {
      attachAndMap(index)
      remapInvalidated()
    }
    teardown()
  }

  mutating func exportBuffer() {
    let function = ops.exportFunction(self)
    // pin/unpin (dynamic exporters) arrived in 5.7: before, amdgpu's and xe's ops had none.
    let opsText =
      ops.isDynamic && !exporterIsDynamic
      ? (ops.opsDescription.components(separatedBy: " (").first ?? ops.opsDescription)
        + " (no pin/unpin before 5.7: a static exporter on \(kernel.release.series))"
      : ops.opsDescription
    var changes = ["dma_buf created: \(bufferLabel), ops = \(opsText)"]
    changes.append("placement: " + ops.describePlacement(self))
    if let exportError {
      record(
        .exporterDriver, function, inputs: "exporter \(request.exporter) (\(exporterName)), buffer \(bufferLabel)",
        outcome: exportError.errno, explanation: "The export is refused: \(exportError.why).", failed: true)
      return
    }
    record(
      .exporterDriver, function,
      inputs:
        "exporter \(request.exporter) (\(exporterName)), buffer \(bufferLabel), prefers \(spec.preferredPlacement.rawValue)",
      changes: changes,
      explanation:
        "The exporting driver wraps its buffer object in a struct dma_buf. dma_buf_export() insists on map_dma_buf, "
        + "unmap_dma_buf and release ops, creates an anonymous file and puts the buffer on the global list.",
      note: ops.exportNote)
    record(
      .dmaBufCore, "dma_buf_fd", inputs: "dmabuf \(spec.name), O_CLOEXEC", changes: ["fd installed for userspace"],
      outcome: "fd",
      explanation:
        "Userspace gets a file descriptor for the buffer and passes it to each importing driver (an ioctl, a "
        + "socket, or a Vulkan/OpenGL/RDMA API).")
  }

  mutating func attachAndMap(_ index: Int) {
    let state = attachments[index]
    record(
      .importerDriver(state.importer), "dma_buf_get", inputs: "fd of \(spec.name)", changes: ["dma_buf refcount +1"],
      outcome: "dmabuf", explanation: "The importing driver turns the file descriptor into a dma_buf reference.",
      attachment: index)
    if refuseMissingImporter(index) { return }
    let dynamic = state.isDynamic
    attachments[index].peer2peer = state.allowPeer2peer
    if dynamic {
      record(
        .dmaBufCore, "dma_buf_dynamic_attach",
        inputs: "dev \(state.importer), importer_ops \(state.profile.importerOps ?? "")",
        changes: [
          has(.dmabufPeer2Peer)
            ? "attach->peer2peer = allow_peer2peer = \(state.profile.allowPeer2peer)"
            : "no peer2peer flag before 5.8: the importer gets system memory only"
        ],
        outcome: "calls exporter attach",
        explanation:
          "A dynamic importer attaches with importer_ops, so it can be told to drop its mapping when the buffer "
          + "moves. Its allow_peer2peer flag becomes the attachment's peer2peer flag, which the exporter may clear.",
        note:
          "v5.8 to ≈v6.15 also mapped at attach when importer and exporter differed in dynamic-ness; removed in 2025",
        attachment: index)
    } else {
      let noDynamicAttach =
        state.profile.isDynamicImporter
        ? ["dynamic attach arrived in 5.7: on \(kernel.release.series) \(state.profile.name) attaches statically"] : []
      record(
        .dmaBufCore, "dma_buf_attach", inputs: "dev \(state.importer), importer_ops NULL",
        changes: noDynamicAttach + ["attach->peer2peer = false (static importer)"], outcome: "calls exporter attach",
        explanation:
          "A static importer passes no importer_ops. It can never be asked to move, so it never gets P2P: "
          + "peer2peer stays false whatever the topology says.",
        attachment: index)
    }
    let attachStep = steps.count
    guard ops.attach(index, &self) else { return }
    attachments[index].attached = true
    // Attached from the exporter's attach callback on (not during the P2PDMA query it made).
    for step in attachStep..<steps.count where steps[step].actor != .pciP2PDMA {
      steps[step].snapshot.attachments[index].attached = true
    }
    // Before 6.15 dma_buf_(dynamic_)attach() itself maps (pinning a dynamic exporter first) when
    // importer and exporter differ in dynamic-ness, and caches the table for the importer's map.
    let atAttach = mapsAtAttach(index)
    if atAttach { map(index, atAttach: true) }
    if state.profile.pinsAfterAttach {
      guard importerPin(index) else { return }
    }
    if !atAttach { map(index) }
  }

  mutating func refuseAttach(_ index: Int, function: String, inputs: String, errno: String, why: String) -> Bool {
    attachments[index].error = errno
    attachments[index].failedFunction = function
    record(.exporterDriver, function, inputs: inputs, outcome: errno, explanation: why, attachment: index, failed: true)
    record(
      .dmaBufCore, attachments[index].profile.isDynamicImporter ? "dma_buf_dynamic_attach" : "dma_buf_attach",
      inputs: "exporter returned \(errno)",
      changes: ["attachment freed"], outcome: errno,
      explanation: "The core frees the half-built attachment and returns the exporter's error to the importer.",
      attachment: index, failed: true)
    return false
  }

  /// `dma_buf_pin()` by an importer that pins right after attaching (pinned RDMA MRs, iommufd).
  mutating func importerPin(_ index: Int) -> Bool {
    record(
      .importerDriver(attachments[index].importer), "dma_buf_pin",
      inputs: "attachment of \(importerLabel(index)), resv held",
      changes: ["asks the exporter to keep the buffer where it is"], outcome: "calls exporter pin",
      explanation:
        "This importer cannot handle the buffer moving under it (e.g. an RDMA memory region without on-demand "
        + "paging), so it pins the buffer right after attaching.",
      attachment: index)
    if ops.pin(index, pinOnMap: false, &self) {
      attachments[index].pinnedByImporter = true
      return true
    }
    return false
  }

  /// The exporter's `pin`. Returns false on failure (error recorded).

  mutating func failPin(
    _ index: Int, function: String, inputs: String, errno: String, why: String, note: String? = nil
  ) -> Bool {
    attachments[index].error = errno
    attachments[index].failedFunction = function
    record(
      .exporterDriver, function, inputs: inputs, outcome: errno, explanation: why, note: note, attachment: index,
      failed: true)
    return false
  }

  /// `dma_buf_map_attachment()` and the exporter's `map_dma_buf`; with `atAttach`, the mapping
  /// the core made inside `dma_buf_(dynamic_)attach` before 6.15 and cached in `attach->sgt`.
  mutating func map(_ index: Int, atAttach: Bool = false) {
    let state = attachments[index]
    let pinOnMap = pinOnMapApplies(index) && !attachments[index].pinnedOnMap
    let attachFunction = state.isDynamic ? "dma_buf_dynamic_attach" : "dma_buf_attach"
    record(
      .dmaBufCore, atAttach ? "\(attachFunction) -> map_dma_buf (attach-time mapping)" : "dma_buf_map_attachment",
      inputs: "attachment of \(importerLabel(index)), DMA_BIDIRECTIONAL, resv held"
        + (atAttach ? ", importer and exporter differ in dynamic-ness" : ""),
      changes: (atAttach
        ? [
          "maps now and caches attach->sgt (until 6.15); the importer's dma_buf_map_attachment returns the cached table"
        ] : [])
        + (pinOnMap ? [pinOnMapReason(index)] : [])
        + (state.isDynamic
          ? []
          : [
            "after the exporter maps, the core waits for the kernel fences (DMA_RESV_USAGE_KERNEL) for this static importer"
          ]),
      outcome: "calls exporter map_dma_buf",
      explanation:
        "The importer asks for an sg table it can program into its DMA engine. "
        + (pinOnMap
          ? (state.isDynamic
            ? "Without CONFIG_DMABUF_MOVE_NOTIFY the core does not trust importers to follow moves, so it pins the "
              + "buffer first."
            : "Because this importer is static and cannot be told about moves, the core pins the buffer first.")
          : "The exporter decides where the buffer must be for this importer and builds the table."),
      note: !has(.dmabufDynamicAttach)
        ? "\(kernel.release.series): no pin-on-map (no pin/unpin ops and no CONFIG_DMABUF_MOVE_NOTIFY before 5.7); "
          + "the exporter's map callback decides where the buffer must be"
        : has(.dmabufMoveNotifyRemoved)
          ? "newest pin-on-map rule: exporter has pin && importer is static (v5.x: pin when !DMABUF_MOVE_NOTIFY); "
            + "≈v6.2+: every importer holds dmabuf->resv"
          : "\(kernel.release.series): pin-on-map when the exporter has pin and CONFIG_DMABUF_MOVE_NOTIFY is off"
            + (has(.dmabufNoAttachTimeMap) ? " or the importer is static" : "")
            + " (\(kernel.dmabufMoveNotify ? "y" : "n") here)",
      attachment: index)
    if pinOnMap {
      guard ops.pin(index, pinOnMap: true, &self) else { return }
    }
    ops.map(index, &self)
    if pinOnMap && attachments[index].pinnedOnMap && !attachments[index].mapped {
      // dma_buf_map_attachment(): map_dma_buf failed, so the core drops its pin-on-map before
      // returning the error (§2.4: unpin on error or unmap).
      attachments[index].pinnedOnMap = false
      pinCount = max(0, pinCount - 1)
      let unpin = ops.unpinFunction
      record(
        .dmaBufCore, "dma_buf_map_attachment (error path) -> \(unpin)", inputs: "attachment of \(importerLabel(index))",
        changes: ["pin-on-map undone (pin count \(pinCount))"], outcome: attachments[index].error ?? "error",
        explanation:
          "The exporter could not map the buffer for this static importer, so the core releases the pin it took "
          + "for the map and returns the error; the buffer may move again.",
        attachment: index, failed: true)
    }
    if let table = attachments[index].table {
      let state = attachments[index]
      let first = table.nents > 0 ? table[0] : nil
      var explanation =
        "The importer walks the DMA side of the table with for_each_sgtable_dma_sg and programs "
        + "\(table.nents) address/length pair(s) into its hardware"
      if let first {
        explanation += ", starting at 0x\(hex(first.dmaAddress, width: 1)) (\(first.addressKind.rawValue) address)"
      }
      explanation += ". It must not look at sg_page(): with CONFIG_DMABUF_DEBUG it gets a copy with NULL pages."
      record(
        .importerDriver(state.importer), "for_each_sgtable_dma_sg",
        inputs: "sgt: nents \(table.nents), orig_nents \(table.origNents)",
        changes: ["\(table.nents) DMA segment(s) programmed, \(formatBytes(table.totalDMALength)) in total"],
        outcome: "mapped", explanation: explanation,
        note: "CONFIG_DMABUF_DEBUG: newest wraps the table (page NULL); v5.13-2025 XOR-mangled page_link",
        attachment: index, sgVisible: table.nents)
    }
  }

}
