import PCITopology

/// The Buffers view (`b`): one row per live dma-buf (size, exporter, attached devices, each
/// mapped to a function of the tree where it is one), or why there are none.
enum LiveBuffersView {
  static func render(_ state: ExplorerState, into screen: inout CellScreen) {
    let rows = state.liveBuffers.rows(in: state.topology)
    let width = min(100, screen.width - 2)
    var lines =
      rows.isEmpty ? emptyLines(state, width: width - 2) : rows.flatMap { self.lines(of: $0, state: state) }
    // A scenario is not the machine the listing came from: its addresses match by number only.
    if !rows.isEmpty, !state.topology.source.kind.isCapture {
      let caution =
        "The tree is a \(state.topology.source.kind.rawValue), not a captured machine: devices are "
        + "matched by PCI address only. Load the machine's own lspci or sysfs with --topology."
      lines.insert(
        contentsOf: Format.wrap(caution, width: max(1, width - 2)).map { (StyledLine($0, .role(.warning)), -1) },
        at: 0)
    }
    let rect = OverlayViews.centredBox(screen: screen, width: width, height: lines.count + 3)
    let title = rows.isEmpty ? "Live dma-bufs (Esc closes)" : "Live dma-bufs (↑↓, Enter sets up the share, Esc)"
    screen.box(rect, title: title, focused: true, glyphs: state.display.glyphs)
    let inner = rect.inset(by: 1)
    guard !inner.isEmpty else { return }
    var header = StyledLine("not read", .role(.dim))
    if let bufinfo = state.liveBuffers.bufinfo {
      // Counts first: a long path is what the box cuts.
      header = StyledLine(
        "\(bufinfo.buffers.count) buffers, \(bufinfo.layout) layout, from \(state.liveBuffers.source)", .role(.dim))
    }
    screen.draw(header, x: inner.x, y: inner.y, width: inner.width)
    let body = Rect(x: inner.x, y: inner.y + 1, width: inner.width, height: inner.height - 1)
    guard !body.isEmpty else { return }
    // Keep the highlighted buffer's first line on screen.
    // (The caution lines above the first buffer scroll away once the cursor moves down.)
    let leadingLines = lines.prefix { $0.buffer < 0 }.count
    let cursorLine =
      rows.isEmpty || state.liveBufferCursor == 0
      ? 0 : leadingLines + rows.prefix(state.liveBufferCursor).reduce(0) { $0 + lineCount(of: $1) }
    let first = max(0, min(cursorLine, lines.count - body.height))
    for (offset, line) in lines.dropFirst(first).prefix(body.height).enumerated() {
      screen.draw(line.text, x: body.x, y: body.y + offset, width: body.width)
      if line.buffer == state.liveBufferCursor, !rows.isEmpty {
        screen.restyle(Rect(x: body.x, y: body.y + offset, width: body.width, height: 1)) { $0.reverse = true }
      }
    }
  }

  private static func emptyLines(_ state: ExplorerState, width: Int) -> [(text: StyledLine, buffer: Int)] {
    let reason = state.liveBuffers.unavailable ?? "bufinfo lists no dma-bufs: nothing is shared right now."
    return Format.wrap(reason, width: max(1, width)).map { (StyledLine($0, .role(.warning)), -1) }
  }

  static func lineCount(of row: LiveBuffers.Row) -> Int { 1 + max(1, row.attachments.count) }

  /// `#2  8 MiB  amdgpu → 0000:03:00.0  name frame`, then one line per attached device.
  static func lines(of row: LiveBuffers.Row, state: ExplorerState) -> [(text: StyledLine, buffer: Int)] {
    let index = row.number - 1
    var first = StyledLine(Format.fit("#\(row.number)", 4), .bold)
    first.append(Format.fit(formatBytes(row.buffer.size), 10))
    first.append("exporter ", .role(.header))
    first.append(row.buffer.exporter, .bold)
    if let exporter = row.exporter {
      first.append(" → \(state.topology[exporter].bdf)", .role(.exporter, bold: true))
    } else {
      first.append(" (no single function: pick it with e)", .role(.dim))
    }
    if let name = row.buffer.name { first.append("  name \(name)") }
    var result = [(text: first, buffer: index)]
    if row.attachments.isEmpty {
      result.append((StyledLine("      attached: none", .role(.dim)), index))
    }
    for attachment in row.attachments {
      var line = StyledLine("      attached: ", .role(.header))
      line.append(attachment.device)
      if let function = attachment.function {
        let device = state.topology[function]
        let role: ColorRole = function == row.exporter ? .exporter : .importer
        line.append("  \(device.idPair) \(device.displayName)", .role(role))
      } else {
        line.append("  (not a PCI function here)", .role(.dim))
      }
      result.append((line, index))
    }
    return result
  }
}
