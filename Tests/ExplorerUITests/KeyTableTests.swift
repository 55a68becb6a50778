import ExplorerUI
import P2PDMA
import PCITopology
import Testing

/// Every row of the key tables does something visible: pressing its key changes the screen or
/// asks the terminal loop for something. A key made a no-op (or dispatched to the wrong action)
/// turns this red, whatever its help text says.
@Suite("Every key in the help does something")
struct KeyTableTests {
  /// A share paused on a middle step, the tree cursor on a redirecting switch port (it has ACS to
  /// toggle and a child to collapse), the help closed.
  static func busyState() -> ExplorerState {
    var state = SharePlaybackTests.startedShare()
    state.press(.character(" "), .character("n"), .character("n"), .character("n"))
    state.highlight(Fixtures.redirectingSwitchPort)
    state.press(.character("/"))
    state.type("switch")
    state.press(.enter, .down)  // a search ran, then another key: n steps again
    state.highlight(Fixtures.redirectingSwitchPort)
    return state
  }

  /// What must change: the screen's text and styles, or the effects asked of the loop.
  static func fingerprint(_ state: ExplorerState) -> String {
    let screen = state.screen
    return screen.text + "\(screen.styles.map(\.role.rawValue))" + "\(state.effects.sorted { "\($0)" < "\($1)" })"
  }

  @Test(arguments: KeyMap.main.indices)
  func mainKeyChangesSomething(row: Int) {
    let binding = KeyMap.main[row]
    for key in binding.keys {
      var state = Self.busyState()
      // Esc only closes overlays, Enter in the tree has nothing to start while a share is loaded.
      if binding.action == .closeOverlay { state.press(.character("?")) }
      if binding.action == .activate { state.press(.tab, .tab) }  // Sequence pane: play/pause
      if binding.action == .expand { state.press(.character("h")) }
      if binding.action == .move(.by(-1)) || binding.action == .pageUp || binding.action == .move(.first) {
        state.press(.down, .down)
      }
      let before = Self.fingerprint(state)
      state.press(key)
      #expect(Self.fingerprint(state) != before, "\(key) (\(binding.label): \(binding.help)) changed nothing")
    }
  }

  @Test(arguments: KeyMap.matrix.indices)
  func matrixKeyChangesSomething(row: Int) {
    let binding = KeyMap.matrix[row]
    for key in binding.keys {
      var state = Fixtures.state()
      state.highlight(Fixtures.nic)
      state.press(.character("m"))
      if binding.action == .move(.by(-1)) || binding.action == .pageUp || binding.action == .move(.first)
        || binding.action == .stepBackward
      {
        state.press(.down, .right)
      }
      let before = Self.fingerprint(state)
      state.press(key)
      #expect(
        Self.fingerprint(state) != before, "\(key) (\(binding.label): \(binding.help)) changed nothing in the matrix")
    }
  }
}
