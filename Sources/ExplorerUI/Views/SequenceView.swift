import PCITopology

/// The sequence pane: steps as a diagram over five lanes, the current one highlighted, and the
/// explanation and kernel function of the current step under it.
enum SequenceView {
  static func render(_ state: ExplorerState, into screen: inout CellScreen, rect: Rect, focused: Bool) {
    let glyphs = state.display.glyphs
    var title = "Sequence"
    if let run = state.run {
      let status = state.isAtEnd ? "done" : (state.playback.isPlaying ? "playing" : "paused")
      title +=
        " — step \(min(state.playback.step + 1, run.steps.count))/\(run.steps.count), \(status), \(state.playback.interval) ms"
    }
    screen.box(rect, title: title, focused: focused, glyphs: glyphs)
    let inner = rect.inset(by: 1)
    guard !inner.isEmpty else { return }
    guard let run = state.run, !run.steps.isEmpty else {
      renderIntro(state, into: &screen, inner: inner)
      return
    }
    let laneCount = Lane.allCases.count
    let laneWidth = max(1, inner.width / laneCount)
    func center(_ lane: Lane) -> Int { inner.x + lane.rawValue * laneWidth + laneWidth / 2 }
    // Headings.
    for lane in Lane.allCases {
      let heading = laneWidth - 1 >= lane.title.count ? lane.title : lane.shortTitle
      let text = Format.fit(heading, laneWidth - 1, ellipsis: glyphs.ellipsis)
      screen.put(text, x: inner.x + lane.rawValue * laneWidth, y: inner.y, style: .role(.header, bold: true))
    }
    // Explanation block at the bottom: the step's explanation, its effects (the `*` lines of
    // `simulate`), what the kernel prints and the function; up to half the pane.
    let current = min(max(0, state.playback.step), run.steps.count - 1)
    let block = explanationLines(run.steps[current], state: state, width: inner.width)
    // The footer (source lines with `S`, then the kernel line) stays at the bottom.
    let footer = footerLines(
      run.steps[current], state: state, width: inner.width, maximumLines: max(2, (inner.height - 1) / 2))
    let explanationHeight = min(
      block.count + footer.count - 1, max(inner.height >= 4 ? footer.count : 0, (inner.height - 1) / 2))
    let diagramTop = inner.y + 1
    let diagramHeight = max(0, inner.height - 1 - explanationHeight)
    // Scroll so the current step is visible, with one step of look-ahead.
    var first = 0
    if diagramHeight > 0, current >= diagramHeight - 1 { first = current - diagramHeight + 2 }
    first = min(max(0, first), max(0, run.steps.count - diagramHeight))
    for line in 0..<diagramHeight {
      let index = first + line
      guard index < run.steps.count else { break }
      let step = run.steps[index]
      let y = diagramTop + line
      let isCurrent = index == current
      let isFuture = index > current
      let previousLane = index > 0 ? run.steps[index - 1].lane : .importerDriver
      var style = CellStyle(role: step.isFailure ? .error : .normal)
      if isFuture { style = .role(.dim) }
      if isCurrent { style = CellStyle(bold: true, role: step.isFailure ? .error : .accent) }
      // Lane rails.
      for lane in Lane.allCases { screen.set(x: center(lane), y: y, glyphs.vertical, style: .role(.dim)) }
      let from = center(previousLane)
      let to = center(step.lane)
      if from != to {
        let low = min(from, to)
        let high = max(from, to)
        for column in low...high { screen.set(x: column, y: y, glyphs.horizontal, style: style) }
        screen.set(x: to, y: y, to > from ? glyphs.arrowRight : glyphs.arrowLeft, style: style)
      } else {
        screen.set(x: to, y: y, glyphs.laneDot, style: style)
      }
      // In ASCII mode `→` becomes `>` with every other glyph (ExplorerRenderer.convertToASCII).
      var label = step.function
      // A future step shows what it calls, not what it returns: the outcome would give the story away.
      if !isFuture, let outcome = step.outcome, !outcome.isEmpty { label += " → \(outcome)" }
      // The label goes right of the arrow when it fits there; otherwise it is written over the
      // arrow's line, right after the head (leftward) or after a head drawn at the start
      // (rightward), so direction and origin stay visible and the text stays readable.
      let rightX = max(from, to) + 2
      let labelLength = label.unicodeScalars.count
      if inner.maxX - rightX >= min(labelLength, 28) {
        screen.put(Format.fit(label, inner.maxX - rightX, ellipsis: glyphs.ellipsis), x: rightX, y: y, style: style)
      } else {
        let low = min(from, to)
        if to > from { screen.set(x: low + 1, y: y, glyphs.arrowRight, style: style) }
        let startX = low + 2
        screen.put(
          Format.fit(label, max(0, inner.maxX - startX), ellipsis: glyphs.ellipsis), x: startX, y: y, style: style)
      }
      if isCurrent {
        screen.put(glyphs.pointer, x: inner.x, y: y, style: CellStyle(bold: true, reverse: true, role: .accent))
      }
    }
    // The explanation of the current step. The kernel function line always stays at the bottom;
    // the text above it scrolls (PgUp/PgDn in this pane) with a marker when there is more.
    guard explanationHeight > 0 else { return }
    let top = inner.maxY - explanationHeight
    let fixed = Array(footer.suffix(explanationHeight))
    let text = Array(block.dropLast())
    let room = explanationHeight - fixed.count
    let firstLine = min(max(0, state.explanationScroll), max(0, text.count - room))
    for (offset, line) in text.dropFirst(firstLine).prefix(room).enumerated() {
      screen.draw(line, x: inner.x, y: top + offset, width: inner.width)
    }
    for (offset, line) in fixed.enumerated() {
      screen.draw(line, x: inner.x, y: inner.maxY - fixed.count + offset, width: inner.width)
    }
    if text.count - firstLine > room, rect.width > 24 {
      screen.put(" more ↓ PgDn ", x: rect.maxX - 15, y: rect.maxY - 1, style: .role(.dim))
    } else if firstLine > 0, rect.width > 24 {
      screen.put(" ↑ PgUp ", x: rect.maxX - 10, y: rect.maxY - 1, style: .role(.dim))
    }
  }

  /// The explanation block of a step: words, effects, dmesg, then the kernel function.
  static func explanationLines(_ step: ShareStep, state: ExplorerState, width: Int) -> [StyledLine] {
    var lines: [StyledLine] = []
    for text in Format.wrap(step.explanation, width: width) {
      lines.append(StyledLine(text, step.isFailure ? .role(.error) : .plain))
    }
    for effect in step.effects {
      for (index, text) in Format.wrap(effect, width: max(1, width - 2)).enumerated() {
        var line = StyledLine(index == 0 ? "* " : "  ", CellStyle(bold: true, role: .accent))
        line.append(text, .role(.accent))
        lines.append(line)
      }
    }
    for text in step.dmesg {
      var line = StyledLine("dmesg: ", .role(.header))
      line.append(text, .role(.warning))
      lines.append(line)
    }
    var kernelLine = StyledLine("kernel: ", .role(.header))
    kernelLine.append("\(step.function)()", .bold)
    if let importer = step.importer, (0..<state.topology.count).contains(importer) {
      kernelLine.append("  importer \(state.topology[importer].bdf.shortDescription)", .role(.importer))
    }
    lines.append(kernelLine)
    return lines
  }

  /// The lines kept at the bottom of the pane: with `S`, where the step comes from in the kernel
  /// (wrapped, so a long path is never cut), then the kernel line (`explanationLines`' last).
  /// When that is more than `maximumLines`, the source is one line, status and release first,
  /// so what a small pane cuts is the end of the path, never whether it was checked.
  static func footerLines(_ step: ShareStep, state: ExplorerState, width: Int, maximumLines: Int) -> [StyledLine] {
    let kernel = explanationLines(step, state: state, width: width).last ?? StyledLine("")
    guard state.showsSources else { return [kernel] }
    guard let source = step.source else {
      var line = StyledLine("source: ", .role(.header))
      line.append("not named for this step", .role(.dim))
      return [line, kernel]
    }
    let statusStyle: CellStyle = source.confirmed ? .role(.good, bold: true) : .role(.warning, bold: true)
    let text = "\(source.file): \(source.function) (\(source.release), \(source.status))"
    let wrappedCount = Format.wrap(text, width: max(1, width - 8)).count
    if wrappedCount + 1 > maximumLines {
      var line = StyledLine("source: ", .role(.header))
      line.append(source.status, statusStyle)
      line.append(", \(source.release): \(source.file): \(source.function)")
      return [line, kernel]
    }
    var lines: [StyledLine] = []
    // "source: " on the first line, the same indent after; the status word keeps its colour.
    for (index, piece) in Format.wrap(text, width: max(1, width - 8)).enumerated() {
      var line = StyledLine(index == 0 ? "source: " : "        ", .role(.header))
      if let range = piece.firstRange(of: source.status) {
        line.append(String(piece[..<range.lowerBound]))
        line.append(String(piece[range]), statusStyle)
        line.append(String(piece[range.upperBound...]))
      } else {
        line.append(piece)
      }
      lines.append(line)
    }
    return lines + [kernel]
  }

  private static func renderIntro(_ state: ExplorerState, into screen: inout CellScreen, inner: Rect) {
    var lines: [StyledLine] = [
      // The tour first: on an 80x24 terminal this pane shows only five lines.
      StyledLine("New here? Press L for the guided tour (lessons).", CellStyle(bold: true, role: .accent)),
      StyledLine("No share yet. In the PCI tree:", .bold),
      StyledLine("  e  mark the highlighted device as exporter and pick a buffer"),
      StyledLine("  i  toggle it as an importer (several allowed)"),
      StyledLine("  Enter  start the share, Space play/pause, n/p step, g/G first/last"),
    ]
    if let exporter = state.exporter {
      var line = StyledLine("exporter: ", .role(.header))
      line.append(state.topology[exporter].bdf.description, CellStyle(bold: true, role: .exporter))
      let buffers = state.exporterBuffers
      if buffers.indices.contains(state.bufferIndex) { line.append("  buffer \(buffers[state.bufferIndex].name)") }
      lines.append(line)
    }
    if !state.importers.isEmpty {
      var line = StyledLine("importers: ", .role(.header))
      line.append(
        state.importers.map { state.topology[$0].bdf.shortDescription }.joined(separator: ", "),
        .role(.importer, bold: true))
      lines.append(line)
    }
    for (offset, line) in lines.prefix(inner.height).enumerated() {
      screen.draw(line, x: inner.x, y: inner.y + offset, width: inner.width)
    }
  }
}
