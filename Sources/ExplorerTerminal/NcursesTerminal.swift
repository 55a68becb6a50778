import CNcurses
import ExplorerCLI
import ExplorerUI

/// The only code that talks to ncurses: starts and restores the terminal, flushes an in-memory
/// screen (writing only the cells that changed since the last frame), and turns keys, mouse and
/// resizes into events.
@MainActor
final class NcursesTerminal {
  /// Number of colours, 0 for the monochrome scheme.
  private(set) var colorCount = 0
  private var previous: CellScreen?
  private var isRunning = false
  private let useColor: Bool

  /// Starts ncurses. Throws when the terminal cannot be opened.
  init(useColor: Bool) throws {
    self.useColor = useColor
    cn_install_signal_handlers()
    guard cn_start() != 0 else {
      throw CLIFailure("cannot open the terminal (is TERM set to a known terminal type?)")
    }
    isRunning = true
    if useColor {
      colorCount = Int(cn_start_colors())
      if colorCount >= 8 { definePairs() }
    }
  }

  /// Restores the terminal. Safe to call twice.
  func stop() {
    guard isRunning else { return }
    isRunning = false
    cn_stop()
  }

  /// The current terminal size (re-read on every frame: resizes change it under us).
  var size: (width: Int, height: Int) { (Int(cn_columns()), Int(cn_lines())) }

  // MARK: Output

  /// Writes the cells that differ from the previous frame; everything when `force` is set or
  /// the size changed.
  func flush(_ screen: CellScreen, force: Bool) {
    // The frame to diff against: none (write everything) when forced or the size changed.
    let old = force || previous?.width != screen.width || previous?.height != screen.height ? nil : previous
    if old == nil { cn_clear_all() }
    var buffer: [wchar_t] = []
    buffer.reserveCapacity(screen.width)
    // A run of changed cells with the same style: one call.
    for run in screen.changedRuns(since: old) {
      buffer.removeAll(keepingCapacity: true)
      for scalar in run.text { buffer.append(wchar_t(bitPattern: scalar.value)) }
      let (attributes, pair) = attributes(for: run.style)
      buffer.withUnsafeBufferPointer { pointer in
        cn_put(Int32(run.row), Int32(run.column), pointer.baseAddress, Int32(pointer.count), attributes, pair)
      }
    }
    cn_refresh()
    previous = screen
  }

  /// Colour pair numbers per role (pair 0 is the terminal default).
  private func definePairs() {
    for role in ColorRole.allCases {
      guard let foreground = Self.foreground(of: role) else { continue }
      cn_init_pair(Int16(role.rawValue) + 1, foreground, -1)
    }
  }

  private static func foreground(of role: ColorRole) -> Int16? {
    switch role {
    case .normal, .dim: return nil
    case .header: return Int16(COLOR_CYAN)
    case .exporter: return Int16(COLOR_MAGENTA)
    case .importer: return Int16(COLOR_CYAN)
    case .warning: return Int16(COLOR_YELLOW)
    case .error: return Int16(COLOR_RED)
    case .good: return Int16(COLOR_GREEN)
    case .hostBridge: return Int16(COLOR_BLUE)
    case .path: return Int16(COLOR_GREEN)
    case .accent: return Int16(COLOR_YELLOW)
    }
  }

  /// ncurses attributes and pair for a cell style. Without colours every role still differs by
  /// attribute (the monochrome scheme): warnings bold, errors bold+underline, host-bridge
  /// underline, dim text dim.
  private func attributes(for style: CellStyle) -> (UInt32, Int16) {
    var attributes = CN_A_NORMAL
    if style.bold { attributes |= CN_A_BOLD }
    if style.reverse { attributes |= CN_A_REVERSE }
    if style.underline { attributes |= CN_A_UNDERLINE }
    if style.role == .dim { attributes |= CN_A_DIM }
    if colorCount >= 8, Self.foreground(of: style.role) != nil {
      return (attributes, Int16(style.role.rawValue) + 1)
    }
    switch style.role {
    case .warning, .accent, .exporter, .header: attributes |= CN_A_BOLD
    case .error: attributes |= CN_A_BOLD | CN_A_UNDERLINE
    case .hostBridge, .importer, .path: attributes |= CN_A_UNDERLINE
    default: break
    }
    return (attributes, 0)
  }

  // MARK: Input

  /// Waits for the next event: forever when `timeoutMilliseconds` is nil (no CPU while idle),
  /// else at most that long (nil result: timed out).
  func nextEvent(timeoutMilliseconds: Int?) -> ExplorerEvent? {
    // Wait in poll() on the terminal and the resize wake-up pipe, then read without blocking:
    // a resize wakes us whichever thread the signal went to. Returns nil on timeout or wake-ups
    // that carried no event.
    if timeoutMilliseconds != 0, cn_wait_for_input(Int32(clamping: timeoutMilliseconds ?? -1)) == 0 { return nil }
    // A key we ignore (an unknown function key, a control character) must not end the read:
    // ncurses may hold more input in its own buffer, which the next poll() on the terminal
    // would not see, so the key after it would wait for yet another key to arrive.
    while true {
      var key: UInt32 = 0
      let status = cn_read_key(0, &key)
      if status == ERR { return nil }
      let event = status == KEY_CODE_YES ? functionKeyEvent(Int32(bitPattern: key)) : characterEvent(key)
      if let event { return event }
    }
  }

  private func functionKeyEvent(_ code: Int32) -> ExplorerEvent? {
    switch code {
    case KEY_UP: return .key(.up)
    case KEY_DOWN: return .key(.down)
    case KEY_LEFT: return .key(.left)
    case KEY_RIGHT: return .key(.right)
    case KEY_PPAGE: return .key(.pageUp)
    case KEY_NPAGE: return .key(.pageDown)
    case KEY_HOME: return .key(.home)
    case KEY_END: return .key(.end)
    case KEY_BTAB: return .key(.backTab)
    case KEY_ENTER: return .key(.enter)
    case KEY_BACKSPACE: return .key(.backspace)
    case KEY_RESIZE:
      let (width, height) = size
      return .resize(width: width, height: height)
    case KEY_MOUSE:
      var x: Int32 = 0
      var y: Int32 = 0
      var buttons: UInt = 0
      guard cn_read_mouse(&x, &y, &buttons) != 0 else { return nil }
      if buttons & CN_BUTTON4_PRESSED != 0 { return .mouse(MouseEvent(x: Int(x), y: Int(y), action: .wheelUp)) }
      if CN_BUTTON5_PRESSED != 0, buttons & CN_BUTTON5_PRESSED != 0 {
        return .mouse(MouseEvent(x: Int(x), y: Int(y), action: .wheelDown))
      }
      if buttons & (CN_BUTTON1_PRESSED | CN_BUTTON1_CLICKED) != 0 {
        return .mouse(MouseEvent(x: Int(x), y: Int(y), action: .press))
      }
      return nil
    default:
      if code >= CN_KEY_F1, code < CN_KEY_F1 + 12 { return .key(.function(Int(code - CN_KEY_F1) + 1)) }
      return nil
    }
  }

  private func characterEvent(_ value: UInt32) -> ExplorerEvent? {
    switch value {
    case 9: return .key(.tab)
    case 10, 13: return .key(.enter)
    case 27: return .key(.escape)
    case 12: return .key(.redraw)
    case 8, 127: return .key(.backspace)
    case 0..<32: return nil
    default:
      guard let scalar = Unicode.Scalar(value) else { return nil }
      return .key(.character(Character(scalar)))
    }
  }
}
