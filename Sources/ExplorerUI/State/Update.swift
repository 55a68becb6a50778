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
        advanceTimer()
        if isAtEnd { playback.isPlaying = false }
      } else {
        playback.isPlaying = false
      }
    case .mouse(let mouse):
      handleMouse(mouse)
    case .key(let key):
      message = nil
      let armed = searchRepeatArmed
      searchRepeatArmed = false
      handleKey(key, searchRepeatArmed: armed)
      keepCursorsVisible()
    }
  }

  // MARK: Keys

  private mutating func handleKey(_ key: Key, searchRepeatArmed: Bool) {
    // Keys that work everywhere, overlays included.
    if key == .redraw {
      perform(.redraw)
      return
    }
    if key == .function(10) || (key == .character("q") && overlay != .search) {
      perform(.quit)
      return
    }
    if let overlay {
      handleOverlayKey(key, overlay: overlay)
      return
    }
    // Right after a search, n repeats it (as in less and vim); otherwise n steps the playback.
    if searchRepeatArmed, key == .character("n") {
      perform(.repeatSearch)
      return
    }
    guard let action = KeyMap.action(for: key, in: KeyMap.main) else { return }
    perform(action)
  }

  /// Does what a key of the main table means.
  mutating func perform(_ action: Action) {
    switch action {
    case .quit: effects.insert(.quit)
    case .redraw: effects.insert(.fullRedraw)
    case .help:
      helpScroll = 0
      overlay = .help
    case .closeOverlay: overlay = nil
    case .nextPane: focus = Pane(rawValue: (focus.rawValue + 1) % Pane.allCases.count) ?? .tree
    case .previousPane:
      focus = Pane(rawValue: (focus.rawValue + Pane.allCases.count - 1) % Pane.allCases.count) ?? .tree
    case .move(let movement): move(movement)
    case .pageUp:
      if focus == .sequence {
        explanationScroll = max(0, explanationScroll - 3)
      } else if focus == .decision {
        decisionScroll = max(0, decisionScroll - max(1, ViewGeometry.pageHeight(of: .decision, in: layout) - 1))
      } else {
        move(.by(-max(1, ViewGeometry.pageHeight(of: focus, in: layout) - 1)))
      }
    case .pageDown:
      if focus == .sequence {
        explanationScroll += 3
      } else if focus == .decision {
        decisionScroll += max(1, ViewGeometry.pageHeight(of: .decision, in: layout) - 1)
      } else {
        move(.by(max(1, ViewGeometry.pageHeight(of: focus, in: layout) - 1)))
      }
    case .collapse: if focus == .tree { tree.toggleCollapse(topology: topology, expand: false) }
    case .expand: if focus == .tree { tree.toggleCollapse(topology: topology, expand: true) }
    case .toggleSubtree: if focus == .tree { tree.toggleCollapse(topology: topology) }
    case .search:
      searchQuery = ""
      overlay = .search
    case .repeatSearch:
      searchQuery = lastSearch
      jumpToSearchMatch()
    case .markExporter: markExporter()
    case .toggleImporter: toggleImporterAtCursor()
    case .clearShare:
      clearShare()
      message = "selection cleared"
    case .activate: activate()
    case .restartShare: beginShare()
    case .playPause:
      if run == nil {
        message = "nothing to play: pick an exporter (e) and importers (i), then Enter"
      } else if isAtEnd {
        goToStep(0)
        playback.isPlaying = true
      } else {
        playback.isPlaying.toggle()
      }
    case .stepForward:
      playback.isPlaying = false
      goToStep(playback.step + 1)
    case .stepBackward:
      playback.isPlaying = false
      goToStep(playback.step - 1)
    case .firstStep:
      playback.isPlaying = false
      goToStep(0)
    case .lastStep:
      playback.isPlaying = false
      goToStep(Int.max)
    case .faster:
      playback.speedIndex = min(playback.speedIndex + 1, Playback.intervals.count - 1)
      message = "speed: \(Playback.intervals[playback.speedIndex]) ms per step"
    case .slower:
      playback.speedIndex = max(playback.speedIndex - 1, 0)
      message = "speed: \(Playback.intervals[playback.speedIndex]) ms per step"
    case .matrix: openMatrix()
    case .liveBuffers: openLiveBuffers()
    case .matrixShowAll: break
    case .lessons: openLessons()
    case .nextLessonPage: turnLessonPage(by: 1)
    case .previousLessonPage: turnLessonPage(by: -1)
    case .answer(let choice): answerPrediction(choice)
    case .whatIf(let whatIf): apply(whatIf)
    case .toggleSources:
      showsSources.toggle()
      // The whole line on the status line too: a small Sequence pane may cut the path.
      if !showsSources {
        message = "sources off"
      } else if let source = currentStep?.source {
        message = "source: \(source.file): \(source.function) (\(source.release), \(source.status))"
      } else {
        message = "sources on: the Sequence pane names the kernel file, function and release of each step"
      }
    }
  }

  /// Enter means one thing per pane, and never throws the playback position away: the tree
  /// starts the share when none is loaded, the Sequence pane plays or pauses, the Decision pane
  /// shows the highlighted importer's sg table.
  private mutating func activate() {
    switch focus {
    case .tree, .details:
      if run == nil {
        beginShare()
      } else {
        message = "this share is loaded (step \(playback.step + 1)); s starts it again from step 1"
      }
    case .sequence:
      perform(.playPause)
    case .decision:
      guard run != nil else {
        message = "no share yet: pick an exporter (e) and importers (i), then Enter in the tree"
        return
      }
      focus = .sgTable
      sgScroll = 0
    case .sgTable:
      break
    }
  }

  /// Simulates the selection and plays it from step 1.
  mutating func beginShare() {
    if let problem = startShare() {
      message = problem
      if run == nil, exporter != nil, !importers.isEmpty {
        overlay = .error("The share could not be simulated:\n\(problem)")
      }
    } else {
      message = "share started: Space pauses, n/p step, g/G first/last"
    }
  }

  private mutating func handleOverlayKey(_ key: Key, overlay: Overlay) {
    switch overlay {
    case .help:
      let lines = OverlayViews.helpLines(width: OverlayViews.helpWidth(screenWidth: layout.width) - 2).count
      let page = max(1, layout.height - 2)
      switch key {
      case .escape, .enter, .character("?"), .function(1): self.overlay = nil
      case .down, .character("j"): helpScroll = clampedAdd(helpScroll, 1, upper: lines - page)
      case .up, .character("k"): helpScroll = clampedAdd(helpScroll, -1, upper: lines - page)
      case .pageDown, .character(" "): helpScroll = clampedAdd(helpScroll, page - 1, upper: lines - page)
      case .pageUp: helpScroll = clampedAdd(helpScroll, -(page - 1), upper: lines - page)
      case .home, .character("g"): helpScroll = 0
      case .end, .character("G"): helpScroll = max(0, lines - page)
      default: break
      }
    case .error:
      switch key {
      case .escape, .enter: self.overlay = nil
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
      if let action = KeyMap.action(for: key, in: KeyMap.matrix) { performInMatrix(action) }
    case .lessonList:
      handleLessonListKey(key)
    case .liveBuffers:
      handleLiveBuffersKey(key)
    }
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
        message = "found \(function.bdf); n or F3: next match"
        searchRepeatArmed = true
        return
      }
    }
    message = "no match for '\(searchQuery)'"
  }

  // MARK: Playback

  /// The timer: light the current step's walk one hop further, else go to the next step.
  mutating func advanceTimer() {
    guard let run, !run.steps.isEmpty else { return }
    if isLightingWalk {
      playback.walkProgress += 1
      return
    }
    guard playback.step < run.steps.count - 1 else { return }
    playback.step += 1
    playback.walkProgress = currentStep?.walk == nil ? 0 : 1
    explanationScroll = 0
    followCurrentImporter()
  }

  /// Puts the playback on step `index` (clamped) with its walk fully lit: the step keys always
  /// move by whole steps, so a hop highlight never swallows one.
  mutating func goToStep(_ index: Int) {
    guard let run, !run.steps.isEmpty else { return }
    playback.step = min(max(0, index), run.steps.count - 1)
    playback.walkProgress = currentStep?.walk?.nodes.count ?? 0
    explanationScroll = 0
    followCurrentImporter()
  }

  /// The decision and sg panes follow the importer the current step is about.
  private mutating func followCurrentImporter() {
    guard let importer = currentStep?.importer, let run,
      let position = run.attachments.firstIndex(where: { $0.importer == importer })
    else { return }
    if position != shownAttachmentIndex {
      shownAttachmentIndex = position
      sgScroll = 0
      decisionScroll = 0
    }
  }

  // MARK: Movement per pane

  private mutating func move(_ movement: Move) {
    switch focus {
    case .tree:
      tree.cursor = moved(tree.cursor, movement, count: tree.rows.count)
    case .details:
      detailsScroll = moved(detailsScroll, movement, count: 500)
    case .sequence:
      playback.isPlaying = false
      switch movement {
      case .first: goToStep(0)
      case .last: goToStep(Int.max)
      case .by(let delta): goToStep(clampedAdd(playback.step, delta, upper: Int.max - 1))
      }
    case .decision:
      let count = run?.attachments.count ?? 0
      let before = shownAttachmentIndex
      shownAttachmentIndex = moved(shownAttachmentIndex, movement, count: count)
      if before != shownAttachmentIndex {
        sgScroll = 0
        decisionScroll = 0
      }
    case .sgTable:
      let rows = shownAttachmentNow?.visibleEntries ?? 0
      let rowsOnScreen = ViewGeometry.sgRowsOnScreen(in: layout)
      sgScroll = moved(sgScroll, movement, count: rows - rowsOnScreen + 1)
    }
  }

  /// A position after a movement, within 0..<count.
  private func moved(_ value: Int, _ movement: Move, count: Int) -> Int {
    switch movement {
    case .first: return 0
    case .last: return max(0, count - 1)
    case .by(let delta): return clampedAdd(value, delta, upper: count - 1)
    }
  }

  /// Keeps scroll offsets so the cursors stay on screen after any change.
  public mutating func keepCursorsVisible() {
    tree.scrollToCursor(height: max(1, layout.tree.height - 2))
  }

  // MARK: Mouse

  private mutating func handleMouse(_ mouse: MouseEvent) {
    // A click can come with a resize the terminal noticed meanwhile: always repaint in full.
    effects.insert(.fullRedraw)
    guard overlay == nil, let pane = layout.pane(atX: mouse.x, y: mouse.y) else { return }
    let rect = layout.rect(of: pane)
    switch mouse.action {
    case .press:
      focus = pane
      switch pane {
      case .tree:
        let target = tree.scroll + mouse.y - rect.y - 1
        if mouse.y > rect.y, target < tree.rows.count {
          tree.cursor = target
          let line = tree.rows[target]
          if line.hasChildren, mouse.x == ViewGeometry.treeExpanderColumn(of: line, in: rect) {
            tree.toggleCollapse(topology: topology)
          }
        }
      case .decision:
        if let run,
          let target = ViewGeometry.decisionAttachment(atY: mouse.y, in: rect, count: run.attachments.count)
        {
          shownAttachmentIndex = target
          sgScroll = 0
          decisionScroll = 0
        }
      default: break
      }
    case .wheelUp, .wheelDown:
      let savedFocus = focus
      focus = pane
      let delta = mouse.action == .wheelUp ? -3 : 3
      if pane == .decision {
        decisionScroll = max(0, decisionScroll + delta)
      } else if pane != .sequence {
        move(.by(delta))
      }
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
