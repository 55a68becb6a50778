import P2PDMA
import PCITopology

/// The sg table pane: the shown importer's table as it stands at the current step (built so
/// far, invalidated, re-mapped). Only the rows on screen are read from the table, so scrolling a
/// 4-million-entry table costs the same per frame as a 10-entry one.
enum SGTableView {
  static func render(_ state: ExplorerState, into screen: inout CellScreen, rect: Rect, focused: Bool) {
    var title = "sg table"
    let summary = state.shownAttachment
    if let summary, (0..<state.topology.count).contains(summary.importer) {
      title += " — importer \(state.topology[summary.importer].bdf.shortDescription)"
    }
    screen.box(rect, title: title, focused: focused, glyphs: state.display.glyphs)
    let inner = rect.inset(by: 1)
    guard !inner.isEmpty else { return }
    guard let attachment = state.shownAttachmentNow else {
      screen.put(
        "The importer's scatter-gather table appears here as it is built.", x: inner.x, y: inner.y, style: .role(.dim),
        maxWidth: inner.width)
      return
    }
    guard let table = attachment.sgTable else {
      let reason =
        attachment.error.map { "no table: the map failed (\($0))" }
        ?? (attachment.hasStarted ? "not mapped yet at this step" : "no table for this importer yet")
      screen.put(
        reason, x: inner.x, y: inner.y, style: .role(attachment.error == nil ? .dim : .error), maxWidth: inner.width)
      return
    }
    let visible = attachment.visibleEntries
    var heading = StyledLine()
    if attachment.invalidated {
      heading.append("INVALIDATED ", CellStyle(bold: true, reverse: true, role: .warning))
      heading.append(" ")
    }
    heading.append("nents ", .role(.header))
    heading.append("\(table.nents)", .bold)
    heading.append("  orig_nents ", .role(.header))
    heading.append("\(table.origNents)", .bold)
    if let placement = attachment.placement { heading.append("  \(placement)", .bold) }
    if visible < table.count {
      heading.append("  building: \(visible) of \(table.count)", .role(.accent))
    } else if table.nents != table.origNents {
      heading.append(
        table.origNents == 0 ? "  (phys_vec export: no CPU pages)" : "  (dma_map_sg merged CPU entries)", .role(.dim))
    }
    screen.draw(heading, x: inner.x, y: inner.y, width: inner.width)
    guard inner.height >= 2 else { return }
    let note =
      attachment.invalidated
      ? "dropped by invalidate_mappings/move_notify: the importer must not use it; it maps again"
      : addressNote(
        kind: table.count > 0 ? table.row(0).kind : nil, mapType: attachment.mapType,
        placement: attachment.placement, exporterDriver: state.run?.exporterDriver, short: true)
    screen.put(
      note, x: inner.x, y: inner.y + 1, style: .role(attachment.invalidated ? .warning : .dim), maxWidth: inner.width)
    guard inner.height >= 3 else { return }
    let indexWidth = max(3, String(max(0, table.count - 1)).count)
    // Fixed columns; the target takes the rest of the line.
    let header =
      Format.padLeft("#", indexWidth) + "  " + Format.fit("dma_address", 18) + "  " + Format.fit("dma_len", 9) + " "
      + Format.fit("page", 12) + " target"
    screen.put(header, x: inner.x, y: inner.y + 2, style: .role(.header, bold: true), maxWidth: inner.width)
    let rowsHeight = inner.height - ViewGeometry.sgHeaderLines
    guard rowsHeight > 0 else { return }
    let first = min(max(0, state.sgScroll), max(0, visible - rowsHeight))
    let rowStyle: CellStyle = attachment.invalidated ? CellStyle(role: .dim) : .plain
    for line in 0..<rowsHeight {
      let index = first + line
      guard index < visible, index < table.count else { break }
      let row = table.row(index)
      let text =
        Format.padLeft(String(index), indexWidth) + "  " + Format.address(row.dmaAddress) + "  "
        + Format.fit(formatBytes(row.dmaLength), 9) + " " + Format.fit(row.page, 12) + " " + row.target
      screen.put(
        text, x: inner.x, y: inner.y + ViewGeometry.sgHeaderLines + line, style: rowStyle, maxWidth: inner.width)
    }
    if visible > rowsHeight, rect.width > 24 {
      let hint = " rows \(first + 1)-\(min(visible, first + rowsHeight)) of \(visible) "
      screen.put(hint, x: rect.maxX - 2 - hint.count, y: rect.maxY - 1, style: .role(.dim))
    }
  }

  /// What kind of address the importer got, said consistently with the map type: amdgpu and xe
  /// map VRAM with `dma_map_resource()`, which hands out the BAR's CPU-physical address (or an
  /// IOVA) even on a BUS_ADDR path; only the phys_vec helper (VFIO) emits PCI bus addresses.
  static func addressNote(
    kind: SGAddressKind?, mapType: MapType?, placement: String?, exporterDriver: String?, short: Bool = false
  ) -> String {
    guard let kind else { return "empty table" }
    let driver = exporterDriver ?? "the exporter"
    if short {
      switch kind {
      case .pciBus: return "PCI bus addresses: routed by the switch, never translated"
      case .iova: return placement == "VRAM" ? "IOVAs the importer's IOMMU maps to the BAR" : "IOVAs of system RAM"
      case .cpuPhysical:
        return placement == "VRAM"
          ? "CPU-physical BAR addresses from dma_map_resource() (why: Decision pane)"
          : "CPU-physical addresses of system RAM (dma-direct)"
      }
    }
    switch kind {
    case .pciBus:
      // Not "SG_DMA_BUS_ADDRESS": only the page-based dma_map_sg paths set that flag; the VFIO
      // phys-vec helper (dma_buf_phys_vec_to_sgt) fills bus addresses without it.
      return "PCI bus addresses: the switch routes them, no IOMMU translation"
    case .iova:
      if placement == "VRAM" {
        return "IOVAs from dma_map_resource(): the importer's IOMMU translates them to \(driver)'s BAR"
      }
      return "IOVAs: the importer's IOMMU translates them to system RAM"
    case .cpuPhysical:
      if placement == "VRAM" {
        let path = mapType == .busAddress ? " even on this BUS_ADDR path" : ""
        return
          "CPU-physical BAR addresses: \(driver) maps VRAM with dma_map_resource(), which returns the "
          + "BAR's CPU address\(path) (equal to the bus address when the host bridge adds no offset)"
      }
      return "CPU-physical addresses of system RAM (dma-direct: no IOMMU translation)"
    }
  }
}
