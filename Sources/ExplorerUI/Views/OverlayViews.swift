import P2PDMA
import PCITopology

/// Overlays drawn over the panes: help, search prompt, buffer list, P2P matrix, error box.
enum OverlayViews {
  /// A centred box of at most `width`×`height`, clipped to the screen.
  static func centredBox(screen: CellScreen, width: Int, height: Int) -> Rect {
    let boxWidth = min(width, screen.width)
    let boxHeight = min(height, screen.height)
    return Rect(
      x: (screen.width - boxWidth) / 2, y: (screen.height - boxHeight) / 2, width: boxWidth, height: boxHeight)
  }

  /// Width of the help box on a screen `screenWidth` wide.
  static func helpWidth(screenWidth: Int) -> Int { min(96, screenWidth) }

  /// The help text: every row of the key tables (the same rows dispatch reads), by group, the
  /// help words wrapped to `width` columns.
  static func helpLines(width: Int) -> [StyledLine] {
    var lines: [StyledLine] = []
    var group = ""
    let textWidth = max(10, width - 20)
    for binding in KeyMap.main + KeyMap.matrix {
      let groupLabel = binding.group == group ? "" : binding.group
      group = binding.group
      for (index, text) in Format.wrap(binding.help, width: textWidth).enumerated() {
        var line = StyledLine(Format.fit(index == 0 ? groupLabel : "", 9), .role(.header, bold: true))
        line.append(Format.fit(index == 0 ? binding.label : "", 11), .bold)
        line.append(text)
        lines.append(line)
      }
    }
    let notes =
      ["Tree badges: [EXP] exporter, [IMPn] importer, ACS:RR CR EC redirect set"]
      + MatrixLegend.entries.map { "Matrix \($0.code): \($0.meaning)" }
    for note in notes {
      for text in Format.wrap(note, width: max(10, width)) { lines.append(StyledLine(text, .role(.dim))) }
    }
    return lines
  }

  static func renderHelp(_ state: ExplorerState, into screen: inout CellScreen) {
    let lines = helpLines(width: helpWidth(screenWidth: screen.width) - 2)
    let rect = centredBox(screen: screen, width: helpWidth(screenWidth: screen.width), height: lines.count + 2)
    let inner = rect.inset(by: 1)
    let first = min(max(0, state.helpScroll), max(0, lines.count - inner.height))
    let more = lines.count > inner.height
    let title = more ? "Keys (↑↓ PgDn scroll, Esc closes)" : "Keys (Esc closes)"
    screen.box(rect, title: title, focused: true, glyphs: state.display.glyphs)
    guard !inner.isEmpty else { return }
    var wrapped: [StyledLine] = []
    for line in lines.dropFirst(first).prefix(inner.height) { wrapped.append(line) }
    for (offset, line) in wrapped.enumerated() {
      screen.draw(line, x: inner.x, y: inner.y + offset, width: inner.width)
    }
    if more, rect.width > 20 {
      let marker = first + inner.height < lines.count ? " more ↓ " : " end "
      screen.put(marker, x: rect.maxX - 2 - marker.count, y: rect.maxY - 1, style: .role(.dim))
    }
  }

  static func renderSearch(_ state: ExplorerState, into screen: inout CellScreen, layout: Layout) {
    // The prompt sits on the status line so the tree stays visible while typing.
    let rect = layout.status.isEmpty ? Rect(x: 0, y: screen.height - 1, width: screen.width, height: 1) : layout.status
    screen.fill(rect, style: CellStyle(reverse: true))
    var line = StyledLine("/", CellStyle(bold: true, reverse: true, role: .accent))
    line.append(state.searchQuery + "_", CellStyle(reverse: true))
    line.append("   BDF or name; Enter jumps, Esc cancels", CellStyle(reverse: true, role: .dim))
    screen.draw(line, x: rect.x, y: rect.y, width: rect.width)
  }

  static func renderBufferList(_ state: ExplorerState, into screen: inout CellScreen) {
    let buffers = state.exporterBuffers
    let rect = centredBox(screen: screen, width: 72, height: max(buffers.count, 1) + 5)
    var title = "Buffers"
    if let exporter = state.exporter { title += " of \(state.topology[exporter].bdf)" }
    screen.box(rect, title: title + " (Enter picks, Esc keeps)", focused: true, glyphs: state.display.glyphs)
    let inner = rect.inset(by: 1)
    guard !inner.isEmpty else { return }
    if buffers.isEmpty {
      screen.put(
        "This device lists no buffers: the simulator uses its default buffer.", x: inner.x, y: inner.y,
        maxWidth: inner.width)
      screen.restyle(Rect(x: inner.x, y: inner.y, width: inner.width, height: 1)) { $0.reverse = true }
      return
    }
    let extras = state.exporter.map { state.topology[$0].extras } ?? DeviceExtras()
    let first = max(0, state.bufferCursor - (inner.height - 2) + 1)
    for (offset, number) in (first..<buffers.count).prefix(max(0, inner.height - 1)).enumerated() {
      let line = DetailsView.bufferLine(
        number: number, buffer: buffers[number], extras: extras, chosen: number == state.bufferIndex)
      let y = inner.y + offset
      screen.draw(line, x: inner.x, y: y, width: inner.width)
      if number == state.bufferCursor {
        screen.restyle(Rect(x: inner.x, y: y, width: inner.width, height: 1)) { $0.reverse = true }
      }
    }
  }

  static func renderError(_ message: String, state: ExplorerState, into screen: inout CellScreen) {
    let lines = message.split(separator: "\n", omittingEmptySubsequences: false).flatMap {
      Format.wrap(String($0), width: max(1, min(76, screen.width - 4)))
    }
    let rect = centredBox(screen: screen, width: 80, height: lines.count + 3)
    screen.box(rect, title: "Error (Esc closes)", focused: true, glyphs: state.display.glyphs)
    let inner = rect.inset(by: 1)
    for (offset, text) in lines.prefix(inner.height).enumerated() {
      screen.put(
        text, x: inner.x, y: inner.y + offset, style: CellStyle(bold: true, role: .error), maxWidth: inner.width)
    }
  }

  /// The P2P matrix: providers down, clients across, one cell per pair coloured by map type; the
  /// explanation of the highlighted cell at the bottom. Cells and explanation come from state.
  static func renderMatrix(_ state: ExplorerState, into screen: inout CellScreen) {
    let rect = centredBox(screen: screen, width: screen.width - 4, height: screen.height - 2)
    let matrix = state.matrix
    let scope = matrix.showAll ? "all functions" : "devices that share; A: all"
    screen.box(
      rect, title: "P2P matrix: provider ↓ client → (\(scope); Esc closes)", focused: true,
      glyphs: state.display.glyphs)
    let inner = rect.inset(by: 1)
    guard inner.width > 20, inner.height > 8 else {
      screen.put("too small for the matrix", x: inner.x, y: inner.y, maxWidth: inner.width)
      return
    }
    let endpoints = matrix.endpoints
    guard !endpoints.isEmpty else {
      screen.put("No endpoints to pair (A shows every function).", x: inner.x, y: inner.y)
      return
    }
    // Column headings are full BDFs written downwards would take 12 lines; instead the client
    // column under the cursor is named in full on the heading line, and each column shows its
    // position number, which the row labels also carry.
    let gridHeight = max(1, min(endpoints.count, inner.height - 3 - 6))
    let explanationHeight = inner.height - 3 - gridHeight
    let labelWidth = 17
    let cellWidth = 5
    let columnsVisible = max(1, (inner.width - labelWidth) / cellWidth)
    let rowsVisible = max(1, gridHeight)
    let firstRow = scrollStart(cursor: matrix.row, visible: rowsVisible, count: endpoints.count)
    let firstColumn = scrollStart(cursor: matrix.column, visible: columnsVisible, count: endpoints.count)
    // Legend: the same codes as `dmabuf-explorer matrix`.
    var legend = StyledLine()
    for (code, style) in [
      ("BUSn", DecisionView.style(for: .busAddress)), ("HBn", DecisionView.style(for: .thruHostBridge)),
      ("NO", DecisionView.style(for: .notSupported)), ("X", CellStyle.role(.dim)),
    ] {
      legend.append(code, style)
      let meaning = MatrixLegend.entries.first { $0.code == code }?.meaning ?? ""
      legend.append(" " + (meaning.split(separator: ":").first.map(String.init) ?? meaning) + "  ")
    }
    legend.append("n: distance; I/c what-ifs", .role(.dim))
    screen.draw(legend, x: inner.x, y: inner.y, width: inner.width)
    // The highlighted client in full, then the column numbers.
    let client = endpoints[min(matrix.column, endpoints.count - 1)]
    var clientLine = StyledLine("client column \(matrix.column + 1): ", .role(.header))
    clientLine.append(
      "\(state.topology[client].bdf) \(TreeView.shortName(of: state.topology[client]))", .bold)
    screen.draw(clientLine, x: inner.x, y: inner.y + 1, width: inner.width)
    for column in 0..<columnsVisible {
      let index = firstColumn + column
      guard index < endpoints.count else { break }
      let style: CellStyle = index == matrix.column ? CellStyle(bold: true, reverse: true) : .role(.header)
      screen.put(
        Format.fit(String(index + 1), cellWidth - 1), x: inner.x + labelWidth + column * cellWidth, y: inner.y + 2,
        style: style)
    }
    for row in 0..<rowsVisible {
      let providerPosition = firstRow + row
      guard providerPosition < endpoints.count else { break }
      let provider = endpoints[providerPosition]
      let y = inner.y + 3 + row
      let labelStyle: CellStyle = providerPosition == matrix.row ? CellStyle(bold: true, reverse: true) : .role(.header)
      let label = Format.padLeft(String(providerPosition + 1), 3) + " " + state.topology[provider].bdf.description
      screen.put(Format.fit(label, labelWidth - 1), x: inner.x, y: y, style: labelStyle)
      for column in 0..<columnsVisible {
        let clientPosition = firstColumn + column
        guard clientPosition < endpoints.count else { break }
        let x = inner.x + labelWidth + column * cellWidth
        var (text, style) = cellText(matrix, row: providerPosition, column: clientPosition)
        if providerPosition == matrix.row && clientPosition == matrix.column {
          style.reverse.toggle()
          style.bold = true
        }
        screen.put(Format.fit(text, cellWidth - 1), x: x, y: y, style: style)
      }
    }
    // Explanation of the highlighted cell.
    guard explanationHeight >= 3 else { return }
    let top = inner.y + 3 + gridHeight
    screen.put(
      String(repeating: state.display.glyphs.horizontal.description, count: inner.width), x: inner.x, y: top,
      style: .role(.dim))
    let provider = endpoints[min(matrix.row, endpoints.count - 1)]
    var heading = StyledLine("provider ", .role(.header))
    heading.append("\(state.topology[provider].bdf) \(TreeView.shortName(of: state.topology[provider]))", .bold)
    heading.append("  client ", .role(.header))
    heading.append("\(state.topology[client].bdf) \(TreeView.shortName(of: state.topology[client]))", .bold)
    screen.draw(heading, x: inner.x, y: top + 1, width: inner.width)
    guard provider != client else {
      screen.put(
        "Same function (X): distance 0, BUS_ADDR (the kernel's trivial case).", x: inner.x, y: top + 2,
        maxWidth: inner.width)
      return
    }
    if let failure = matrix.explanationError {
      screen.put("explain failed: \(failure)", x: inner.x, y: top + 2, style: .role(.error), maxWidth: inner.width)
      return
    }
    guard let explanation = matrix.explanation else { return }
    var verdict = StyledLine("\(explanation.mapType.kernelName)", DecisionView.style(for: explanation.mapType))
    verdict.append("  distance \(explanation.distance.map(String.init) ?? "-")")
    if let topologyClass = explanation.topologyClass {
      verdict.append("   nvidia-smi topo: ", .role(.header))
      verdict.append(topologyClass, .role(.dim))
    }
    screen.draw(verdict, x: inner.x, y: top + 2, width: inner.width)
    var text = Format.wrap(explanation.reason, width: inner.width)
    if let fix = explanation.fix { text += Format.wrap("fix: \(fix)", width: inner.width) }
    for line in explanation.dmesg { text += Format.wrap("dmesg: \(line)", width: inner.width) }
    for (offset, line) in text.prefix(explanationHeight - 3).enumerated() {
      screen.put(line, x: inner.x, y: top + 3 + offset, style: line.hasPrefix("fix:") ? .role(.good) : .plain)
    }
  }

  /// A matrix cell's code (`BUS4`, `HB4`, `NO`, `X`) and style.
  static func cellText(_ matrix: MatrixState, row: Int, column: Int) -> (String, CellStyle) {
    if row == column { return ("X", .role(.dim)) }
    guard let cell = matrix.cell(row: row, column: column) else { return ("?", .role(.dim)) }
    let code = MatrixLegend.code(mapType: cell.mapType, distance: cell.distance)
    return (code, DecisionView.style(for: cell.mapType))
  }

  /// First visible index so `cursor` is on screen.
  static func scrollStart(cursor: Int, visible: Int, count: Int) -> Int {
    guard visible > 0, count > visible else { return 0 }
    return min(max(0, cursor - visible / 2), count - visible)
  }
}
