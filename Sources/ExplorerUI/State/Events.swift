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

/// One documented key binding, shown by the help overlay (the single source of truth for it).
public struct KeyBinding: Sendable, Equatable {
  public var keys: String
  public var action: String
  public var group: String
}

extension KeyBinding {
  /// Every key the explorer understands.
  public static let all: [KeyBinding] = [
    KeyBinding(keys: "↑ ↓  j k", action: "move / scroll", group: "Move"),
    KeyBinding(keys: "PgUp PgDn Home End", action: "page, first, last", group: "Move"),
    KeyBinding(keys: "Tab  Shift-Tab", action: "next / previous pane", group: "Move"),
    KeyBinding(keys: "h l  o", action: "collapse / expand / toggle subtree", group: "Move"),
    KeyBinding(keys: "/", action: "search BDF/name: Enter jumps (empty: again), Esc", group: "Move"),
    KeyBinding(keys: "e", action: "mark exporter, open its buffer list (Enter picks)", group: "Share"),
    KeyBinding(keys: "i", action: "toggle highlighted device as importer", group: "Share"),
    KeyBinding(keys: "Enter", action: "start the share", group: "Share"),
    KeyBinding(keys: "x", action: "clear exporter, importers and share", group: "Share"),
    KeyBinding(keys: "Space", action: "play / pause", group: "Playback"),
    KeyBinding(keys: "n →  p ←", action: "next / previous step", group: "Playback"),
    KeyBinding(keys: "+ -", action: "faster / slower", group: "Playback"),
    KeyBinding(keys: "m", action: "P2P matrix (Enter/arrows explain a cell)", group: "Views"),
    KeyBinding(keys: "R C E", action: "what-if: toggle ACS ReqRedir/CmpltRedir/EgressCtrl", group: "What-if"),
    KeyBinding(keys: "a", action: "what-if: clear all RR/CR/EC here (again: restore)", group: "What-if"),
    KeyBinding(keys: "I", action: "cycle IOMMU mode off / on / pt", group: "What-if"),
    KeyBinding(keys: "c", action: "cycle CPU rule amd-zen / intel / other", group: "What-if"),
    KeyBinding(keys: "? F1", action: "this help", group: "App"),
    KeyBinding(keys: "Esc", action: "close overlay", group: "App"),
    KeyBinding(keys: "Ctrl-L", action: "redraw", group: "App"),
    KeyBinding(keys: "q F10", action: "quit", group: "App"),
    KeyBinding(keys: "mouse", action: "click selects, wheel scrolls", group: "App"),
  ]
}
