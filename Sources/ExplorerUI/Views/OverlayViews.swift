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

  static func renderHelp(_ state: ExplorerState, into screen: inout CellScreen) {
    let bindings = KeyBinding.all
    let rect = centredBox(screen: screen, width: 84, height: bindings.count + 4)
    screen.box(rect, title: "Keys (Esc closes)", focused: true, glyphs: state.display.glyphs)
    let inner = rect.inset(by: 1)
    var y = inner.y
    var group = ""
    for binding in bindings {
      guard y < inner.maxY else { break }
      let groupLabel = binding.group == group ? "" : binding.group
      group = binding.group
      var line = StyledLine(Format.fit(groupLabel, 9), .role(.header, bold: true))
      line.append(Format.fit(binding.keys, 19), .bold)
      line.append(binding.action)
      screen.draw(line, x: inner.x, y: y, width: inner.width)
      y += 1
    }
    if y < inner.maxY {
      screen.put(
        "Tree badges: [EXP] exporter, [IMPn] importer, ACS:RR CR EC redirect set", x: inner.x, y: y, style: .role(.dim),
        maxWidth: inner.width)
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
  /// explanation of the highlighted cell at the bottom. Only visible cells are computed.
  static func renderMatrix(_ state: ExplorerState, into screen: inout CellScreen) throws {
    let rect = centredBox(screen: screen, width: screen.width - 4, height: screen.height - 2)
    screen.box(rect, title: "P2P matrix: provider ↓ client → (Esc closes)", focused: true, glyphs: state.display.glyphs)
    let inner = rect.inset(by: 1)
    guard inner.width > 20, inner.height > 8 else {
      screen.put("too small for the matrix", x: inner.x, y: inner.y, maxWidth: inner.width)
      return
    }
    let matrix = state.matrix
    let endpoints = matrix.endpoints
    guard !endpoints.isEmpty else {
      screen.put("No endpoints to pair.", x: inner.x, y: inner.y)
      return
    }
    // The grid takes what it needs (up to all rows but six); the explanation gets the rest.
    let gridHeight = max(1, min(endpoints.count, inner.height - 2 - 6))
    let explanationHeight = inner.height - 2 - gridHeight
    let labelWidth = 9
    let cellWidth = 3
    let columnsVisible = max(1, (inner.width - labelWidth) / cellWidth)
    let rowsVisible = max(1, gridHeight)
    let firstRow = scrollStart(cursor: matrix.row, visible: rowsVisible, count: endpoints.count)
    let firstColumn = scrollStart(cursor: matrix.column, visible: columnsVisible, count: endpoints.count)
    // Legend.
    var legend = StyledLine("B", DecisionView.style(for: .busAddress))
    legend.append(" BUS_ADDR  ")
    legend.append("H", DecisionView.style(for: .thruHostBridge))
    legend.append(" THRU_HOST_BRIDGE  ")
    legend.append("X", DecisionView.style(for: .notSupported))
    legend.append(" NOT_SUPPORTED  ")
    legend.append("·", .role(.dim))
    legend.append(" self   digits: distance; I/c toggle IOMMU/CPU")
    screen.draw(legend, x: inner.x, y: inner.y, width: inner.width)
    // Column headings: device numbers of the clients (the slot is too long; bus suffices mostly).
    for column in 0..<columnsVisible {
      let index = firstColumn + column
      guard index < endpoints.count else { break }
      let bus = hex(state.topology[endpoints[index]].bdf.bus, width: 2)
      let style: CellStyle = index == matrix.column ? CellStyle(bold: true, reverse: true) : .role(.header)
      screen.put(bus, x: inner.x + labelWidth + column * cellWidth, y: inner.y + 1, style: style)
    }
    for row in 0..<rowsVisible {
      let providerPosition = firstRow + row
      guard providerPosition < endpoints.count else { break }
      let provider = endpoints[providerPosition]
      let y = inner.y + 2 + row
      let labelStyle: CellStyle = providerPosition == matrix.row ? CellStyle(bold: true, reverse: true) : .role(.header)
      screen.put(
        Format.fit(state.topology[provider].bdf.shortDescription, labelWidth - 1), x: inner.x, y: y, style: labelStyle)
      for column in 0..<columnsVisible {
        let clientPosition = firstColumn + column
        guard clientPosition < endpoints.count else { break }
        let client = endpoints[clientPosition]
        let x = inner.x + labelWidth + column * cellWidth
        var text: String
        var style: CellStyle
        if provider == client {
          text = "·"
          style = .role(.dim)
        } else if let answer = state.backend.mapTypeAndDistance(provider: provider, client: client) {
          let letter: String
          switch answer.mapType {
          case .busAddress: letter = "B"
          case .thruHostBridge: letter = "H"
          case .notSupported: letter = "X"
          default: letter = "?"
          }
          text =
            letter
            + (answer.mapType == .notSupported || answer.mapType == .unknown ? "" : String(min(answer.distance, 9)))
          style = DecisionView.style(for: answer.mapType)
        } else {
          text = "?"
          style = .role(.dim)
        }
        if providerPosition == matrix.row && clientPosition == matrix.column {
          style.reverse.toggle()
          style.bold = true
        }
        screen.put(Format.fit(text, cellWidth - 1), x: x, y: y, style: style)
      }
    }
    // Explanation of the highlighted pair.
    let top = inner.maxY - explanationHeight
    for column in inner.x..<inner.maxX {
      screen.set(x: column, y: top, state.display.glyphs.horizontal, style: .role(.dim))
    }
    let provider = endpoints[min(matrix.row, endpoints.count - 1)]
    let client = endpoints[min(matrix.column, endpoints.count - 1)]
    var heading = StyledLine("provider ", .role(.header))
    heading.append("\(state.topology[provider].bdf) \(TreeView.shortName(of: state.topology[provider]))", .bold)
    heading.append("  client ", .role(.header))
    heading.append("\(state.topology[client].bdf) \(TreeView.shortName(of: state.topology[client]))", .bold)
    screen.draw(heading, x: inner.x, y: top + 1, width: inner.width)
    guard provider != client else {
      screen.put(
        "Same function: distance 0, BUS_ADDR (the kernel's trivial case).", x: inner.x, y: top + 2,
        maxWidth: inner.width)
      return
    }
    let explanation = try state.backend.explain(provider: provider, client: client)
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

  /// First visible index so `cursor` is on screen.
  static func scrollStart(cursor: Int, visible: Int, count: Int) -> Int {
    guard visible > 0, count > visible else { return 0 }
    return min(max(0, cursor - visible / 2), count - visible)
  }
}
