import P2PDMA
import PCITopology
import Testing

@testable import ExplorerUI

@Suite("Key handling through update()")
struct KeyHandlingTests {
  @Test func movementKeysMoveTheTreeCursor() {
    var state = Fixtures.state()
    let start = state.tree.cursor
    state = update(state, .key(.down))
    state = update(state, .key(.character("j")))
    #expect(state.tree.cursor == start + 2)
    state = update(state, .key(.character("k")))
    #expect(state.tree.cursor == start + 1)
    state = update(state, .key(.end))
    #expect(state.tree.cursor == state.tree.rows.count - 1)
    state = update(state, .key(.home))
    #expect(state.tree.cursor == 0)
    state = update(state, .key(.up))
    #expect(state.tree.cursor == 0)
  }

  @Test func tabCyclesThroughEveryPane() {
    var state = Fixtures.state()
    var seen: [Pane] = [state.focus]
    for _ in 0..<Pane.allCases.count {
      state.press(.tab)
      seen.append(state.focus)
    }
    #expect(Set(seen) == Set(Pane.allCases))
    #expect(seen.last == .tree)
    state.press(.backTab)
    #expect(state.focus == .sgTable)
  }

  @Test func searchJumpsOnEnterAndEscCancels() {
    var state = Fixtures.state()
    state.press(.character("/"))
    #expect(state.overlay == .search)
    state.type("nvme")
    expectOnScreen(state.screen, "/nvme_")
    state.press(.enter)
    #expect(state.overlay == nil)
    #expect(state.selectedFunction == Fixtures.index(Fixtures.nvme))
    // By BDF, and Esc leaves the cursor alone.
    state.press(.character("/"))
    state.type("03:00")
    state.press(.escape)
    #expect(state.overlay == nil)
    #expect(state.selectedFunction == Fixtures.index(Fixtures.nvme))
    state.press(.character("/"))
    state.type("03:00")
    state.press(.enter)
    #expect(state.selectedFunction == Fixtures.index(Fixtures.gpu))
  }

  @Test func emptySearchRepeatsTheLastOne() {
    var state = Fixtures.state()
    state.press(.character("/"))
    state.type("switch down")
    state.press(.enter)
    #expect(state.selectedFunction == Fixtures.index(Fixtures.bdf("0000:02:00.0")))
    state.press(.character("/"), .enter)
    #expect(state.selectedFunction == Fixtures.index(Fixtures.redirectingSwitchPort))
  }

  /// n repeats a search right after it (as in less and vim), F3 at any time; any other key ends
  /// that, and n steps the playback again.
  @Test func nRepeatsASearchRightAfterItAndF3Always() {
    var state = SharePlaybackTests.startedShare()
    state.press(.character(" "))  // pause at step 1
    state.press(.character("/"))
    state.type("switch down")
    state.press(.enter)
    #expect(state.selectedFunction == Fixtures.index(Fixtures.bdf("0000:02:00.0")))
    #expect(state.message?.contains("n or F3: next match") == true)
    state.press(.character("n"))
    #expect(state.selectedFunction == Fixtures.index(Fixtures.redirectingSwitchPort))
    #expect(state.playback.step == 0, "n right after a search must not step")
    state.press(.down)
    state.press(.character("n"))
    #expect(state.playback.step == 1, "after another key n steps again")
    state.press(.function(3))
    #expect(state.selectedFunction == Fixtures.index(Fixtures.bdf("0000:02:00.0")))
  }

  @Test func noKeyIsBoundTwiceInATable() {
    for table in [KeyMap.main, KeyMap.matrix] {
      let keys = table.flatMap(\.keys)
      #expect(keys.count == Set(keys.map { "\($0)" }).count, "a key is bound twice")
    }
  }

  @Test func searchRevealsFunctionsInCollapsedSubtrees() {
    var state = Fixtures.state()
    state.highlight(Fixtures.bdf("0000:00:01.1"))
    state.press(.character("h"))
    #expect(!state.screen.contains("Navi 31 GPU"))
    state.press(.character("/"))
    state.type("navi")
    state.press(.enter)
    #expect(state.selectedFunction == Fixtures.index(Fixtures.gpu))
    expectOnScreen(state.screen, "Navi 31 GPU")
  }

  @Test func collapseAndExpandSubtree() {
    var state = Fixtures.state()
    let rows = state.tree.rows.count
    state.highlight(Fixtures.bdf("0000:01:00.0"))
    state.press(.character("h"))
    #expect(state.tree.rows.count == rows - 4)
    expectOnScreen(state.screen, "▸01:00.0")
    state.press(.character("l"))
    #expect(state.tree.rows.count == rows)
  }

  @Test func exporterOpensBufferListAndEnterPicksTheHighlightedBuffer() {
    var state = Fixtures.state()
    state.highlight(Fixtures.gpu)
    state.press(.character("e"))
    #expect(state.exporter == Fixtures.index(Fixtures.gpu))
    #expect(state.overlay == .bufferList)
    expectOnScreen(state.screen, "Buffers of 0000:03:00.0")
    state.press(.down, .enter)
    #expect(state.overlay == nil)
    #expect(state.bufferIndex == 1)
    expectOnScreen(state.screen, " * 1 staging")
  }

  @Test func importerTogglesAndBridgesAreRefused() {
    var state = Fixtures.state()
    state.highlight(Fixtures.nic)
    state.press(.character("i"))
    state.highlight(Fixtures.nvme)
    state.press(.character("i"))
    #expect(state.importers == [Fixtures.index(Fixtures.nic), Fixtures.index(Fixtures.nvme)])
    expectOnScreen(state.screen, "[IMP2]")
    state.press(.character("i"))
    #expect(state.importers == [Fixtures.index(Fixtures.nic)])
    state.highlight(Fixtures.redirectingSwitchPort)
    state.press(.character("i"))
    #expect(state.importers == [Fixtures.index(Fixtures.nic)])
    #expect(state.message?.contains("is a bridge") == true)
  }

  @Test func enterWithoutSelectionExplainsWhatIsMissing() {
    var state = Fixtures.state()
    state.press(.enter)
    #expect(state.run == nil)
    #expect(state.message == "pick an exporter (e) and at least one importer (i) first")
    expectOnScreen(state.screen, " pick an exporter (e) and at least one importer (i) first")
  }

  @Test(arguments: [(120, 40), (80, 24)])
  func helpListsEveryRowOfTheKeyTableAndScrolls(width: Int, height: Int) {
    var state = Fixtures.state(width: width, height: height)
    state.press(.function(1))
    #expect(state.overlay == .help)
    // Scroll through the help; every row of both key tables must have been on screen.
    var seen = ""
    // Enough presses to reach the end at 80×24 (the help is longer than two screens there).
    for _ in 0..<80 {
      seen += state.screen.text
      state.press(.down)
    }
    for binding in KeyMap.main + KeyMap.matrix {
      #expect(seen.contains(String(binding.help.prefix(40))), "help misses '\(binding.help)' at \(width)x\(height)")
    }
    if height == 24 {
      state.press(.home)
      expectOnScreen(state.screen, "more ↓")
    }
    state.press(.escape)
    #expect(state.overlay == nil)
    state.press(.character("?"))
    #expect(state.overlay == .help)
  }

  @Test func quitKeys() {
    var state = Fixtures.state()
    state.press(.character("q"))
    #expect(state.shouldQuit)
    var other = Fixtures.state()
    other.press(.character("?"), .function(10))
    #expect(other.shouldQuit)
    var fromMatrix = Fixtures.state()
    fromMatrix.press(.character("m"), .character("q"))
    #expect(fromMatrix.shouldQuit)
    // q typed into the search prompt is text, not quit.
    var searching = Fixtures.state()
    searching.press(.character("/"), .character("q"))
    #expect(!searching.shouldQuit)
  }

  @Test func ctrlLAndResizeAskForAFullRedraw() {
    var state = Fixtures.state()
    state.press(.redraw)
    #expect(state.needsFullRedraw)
    state.needsFullRedraw = false
    state.handle(.resize(width: 80, height: 24))
    #expect(state.needsFullRedraw)
    #expect(state.layout.mode == .compact)
  }

  @Test func globalTogglesCycleIOMMUAndCPURule() {
    var state = Fixtures.state()
    state.press(.character("I"))
    #expect(state.configuration.iommu == .on)
    state.press(.character("I"), .character("I"))
    #expect(state.configuration.iommu == .off)
    state.press(.character("c"))
    #expect(state.configuration.cpu == .intel)
    #expect(state.screen.lines[39].contains("CPU intel"))
  }

  @Test func whatIfTogglesACSBitsOnTheHighlightedBridge() {
    var state = Fixtures.state()
    state.highlight(Fixtures.redirectingSwitchPort)
    state.press(.character("R"))
    #expect(
      state.configuration.acsControlOverrides[Fixtures.redirectingSwitchPort] == [
        .sourceValidation, .completionRedirect, .upstreamForwarding,
      ])
    expectOnScreen(state.screen, "ACS:CR (what-if)")
    state.press(.character("C"))
    #expect(!state.hasACSRedirect(Fixtures.index(Fixtures.redirectingSwitchPort)))
    // Back to the hardware value: the override disappears.
    state.press(.character("R"), .character("C"))
    #expect(state.configuration.acsControlOverrides.isEmpty)
    // `a` clears all three, pressed again restores.
    state.press(.character("a"))
    #expect(!state.hasACSRedirect(Fixtures.index(Fixtures.redirectingSwitchPort)))
    state.press(.character("a"))
    #expect(state.hasACSRedirect(Fixtures.index(Fixtures.redirectingSwitchPort)))
    // A device without ACS says so.
    state.highlight(Fixtures.gpu)
    state.press(.character("E"))
    #expect(state.message?.contains("has no ACS capability") == true)
  }

  @Test func clickOnTheExpanderCollapsesTheSubtree() {
    var state = Fixtures.state()
    let rows = state.tree.rows.count
    let screen = state.screen
    guard let expander = screen.find("▾01:00.0") else {
      Issue.record("no expander for the switch:\(screen)")
      return
    }
    state.handle(.mouse(MouseEvent(x: expander.x, y: expander.y, action: .press)))
    #expect(state.tree.rows.count == rows - 4)
    expectOnScreen(state.screen, "▸01:00.0")
    // A click elsewhere on the row only selects it.
    state.handle(.mouse(MouseEvent(x: expander.x + 3, y: expander.y, action: .press)))
    #expect(state.tree.rows.count == rows - 4)
  }

  @Test func mouseClickSelectsAndWheelScrolls() {
    var state = Fixtures.state()
    let target = state.tree.rows.firstIndex { $0.functionIndex == Fixtures.index(Fixtures.nic) } ?? 0
    state.handle(.mouse(MouseEvent(x: 5, y: 1 + target, action: .press)))
    #expect(state.selectedFunction == Fixtures.index(Fixtures.nic))
    let sequence = state.layout.sequence
    state.handle(.mouse(MouseEvent(x: sequence.x + 2, y: sequence.y + 2, action: .press)))
    #expect(state.focus == .sequence)
    state.handle(.mouse(MouseEvent(x: 5, y: 3, action: .wheelUp)))
    #expect(state.tree.cursor == max(0, target - 3))
    #expect(state.focus == .sequence)
  }
}

@Suite("Mouse through the shared view geometry")
struct MouseGeometryTests {
  /// A click on an importer's row selects it (the row found through ViewGeometry, as drawn), and
  /// every click asks for a full repaint so a resize noticed meanwhile is drawn at once.
  @Test func clickOnADecisionRowSelectsThatImporterAndRepaints() {
    var state = SharePlaybackTests.startedShare()
    state.press(.character("G"))
    state.needsFullRedraw = false
    let screen = state.screen
    guard let row = screen.find("2 05:00.0") else {
      Issue.record("second importer's row not drawn:\(screen)")
      return
    }
    state.handle(.mouse(MouseEvent(x: row.x + 2, y: row.y, action: .press)))
    #expect(state.focus == .decision)
    #expect(state.shownAttachmentIndex == 1)
    #expect(state.needsFullRedraw)
    expectOnScreen(state.screen, "sg table — importer 05:00.0")
  }
}
