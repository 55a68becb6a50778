/// What a cell's colour means. The terminal backend maps roles to colour pairs, or — in the
/// monochrome scheme — to attributes, so every distinction survives without colour.
public enum ColorRole: UInt8, Sendable, CaseIterable {
  case normal
  /// Pane titles, column headers.
  case header
  /// Secondary text (hints, units).
  case dim
  /// The device chosen as exporter.
  case exporter
  /// Devices chosen as importers.
  case importer
  /// ACS redirect bits set, inferred facts, fallbacks.
  case warning
  /// Refusals, errors, ACS culprits on a lit path.
  case error
  /// P2P granted (`BUS_ADDR`, peer2peer true).
  case good
  /// `THRU_HOST_BRIDGE` paths.
  case hostBridge
  /// The lit `pci_p2pdma_distance` walk path.
  case path
  /// The current step / selection accent.
  case accent
}

/// Per-cell style: attributes plus a colour role.
public struct CellStyle: Hashable, Sendable {
  public var bold: Bool
  public var reverse: Bool
  public var underline: Bool
  public var role: ColorRole

  public init(bold: Bool = false, reverse: Bool = false, underline: Bool = false, role: ColorRole = .normal) {
    self.bold = bold
    self.reverse = reverse
    self.underline = underline
    self.role = role
  }

  public static let plain = CellStyle()
  public static let bold = CellStyle(bold: true)
  public static func role(_ role: ColorRole, bold: Bool = false, underline: Bool = false) -> CellStyle {
    CellStyle(bold: bold, underline: underline, role: role)
  }
}

/// A rectangle on the screen, in cells. Never negative.
public struct Rect: Equatable, Sendable, CustomStringConvertible {
  public var x: Int
  public var y: Int
  public var width: Int
  public var height: Int

  public init(x: Int, y: Int, width: Int, height: Int) {
    self.x = max(0, x)
    self.y = max(0, y)
    self.width = max(0, width)
    self.height = max(0, height)
  }

  public static let zero = Rect(x: 0, y: 0, width: 0, height: 0)
  public var isEmpty: Bool { width == 0 || height == 0 }
  public var maxX: Int { x + width }
  public var maxY: Int { y + height }
  public func contains(x px: Int, y py: Int) -> Bool { px >= x && px < maxX && py >= y && py < maxY }
  /// The rectangle shrunk by `amount` on every side (the inside of a box border).
  public func inset(by amount: Int) -> Rect {
    Rect(x: x + amount, y: y + amount, width: width - 2 * amount, height: height - 2 * amount)
  }
  public var description: String { "\(width)x\(height)+\(x)+\(y)" }
}

/// An in-memory terminal screen: one Unicode scalar and one style per cell.
///
/// Views draw here (never into ncurses) so they can be tested by reading the text back; the
/// terminal backend diffs two screens and writes only the changed cells. All writes clip to the
/// screen and to an optional clip rectangle, so no view can write out of bounds, whatever the size.
public struct CellScreen: Sendable, Equatable, CustomStringConvertible {
  public private(set) var width: Int
  public private(set) var height: Int
  /// Row-major characters.
  public private(set) var characters: [Unicode.Scalar]
  /// Row-major styles.
  public private(set) var styles: [CellStyle]

  public init(width: Int, height: Int) {
    self.width = max(0, width)
    self.height = max(0, height)
    let count = self.width * self.height
    characters = [Unicode.Scalar](repeating: " ", count: count)
    styles = [CellStyle](repeating: .plain, count: count)
  }

  public func character(x: Int, y: Int) -> Unicode.Scalar? {
    guard x >= 0, y >= 0, x < width, y < height else { return nil }
    return characters[y * width + x]
  }

  public func style(x: Int, y: Int) -> CellStyle? {
    guard x >= 0, y >= 0, x < width, y < height else { return nil }
    return styles[y * width + x]
  }

  /// Sets one cell; outside the screen or `clip` it does nothing.
  public mutating func set(x: Int, y: Int, _ scalar: Unicode.Scalar, style: CellStyle, clip: Rect? = nil) {
    guard x >= 0, y >= 0, x < width, y < height else { return }
    if let clip, !clip.contains(x: x, y: y) { return }
    let offset = y * width + x
    characters[offset] = CellScreen.displayable(scalar)
    styles[offset] = style
  }

  /// Writes `text` starting at (x, y), one scalar per cell, clipped; returns the column after it.
  @discardableResult
  public mutating func put(
    _ text: String, x: Int, y: Int, style: CellStyle = .plain, clip: Rect? = nil, maxWidth: Int? = nil
  ) -> Int {
    var column = x
    let limit = maxWidth.map { x + max(0, $0) } ?? Int.max
    guard y >= 0, y < height else { return x + text.unicodeScalars.count }
    for scalar in text.unicodeScalars {
      if column >= limit { break }
      if column >= width { break }
      set(x: column, y: y, scalar, style: style, clip: clip)
      column += 1
    }
    return column
  }

  /// Fills a rectangle with `scalar` in `style`.
  public mutating func fill(_ rect: Rect, with scalar: Unicode.Scalar = " ", style: CellStyle = .plain) {
    let startX = max(0, rect.x)
    let startY = max(0, rect.y)
    let endX = min(width, rect.maxX)
    let endY = min(height, rect.maxY)
    guard startX < endX, startY < endY else { return }
    let clean = CellScreen.displayable(scalar)
    for row in startY..<endY {
      let base = row * width
      for column in startX..<endX {
        characters[base + column] = clean
        styles[base + column] = style
      }
    }
  }

  /// Applies a style change to every cell of a rectangle, keeping the characters (selection bars).
  public mutating func restyle(_ rect: Rect, _ change: (inout CellStyle) -> Void) {
    let startX = max(0, rect.x)
    let startY = max(0, rect.y)
    let endX = min(width, rect.maxX)
    let endY = min(height, rect.maxY)
    guard startX < endX, startY < endY else { return }
    for row in startY..<endY {
      for column in startX..<endX { change(&styles[row * width + column]) }
    }
  }

  /// The text of one row, trailing spaces kept (tests trim as they need).
  public func line(_ y: Int) -> String {
    guard y >= 0, y < height else { return "" }
    var text = String.UnicodeScalarView()
    text.append(contentsOf: characters[(y * width)..<(y * width + width)])
    return String(text)
  }

  /// All rows, trailing spaces trimmed: what `tmux capture-pane` would show.
  public var lines: [String] {
    (0..<height).map { row in
      var text = line(row)
      while text.last == " " { text.removeLast() }
      return text
    }
  }

  /// The whole screen as text, one row per line.
  public var text: String { lines.joined(separator: "\n") }

  /// The text, so a failed test expectation prints what the user would see.
  public var description: String { "\n" + text }

  /// True when any row contains `needle`.
  public func contains(_ needle: String) -> Bool { lines.contains { $0.contains(needle) } }

  /// Every cell is one column wide on the terminal: control characters and scalars whose width is
  /// not reliably 1 (CJK, emoji, combining marks) become `?` so the grid never shifts.
  public static func displayable(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
    let value = scalar.value
    switch value {
    case 0x20...0x7e: return scalar
    case 0xa0...0x2ff: return scalar  // Latin-1 and Latin Extended: single-width letters in names.
    case 0x2010...0x2015, 0x2018...0x201d, 0x2190...0x21ff, 0x2500...0x259f, 0x25a0...0x25ff, 0x2022, 0x2026, 0x2713,
      0x2717:
      return scalar  // dashes, quotes, arrows, box drawing, blocks, shapes, bullet, ellipsis, ✓ ✗
    default: return "?"
    }
  }
}
