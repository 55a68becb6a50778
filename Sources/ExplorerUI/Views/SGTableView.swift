import PCITopology

/// The sg table pane. Only the rows on screen are read from the table (through its subscript),
/// so scrolling a 4-million-entry table costs the same per frame as a 10-entry one.
enum SGTableView {
  static func render(_ state: ExplorerState, into screen: inout CellScreen, rect: Rect, focused: Bool) {
    var title = "sg table"
    let attachment = state.shownAttachment
    if let attachment, (0..<state.topology.count).contains(attachment.importer) {
      title += " — importer \(state.topology[attachment.importer].bdf.shortDescription)"
    }
    screen.box(rect, title: title, focused: focused, glyphs: state.display.glyphs)
    let inner = rect.inset(by: 1)
    guard !inner.isEmpty else { return }
    guard let attachment else {
      screen.put(
        "The importer's scatter-gather table appears here as it is built.", x: inner.x, y: inner.y, style: .role(.dim),
        maxWidth: inner.width)
      return
    }
    guard let table = attachment.sgTable else {
      let reason = attachment.error.map { "no table: the map failed (\($0))" } ?? "no table for this importer yet"
      screen.put(
        reason, x: inner.x, y: inner.y, style: .role(attachment.error == nil ? .dim : .error), maxWidth: inner.width)
      return
    }
    let visible = state.visibleSGEntries(for: attachment)
    var summary = StyledLine("nents ", .role(.header))
    summary.append("\(table.nents)", .bold)
    summary.append("  orig_nents ", .role(.header))
    summary.append("\(table.origNents)", .bold)
    if visible < table.count {
      summary.append("  building: \(visible) of \(table.count)", .role(.accent))
    } else if table.nents != table.origNents {
      summary.append(
        table.origNents == 0 ? "  (phys_vec export: no CPU pages)" : "  (dma_map_sg merged CPU entries)", .role(.dim))
    }
    screen.draw(summary, x: inner.x, y: inner.y, width: inner.width)
    guard inner.height >= 2 else { return }
    let indexWidth = max(3, String(max(0, table.count - 1)).count)
    // Fixed columns; the target takes the rest of the line.
    let header =
      Format.padLeft("#", indexWidth) + "  " + Format.fit("dma_address", 18) + "  " + Format.fit("dma_len", 9) + " "
      + Format.fit("page", 12) + " target"
    screen.put(header, x: inner.x, y: inner.y + 1, style: .role(.header, bold: true), maxWidth: inner.width)
    let rowsHeight = inner.height - 2
    guard rowsHeight > 0 else { return }
    let first = min(max(0, state.sgScroll), max(0, visible - rowsHeight))
    for line in 0..<rowsHeight {
      let index = first + line
      guard index < visible, index < table.count else { break }
      let row = table.row(index)
      let text =
        Format.padLeft(String(index), indexWidth) + "  " + Format.address(row.dmaAddress) + "  "
        + Format.fit(Format.bytes(row.dmaLength), 9) + " " + Format.fit(row.page, 12) + " " + row.target
      screen.put(text, x: inner.x, y: inner.y + 2 + line, style: .plain, maxWidth: inner.width)
    }
    if visible > rowsHeight, rect.width > 24 {
      let hint = " rows \(first + 1)-\(min(visible, first + rowsHeight)) of \(visible) "
      screen.put(hint, x: rect.maxX - 2 - hint.count, y: rect.maxY - 1, style: .role(.dim))
    }
  }
}
