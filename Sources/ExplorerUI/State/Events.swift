/// A key press, decoded by the terminal backend.
public enum Key: Equatable, Sendable {
  case character(Character)
  case up, down, left, right
  case pageUp, pageDown, home, end
  case tab, backTab
  case enter, escape, backspace
  /// F1...F12.
  case function(Int)
  /// Ctrl-L: redraw everything.
  case redraw
}

/// A mouse action at a screen cell.
public struct MouseEvent: Equatable, Sendable {
  public enum Action: Equatable, Sendable { case press, wheelUp, wheelDown }
  public var x: Int
  public var y: Int
  public var action: Action
  public init(x: Int, y: Int, action: Action) {
    self.x = x
    self.y = y
    self.action = action
  }
}

/// Everything that changes the app state: input, resize, and animation ticks.
public enum ExplorerEvent: Equatable, Sendable {
  case key(Key)
  case mouse(MouseEvent)
  case resize(width: Int, height: Int)
  /// The playback timer fired (only sent while playing).
  case tick
}

/// A cursor or playback movement: relative, or to either end (Home/End, g/G).
public enum Move: Equatable, Sendable {
  case by(Int)
  case first, last
}

/// A what-if knob a key changes. New knobs (e.g. the kernel release) get a case here and a row
/// in `KeyMap.main`; `ExplorerState.apply(_:)` recomputes everything from the new knobs.
public enum WhatIf: Equatable, Sendable {
  case toggleACS(ACSBit)
  case clearAllRedirect
  case cycleIOMMU
  case cycleCPURule
  /// The kernel release the decision and the share follow (`KernelRelease.interfaceCycle`).
  case cycleKernelRelease

  /// The three ACS Control bits the kernel's P2P decision reads.
  public enum ACSBit: Equatable, Sendable {
    case requestRedirect, completionRedirect, egressControl
  }
}

/// What a key does. One table (`KeyMap`) maps keys to actions for both dispatch and help.
public enum Action: Equatable, Sendable {
  case quit, help, redraw, closeOverlay
  case nextPane, previousPane
  case move(Move)
  case pageUp, pageDown
  case collapse, expand, toggleSubtree
  case search, repeatSearch
  case markExporter, toggleImporter, clearShare
  /// Enter: one meaning per pane (see `ExplorerState.activate()`).
  case activate
  case restartShare
  case playPause, stepForward, stepBackward, firstStep, lastStep, faster, slower
  case matrix, matrixShowAll
  case lessons, nextLessonPage, previousLessonPage
  /// A digit: the student's choice on a lesson's checkpoint (0-based).
  case answer(Int)
  case whatIf(WhatIf)
  /// `b`: the live dma-bufs from bufinfo; picking one sets up its share.
  case liveBuffers
  /// `S`: show or hide the kernel source line under the current step's explanation.
  case toggleSources
}

/// One row of the key table: the keys, how help names them, what they do and the help text.
public struct KeyBinding: Sendable, Equatable {
  public var keys: [Key]
  /// How the help screen writes the keys (`n →`).
  public var label: String
  public var action: Action
  public var help: String
  public var group: String
}

/// The key tables: dispatch looks keys up here, and the help screen lists these rows, so the
/// two cannot drift apart.
public enum KeyMap {
  static func row(_ keys: [Key], _ label: String, _ action: Action, _ help: String, _ group: String) -> KeyBinding {
    KeyBinding(keys: keys, label: label, action: action, help: help, group: group)
  }

  /// Keys of the main screen (no overlay open).
  public static let main: [KeyBinding] = [
    row([.up, .character("k")], "↑ k", .move(.by(-1)), "move up / scroll / previous importer", "Move"),
    row([.down, .character("j")], "↓ j", .move(.by(1)), "move down / scroll / next importer", "Move"),
    row([.pageUp], "PgUp", .pageUp, "page up (Decision, Sequence: scroll the text)", "Move"),
    row([.pageDown], "PgDn", .pageDown, "page down (Decision, Sequence: scroll the text)", "Move"),
    row([.home], "Home", .move(.first), "first row of the pane", "Move"),
    row([.end], "End", .move(.last), "last row of the pane", "Move"),
    row([.tab], "Tab", .nextPane, "next pane", "Move"),
    row([.backTab], "Shift-Tab", .previousPane, "previous pane", "Move"),
    row([.character("h")], "h", .collapse, "collapse subtree (tree)", "Move"),
    row([.character("l")], "l", .expand, "expand subtree (tree)", "Move"),
    row([.character("o")], "o", .toggleSubtree, "toggle subtree (tree)", "Move"),
    row([.character("/")], "/", .search, "search BDF/name (Enter jumps, empty repeats)", "Move"),
    row(
      [.function(3)], "F3 (n)", .repeatSearch,
      "next match; n does it too right after a search, else n steps", "Move"),
    row([.character("e")], "e", .markExporter, "mark exporter, pick its buffer", "Share"),
    row([.character("i")], "i", .toggleImporter, "toggle importer", "Share"),
    row(
      [.enter], "Enter", .activate,
      "tree: start the share; Sequence: play/pause; Decision: show its sg table", "Share"),
    row([.character("s")], "s", .restartShare, "start the share again from step 1", "Share"),
    // S, not s: s starts the share again.
    row(
      [.character("S")], "S", .toggleSources, "kernel file, function, release of each step, CONFIRMED?",
      "Share"),
    row([.character("x")], "x", .clearShare, "clear exporter, importers and share", "Share"),
    row([.character(" ")], "Space", .playPause, "play / pause", "Playback"),
    row([.character("n"), .right], "n →", .stepForward, "next step", "Playback"),
    row([.character("p"), .left], "p ←", .stepBackward, "previous step", "Playback"),
    row([.character("g")], "g", .firstStep, "first step", "Playback"),
    row([.character("G")], "G", .lastStep, "last step", "Playback"),
    row([.character("+"), .character("=")], "+", .faster, "faster", "Playback"),
    row([.character("-"), .character("_")], "-", .slower, "slower", "Playback"),
    row([.character("m")], "m", .matrix, "P2P matrix of the endpoints", "Views"),
    row(
      [.character("b")], "b", .liveBuffers, "live dma-bufs (bufinfo); Enter sets up a buffer's share", "Views"),
    row([.character("L")], "L", .lessons, "lessons: the guided tour", "Lesson"),
    row([.character("]")], "]", .nextLessonPage, "next lesson page (past the last: the lesson ends)", "Lesson"),
    row([.character("[")], "[", .previousLessonPage, "previous lesson page", "Lesson"),
    row([.character("1")], "1", .answer(0), "checkpoint: choose answer 1", "Lesson"),
    row([.character("2")], "2", .answer(1), "checkpoint: choose answer 2", "Lesson"),
    row([.character("3")], "3", .answer(2), "checkpoint: choose answer 3", "Lesson"),
    row([.character("4")], "4", .answer(3), "checkpoint: choose answer 4", "Lesson"),
    row([.character("R")], "R", .whatIf(.toggleACS(.requestRedirect)), "what-if: toggle ACS ReqRedir here", "What-if"),
    row(
      [.character("C")], "C", .whatIf(.toggleACS(.completionRedirect)), "what-if: toggle ACS CmpltRedir here",
      "What-if"),
    row([.character("E")], "E", .whatIf(.toggleACS(.egressControl)), "what-if: toggle ACS EgressCtrl here", "What-if"),
    row([.character("a")], "a", .whatIf(.clearAllRedirect), "what-if: clear RR/CR/EC here (again: restore)", "What-if"),
    row([.character("I")], "I", .whatIf(.cycleIOMMU), "what-if: IOMMU off / on / pt", "What-if"),
    row([.character("c")], "c", .whatIf(.cycleCPURule), "what-if: CPU rule amd-zen / intel / other", "What-if"),
    // K, not k: k is "up" as in vim and htop.
    row(
      [.character("K")], "K", .whatIf(.cycleKernelRelease), "what-if: kernel release 4.20 … 6.12 / mainline",
      "What-if"),
    row([.character("?"), .function(1)], "? F1", .help, "this help", "App"),
    row([.escape], "Esc", .closeOverlay, "close overlay", "App"),
    row([.redraw], "Ctrl-L", .redraw, "redraw", "App"),
    row([.character("q"), .function(10)], "q F10", .quit, "quit", "App"),
  ]

  /// Keys inside the P2P matrix overlay.
  public static let matrix: [KeyBinding] = [
    row([.up, .character("k")], "↑ k", .move(.by(-1)), "provider above", "Matrix"),
    row([.down, .character("j")], "↓ j", .move(.by(1)), "provider below", "Matrix"),
    row([.left, .character("h")], "← h", .stepBackward, "client to the left", "Matrix"),
    row([.right, .character("l")], "→ l", .stepForward, "client to the right", "Matrix"),
    row([.pageUp], "PgUp", .pageUp, "ten providers up", "Matrix"),
    row([.pageDown], "PgDn", .pageDown, "ten providers down", "Matrix"),
    row([.home], "Home", .move(.first), "first pair", "Matrix"),
    row([.end], "End", .move(.last), "last pair", "Matrix"),
    row([.character("A")], "A", .matrixShowAll, "all functions / only endpoints that share", "Matrix"),
    row([.enter], "Enter", .activate, "close, highlight the provider in the tree", "Matrix"),
    row([.character("I")], "I", .whatIf(.cycleIOMMU), "what-if: IOMMU (cells recoloured)", "Matrix"),
    row([.character("c")], "c", .whatIf(.cycleCPURule), "what-if: CPU rule (cells recoloured)", "Matrix"),
    row([.character("K")], "K", .whatIf(.cycleKernelRelease), "what-if: kernel release (cells recoloured)", "Matrix"),
    row([.escape, .character("m")], "Esc m", .closeOverlay, "close the matrix", "Matrix"),
  ]

  /// The action bound to `key` in `table`.
  public static func action(for key: Key, in table: [KeyBinding]) -> Action? {
    table.first { $0.keys.contains(key) }?.action
  }
}
