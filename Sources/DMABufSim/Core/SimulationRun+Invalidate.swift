import P2PDMA
import PCITopology

/// Moves reach the importers (`dma_buf_invalidate_mappings`), their re-maps, and the teardown.
extension SimulationRun {
  mutating func invalidateOthers(except index: Int, reason: String) {
    let victims = attachments.indices.filter {
      $0 != index && attachments[$0].mapped && attachments[$0].isDynamic
    }
    guard !victims.isEmpty else { return }
    record(
      .dmaBufCore, invalidateFunction,
      inputs: "dmabuf \(spec.name), resv held, buffer \(reason)",
      changes: victims.map {
        "calls \(has(.dmabufInvalidateMappingsRename) ? "invalidate_mappings" : "move_notify") of \(importerLabel($0))"
      },
      outcome: "\(victims.count) importer(s) notified",
      explanation:
        "The exporter moved the buffer, so the core tells every dynamic importer. Their sg tables now point at "
        + "memory the buffer no longer uses.",
      note: has(.dmabufInvalidateMappingsRename)
        ? "renamed from dma_buf_move_notify/move_notify in ≈v7.1 (UNVERIFIED release)"
        : "renamed dma_buf_invalidate_mappings/invalidate_mappings in 7.1", attachment: index)
    for victim in victims {
      let old = attachments[victim].table
      attachments[victim].invalidatedTable = old
      attachments[victim].unmap()
      attachments[victim].needsRemap = true
      attachments[victim].invalidations += 1
      record(
        .importerDriver(attachments[victim].importer), invalidateCallbackName(attachments[victim].profile),
        inputs: "attachment of \(importerLabel(victim))",
        changes: [
          "stops DMA to the old \(attachments[victim].tablePlacement?.rawValue ?? "") copy",
          "dma_buf_unmap_attachment: \(old?.nents ?? 0) entr\(old?.nents == 1 ? "y" : "ies") dropped",
        ],
        outcome: "unmapped",
        explanation:
          "The importer stops using its mapping (it may finish in-flight work guarded by fences) and unmaps; it "
          + "maps again before its next use.",
        attachment: victim, sgVisible: 0)
    }
  }

  func invalidateCallback(_ profile: DriverProfile) -> String {
    profile.invalidateCallback ?? "importer_ops->invalidate_mappings"
  }

  mutating func remapInvalidated() {
    for index in attachments.indices where attachments[index].needsRemap && attachments[index].error == nil {
      attachments[index].needsRemap = false
      record(
        .importerDriver(attachments[index].importer), "re-map before next use",
        inputs: "attachment of \(importerLabel(index)) (invalidated \(attachments[index].invalidations)x)",
        outcome: "calls dma_buf_map_attachment",
        explanation: "Its old mapping was invalidated, so the importer maps the buffer again at its new place.",
        attachment: index, sgVisible: 0)
      map(index)
    }
  }

  mutating func teardown() {
    for index in attachments.indices where attachments[index].attached {
      let state = attachments[index]
      if state.mapped, let table = state.table {
        let unmapDetail: String
        if table.nents > 0 && table[0].addressKind == .pciBus {
          unmapDetail = "bus-address entries: nothing to unmap (dma_buf_free_sgt)"
        } else if table.isPageBacked {
          unmapDetail = "dma_unmap_sgtable (\(table.nents) DMA entries)"
        } else if state.device.usesIOMMU {
          unmapDetail = "IOVAs unmapped and freed (\(table.nents) entries)"
        } else {
          unmapDetail = "dma_unmap_resource is a no-op under dma-direct"
        }
        var changes = [unmapDetail, "sg table freed"]
        if state.pinnedOnMap {
          changes.append("unpin (pin-on-map)")
          pinCount = max(0, pinCount - 1)
        }
        record(
          .dmaBufCore, "dma_buf_unmap_attachment -> \(ops.unmapFunction)",
          inputs: "attachment of \(importerLabel(index))", changes: changes,
          explanation: "The importer is done with the buffer; the exporter releases the DMA mappings it made.",
          attachment: index, sgVisible: 0)
        // Free the IOVAs but keep the table: the result reports what the importer used.
        for iova in attachments[index].iovas { attachments[index].device.domain.free(iova: iova) }
        attachments[index].iovas = []
        attachments[index].mapped = false
      }
      if state.pinnedByImporter {
        pinCount = max(0, pinCount - 1)
        record(
          .importerDriver(state.importer), "dma_buf_unpin", inputs: "attachment of \(importerLabel(index))",
          changes: ["pin released"], explanation: "The importer lets the buffer move again.", attachment: index)
      }
      ops.detach(index, &self)
      attachments[index].attached = false
      record(
        .dmaBufCore, ops.detachFunction.map { "dma_buf_detach -> \($0)" } ?? "dma_buf_detach",
        inputs: "attachment of \(importerLabel(index))",
        changes: ["attachment removed from dmabuf->attachments and freed"],
        explanation: "The attachment is removed under the reservation lock"
          + (ops.detachFunction == nil
            ? "; this exporter's ops have no detach callback, so nothing else runs."
            : " and the exporter's detach callback runs."),
        attachment: index)
      record(
        .importerDriver(state.importer), "dma_buf_put", inputs: "dmabuf \(spec.name)", changes: ["dma_buf refcount -1"],
        explanation: "The importer drops its reference.", attachment: index)
    }
    record(
      .dmaBufCore, "dma_buf_put (last reference) -> dma_buf_release -> \(ops.releaseFunction)",
      inputs: "dmabuf \(spec.name)", changes: ["dma_buf freed; the exporter's BO reference dropped"],
      explanation:
        "When the last file reference goes, the dma_buf is released and the exporter drops its buffer reference.")
  }

}
