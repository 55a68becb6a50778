import P2PDMA
import PCITopology

/// `update(state, event) → state`: the only place the app state changes.
public func update(_ state: ExplorerState, _ event: ExplorerEvent) -> ExplorerState {
  var next = state
  next.handle(event)
  return next
}

extension ExplorerState {
  /// Applies one event in place (what `update` does, without copying the state).
  public mutating func handle(_ event: ExplorerEvent) {
    switch event {
    case .resize(let width, let height):
      setLayout(width: width, height: height)
      needsFullRedraw = true
      keepCursorsVisible()
    case .tick:
      if isAnimating {
        stepForward()
        if isAtEnd { playback.isPlaying = false }
      } else {
        playback.isPlaying = false
      }
    case .mouse(let mouse):
      handleMouse(mouse)
    case .key(let key):
      message = nil
      handleKey(key)
      keepCursorsVisible()
    }
  }

  // MARK: Keys

  private mutating func handleKey(_ key: Key) {
    // Keys that work everywhere, overlays included.
    switch key {
    case .redraw:
      needsFullRedraw = true
      return
    case .function(10):
      shouldQuit = true
      return
    default: break
    }
    // q quits from every overlay except the search prompt, where it is text.
    if key == .character("q"), overlay != .search {
      shouldQuit = true
      return
    }
    if let overlay {
      handleOverlayKey(key, overlay: overlay)
      return
    }
    switch key {
    case .character("q"): shouldQuit = true
    case .character("?"), .function(1): overlay = .help
    case .escape: break
    case .tab: focus = Pane(rawValue: (focus.rawValue + 1) % Pane.allCases.count) ?? .tree
    case .backTab:
      focus = Pane(rawValue: (focus.rawValue + Pane.allCases.count - 1) % Pane.allCases.count) ?? .tree
    case .character("/"):
      searchQuery = ""
      overlay = .search
    case .character("e"): markExporter()
    case .character("i"): toggleImporterAtCursor()
    case .character("x"):
      clearShare()
      message = "selection cleared"
    case .enter:
      if let problem = startShare() {
        message = problem
        if run == nil, exporter != nil, !importers.isEmpty {
          overlay = .error("The share could not be simulated:\n\(problem)")
        }
      } else {
        message = "share started: Space pauses, n/p step, +/- speed"
      }
    case .character(" "):
      if run == nil {
        message = "nothing to play: pick an exporter (e) and importers (i), then Enter"
      } else if isAtEnd {
        playback.step = 0
        playback.walkProgress = currentStep?.walk == nil ? 0 : 1
        playback.isPlaying = true
      } else {
        playback.isPlaying.toggle()
      }
    case .character("n"), .right:
      playback.isPlaying = false
      stepForward()
    case .character("p"), .left:
      playback.isPlaying = false
      stepBackward()
    case .character("+"), .character("="):
      playback.speedIndex = min(playback.speedIndex + 1, Playback.intervals.count - 1)
      message = "speed: \(Playback.intervals[playback.speedIndex]) ms per step"
    case .character("-"), .character("_"):
      playback.speedIndex = max(playback.speedIndex - 1, 0)
      message = "speed: \(Playback.intervals[playback.speedIndex]) ms per step"
    case .character("m"): openMatrix()
    case .character("R"): toggleACS(.requestRedirect, name: "ReqRedir (RR)")
    case .character("C"): toggleACS(.completionRedirect, name: "CmpltRedir (CR)")
    case .character("E"): toggleACS(.egressControl, name: "EgressCtrl (EC)")
    case .character("a"): toggleAllRedirect()
    case .character("I"): cycleIOMMU()
    case .character("c"): cycleCPURule()
    case .character("h"): if focus == .tree { tree.toggleCollapse(topology: topology, expand: false) }
    case .character("l"): if focus == .tree { tree.toggleCollapse(topology: topology, expand: true) }
    case .character("o"): if focus == .tree { tree.toggleCollapse(topology: topology) }
    case .up, .character("k"): move(by: -1)
    case .down, .character("j"): move(by: 1)
    case .pageUp: move(by: -max(1, pageHeight(of: focus) - 1))
    case .pageDown: move(by: max(1, pageHeight(of: focus) - 1))
    case .home: move(by: Int.min / 2)
    case .end: move(by: Int.max / 2)
    default: break
    }
  }

  private mutating func handleOverlayKey(_ key: Key, overlay: Overlay) {
    switch overlay {
    case .help, .error:
      switch key {
      case .escape, .enter, .character("?"), .function(1): self.overlay = nil
      default: break
      }
    case .search:
      switch key {
      case .escape:
        self.overlay = nil
        message = "search cancelled"
      case .enter:
        self.overlay = nil
        jumpToSearchMatch()
      case .backspace:
        if !searchQuery.isEmpty { searchQuery.removeLast() }
      case .character(let character):
        if searchQuery.count < 64, !character.isNewline { searchQuery.append(character) }
      default: break
      }
    case .bufferList:
      let buffers = exporterBuffers
      let count = max(1, buffers.count)
      switch key {
      case .escape:
        self.overlay = nil
        message = "exporter set; buffer \(bufferIndex) kept"
      case .up, .character("k"): bufferCursor = max(0, bufferCursor - 1)
      case .down, .character("j"): bufferCursor = min(count - 1, bufferCursor + 1)
      case .home: bufferCursor = 0
      case .end: bufferCursor = count - 1
      case .enter:
        setBufferIndex(min(bufferCursor, count - 1))
        self.overlay = nil
        let name = buffers.indices.contains(bufferIndex) ? buffers[bufferIndex].name : "default buffer"
        message = "buffer '\(name)' picked; now mark importers with i, then Enter"
      default: break
      }
    case .matrix:
      handleMatrixKey(key)
    }
  }

  private mutating func handleMatrixKey(_ key: Key) {
    let count = matrix.endpoints.count
    switch key {
    case .escape, .character("m"):
      overlay = nil
      return
    case .up, .character("k"): matrix.row -= 1
    case .down, .character("j"): matrix.row += 1
    case .left, .character("h"): matrix.column -= 1
    case .right, .character("l"): matrix.column += 1
    case .pageUp: matrix.row -= 10
    case .pageDown: matrix.row += 10
    case .home:
      matrix.row = 0
      matrix.column = 0
    case .end:
      matrix.row = count - 1
      matrix.column = count - 1
    case .character("I"): cycleIOMMU()
    case .character("c"): cycleCPURule()
    case .enter:
      // Enter takes the pair back to the tree: provider highlighted.
      if matrix.endpoints.indices.contains(matrix.row) {
        tree.reveal(matrix.endpoints[matrix.row], topology: topology)
      }
    default: break
    }
    matrix.row = min(max(0, matrix.row), max(0, count - 1))
    matrix.column = min(max(0, matrix.column), max(0, count - 1))
  }

  // MARK: Actions

  /// The highlighted function when it is an endpoint; otherwise says why on the status line.
  private mutating func endpointAtCursor(as role: String) -> Int? {
    guard let function = selectedFunction else {
      message = "highlight a device first"
      return nil
    }
    guard !topology[function].isBridge, !topology[function].isHostBridgeClass else {
      message = "\(topology[function].bdf) is a bridge: \(role)s are endpoint devices"
      return nil
    }
    return function
  }

  private mutating func markExporter() {
    guard let function = endpointAtCursor(as: "exporter") else { return }
    setExporter(function)
    bufferCursor = 0
    overlay = .bufferList
    message = "exporter: \(topology[function].bdf)"
  }

  private mutating func toggleImporterAtCursor() {
    guard let function = endpointAtCursor(as: "importer") else { return }
    if function == exporter {
      message = "\(topology[function].bdf) is the exporter; pick another device as importer"
      return
    }
    let added = toggleImporter(function)
    message = "\(topology[function].bdf) \(added ? "added as" : "removed from") importers (\(importers.count) now)"
  }

  private mutating func jumpToSearchMatch() {
    // An empty prompt repeats the last search: `/` Enter walks through the matches.
    if searchQuery.trimmingWhitespace().isEmpty { searchQuery = lastSearch }
    let query = searchQuery.trimmingWhitespace().lowercased()
    guard !query.isEmpty else { return }
    lastSearch = searchQuery
    // Start after the cursor so that repeating the search walks through the matches.
    let start = selectedFunction.map { $0 + 1 } ?? 0
    let count = topology.count
    for offset in 0..<count {
      let index = (start + offset) % count
      let function = topology[index]
      if function.bdf.description.contains(query) || function.displayName.lowercased().contains(query)
        || function.idPair.contains(query)
      {
        tree.reveal(index, topology: topology)
        focus = .tree
        message = "found \(function.bdf)"
        return
      }
    }
    message = "no match for '\(searchQuery)'"
  }

  private mutating func openMatrix() {
    if matrix.endpoints.isEmpty {
      matrix.endpoints = (0..<topology.count).filter { topology[$0].isEndpointForMatrix }
    }
    if let function = selectedFunction, let row = matrix.endpoints.firstIndex(of: function) { matrix.row = row }
    overlay = .matrix
  }

  private mutating func toggleACS(_ bit: ACSBits, name: String) {
    guard let function = selectedFunction else {
      message = "highlight a bridge first"
      return
    }
    let target = topology[function]
    guard case .present(let capability, let control) = target.acs else {
      message =
        target.acs.isUnknown
        ? "\(target.bdf): ACS state unknown (the input lacks extended config space)"
        : "\(target.bdf) has no ACS capability: nothing to toggle"
      return
    }
    guard capability.contains(bit) else {
      message = "\(target.bdf): its ACS capability does not implement \(name)"
      return
    }
    var bits = configuration.acsControlOverrides[target.bdf] ?? control
    let nowSet = !bits.contains(bit)
    if nowSet { bits.insert(bit) } else { bits.remove(bit) }
    let failure = reconfigure { configuration in
      configuration.acsControlOverrides[target.bdf] = bits == control ? nil : bits
    }
    message = failure ?? "what-if: \(name) \(nowSet ? "set" : "cleared") on \(target.bdf); everything recomputed"
  }

  private mutating func toggleAllRedirect() {
    guard let function = selectedFunction else { return }
    let target = topology[function]
    guard case .present(_, let control) = target.acs else {
      message = "\(target.bdf) has no known ACS Control register"
      return
    }
    let restoring = configuration.acsControlOverrides[target.bdf] != nil
    let failure = reconfigure { configuration in
      if restoring {
        configuration.acsControlOverrides[target.bdf] = nil
      } else {
        configuration.acsControlOverrides[target.bdf] = control.subtracting(.p2pRedirect)
      }
    }
    message =
      failure
      ?? (restoring
        ? "what-if removed: \(target.bdf) ACS Control back to \(control.shortNames)"
        : "what-if: RR/CR/EC cleared on \(target.bdf) (as pci=disable_acs_redir=\(target.bdf))")
  }

  private mutating func cycleIOMMU() {
    let order: [IOMMUMode] = [.off, .on, .passthrough]
    let position = order.firstIndex(of: configuration.iommu) ?? 0
    let nextMode = order[(position + 1) % order.count]
    let failure = reconfigure { $0.iommu = nextMode }
    message = failure ?? "what-if: IOMMU \(nextMode.rawValue); everything recomputed"
  }

  private mutating func cycleCPURule() {
    let order = CPURule.allCases
    let position = order.firstIndex(of: configuration.cpu) ?? 0
    let nextRule = order[(position + 1) % order.count]
    let failure = reconfigure { configuration in
      configuration.cpu = nextRule
      configuration.cpuWasInferred = false
      configuration.cpuSource = "what-if (c)"
    }
    message = failure ?? "what-if: CPU rule \(nextRule.rawValue); everything recomputed"
  }

  // MARK: Playback

  mutating func stepForward() {
    guard let run, !run.steps.isEmpty else { return }
    if let walk = currentStep?.walk, playback.walkProgress < walk.nodes.count {
      playback.walkProgress += 1
      return
    }
    guard playback.step < run.steps.count - 1 else { return }
    playback.step += 1
    playback.walkProgress = currentStep?.walk == nil ? 0 : 1
    followCurrentImporter()
  }

  mutating func stepBackward() {
    guard let run, !run.steps.isEmpty else { return }
    if currentStep?.walk != nil, playback.walkProgress > 1 {
      playback.walkProgress -= 1
      return
    }
    guard playback.step > 0 else { return }
    playback.step -= 1
    playback.walkProgress = currentStep?.walk?.nodes.count ?? 0
    followCurrentImporter()
  }

  private mutating func jumpToStep(_ index: Int) {
    guard let run, !run.steps.isEmpty else { return }
    playback.isPlaying = false
    playback.step = min(max(0, index), run.steps.count - 1)
    playback.walkProgress = currentStep?.walk?.nodes.count ?? 0
    followCurrentImporter()
  }

  /// The decision and sg panes follow the importer the current step is about.
  private mutating func followCurrentImporter() {
    guard let importer = currentStep?.importer, let run,
      let position = run.attachments.firstIndex(where: { $0.importer == importer })
    else { return }
    if position != decisionCursor {
      decisionCursor = position
      sgScroll = 0
    }
  }

  // MARK: Movement per pane

  private func pageHeight(of pane: Pane) -> Int { max(1, layout.rect(of: pane).height - 2) }

  private mutating func move(by delta: Int) {
    switch focus {
    case .tree:
      tree.cursor = clampedAdd(tree.cursor, delta, upper: tree.rows.count - 1)
    case .details:
      detailsScroll = clampedAdd(detailsScroll, delta, upper: 500)
    case .sequence:
      if delta == Int.min / 2 {
        jumpToStep(0)
      } else if delta == Int.max / 2 {
        jumpToStep(Int.max)
      } else if delta < 0 {
        for _ in 0..<min(-delta, 10_000) { stepBackward() }
      } else {
        for _ in 0..<min(delta, 10_000) { stepForward() }
      }
    case .decision:
      let count = run?.attachments.count ?? 0
      let before = decisionCursor
      decisionCursor = clampedAdd(decisionCursor, delta, upper: count - 1)
      if before != decisionCursor { sgScroll = 0 }
    case .sgTable:
      let rows = shownAttachment.map { visibleSGEntries(for: $0) } ?? 0
      // The sg pane spends two lines inside its box on the summary and the column header.
      let rowsOnScreen = max(1, layout.sgTable.height - 4)
      sgScroll = clampedAdd(sgScroll, delta, upper: rows - rowsOnScreen)
    }
  }

  /// Keeps scroll offsets so the cursors stay on screen after any change.
  public mutating func keepCursorsVisible() {
    tree.scrollToCursor(height: max(1, layout.tree.height - 2))
  }

  // MARK: Mouse

  private mutating func handleMouse(_ mouse: MouseEvent) {
    guard overlay == nil, let pane = layout.pane(atX: mouse.x, y: mouse.y) else { return }
    let rect = layout.rect(of: pane)
    switch mouse.action {
    case .press:
      focus = pane
      let row = mouse.y - rect.y - 1
      switch pane {
      case .tree:
        let target = tree.scroll + row
        if row >= 0, target < tree.rows.count {
          tree.cursor = target
          // A click on the ▸/▾ glyph (after the rails and the branch) collapses or expands.
          let line = tree.rows[target]
          let expanderColumn = rect.x + 1 + line.rails.count * 2 + (line.depth > 0 ? 2 : 0)
          if line.hasChildren, mouse.x == expanderColumn { tree.toggleCollapse(topology: topology) }
        }
      case .decision:
        // Row 0 inside the box is the column header.
        let target = row - 1
        if let run, target >= 0, target < run.attachments.count {
          decisionCursor = target
          sgScroll = 0
        }
      default: break
      }
    case .wheelUp, .wheelDown:
      let savedFocus = focus
      focus = pane
      move(by: mouse.action == .wheelUp ? -3 : 3)
      focus = savedFocus
    }
    keepCursorsVisible()
  }
}

/// `value + delta` clamped to 0...upper (0 when upper < 0), without overflow.
func clampedAdd(_ value: Int, _ delta: Int, upper: Int) -> Int {
  let (sum, overflow) = value.addingReportingOverflow(delta)
  let raw = overflow ? (delta < 0 ? Int.min : Int.max) : sum
  return min(max(0, raw), max(0, upper))
}

extension String {
  /// The string without leading and trailing spaces and tabs (no Foundation needed).
  func trimmingWhitespace() -> String {
    var text = Substring(self)
    while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
    while let last = text.last, last == " " || last == "\t" { text.removeLast() }
    return String(text)
  }
}
