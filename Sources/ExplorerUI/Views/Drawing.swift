import PCITopology

/// A line of text made of styled runs, for views that build lines first and draw them later.
public struct StyledLine: Sendable, Equatable {
  public var runs: [(text: String, style: CellStyle)]

  public init(_ runs: [(String, CellStyle)] = []) { self.runs = runs.map { (text: $0.0, style: $0.1) } }
  public init(_ text: String, _ style: CellStyle = .plain) { runs = [(text: text, style: style)] }

  public mutating func append(_ text: String, _ style: CellStyle = .plain) { runs.append((text: text, style: style)) }

  public static func == (lhs: StyledLine, rhs: StyledLine) -> Bool {
    lhs.runs.count == rhs.runs.count
      && zip(lhs.runs, rhs.runs).allSatisfy { $0.text == $1.text && $0.style == $1.style }
  }
}

extension CellScreen {
  /// Draws a styled line clipped to `width` cells; returns the column after it.
  @discardableResult
  public mutating func draw(_ line: StyledLine, x: Int, y: Int, width: Int, clip: Rect? = nil) -> Int {
    var column = x
    let limit = x + max(0, width)
    for run in line.runs {
      guard column < limit else { break }
      column = put(run.text, x: column, y: y, style: run.style, clip: clip, maxWidth: limit - column)
    }
    return column
  }

  /// Draws a box border with a title; focused boxes get a bold border and a reversed title.
  public mutating func box(_ rect: Rect, title: String, focused: Bool, glyphs: Glyphs) {
    guard rect.width >= 2, rect.height >= 2 else {
      fill(rect)
      return
    }
    let border = CellStyle(bold: focused, role: focused ? .accent : .dim)
    fill(rect)
    for column in (rect.x + 1)..<(rect.maxX - 1) {
      set(x: column, y: rect.y, glyphs.horizontal, style: border)
      set(x: column, y: rect.maxY - 1, glyphs.horizontal, style: border)
    }
    for row in (rect.y + 1)..<(rect.maxY - 1) {
      set(x: rect.x, y: row, glyphs.vertical, style: border)
      set(x: rect.maxX - 1, y: row, glyphs.vertical, style: border)
    }
    set(x: rect.x, y: rect.y, glyphs.topLeft, style: border)
    set(x: rect.maxX - 1, y: rect.y, glyphs.topRight, style: border)
    set(x: rect.x, y: rect.maxY - 1, glyphs.bottomLeft, style: border)
    set(x: rect.maxX - 1, y: rect.maxY - 1, glyphs.bottomRight, style: border)
    if rect.width > 4, !title.isEmpty {
      let titleStyle = CellStyle(bold: true, reverse: focused, role: .header)
      put(" \(title) ", x: rect.x + 2, y: rect.y, style: titleStyle, maxWidth: rect.width - 4)
    }
  }
}

/// Text helpers shared by the views.
enum Format {
  /// `0x0000007000000000` style, 16 digits (addresses line up in columns).
  static func address(_ value: UInt64) -> String { "0x" + hex(value, width: 16) }

  /// `0x7000000000`: no padding, for prose.
  static func shortAddress(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

  /// Pads or truncates to exactly `width` columns (truncation marked with the ellipsis glyph).
  static func fit(_ text: String, _ width: Int, ellipsis: String = "…") -> String {
    guard width > 0 else { return "" }
    let scalars = Array(text.unicodeScalars)
    if scalars.count <= width { return text + String(repeating: " ", count: width - scalars.count) }
    let marker = Array(ellipsis.unicodeScalars)
    guard width > marker.count else { return String(String.UnicodeScalarView(scalars.prefix(width))) }
    var view = String.UnicodeScalarView(scalars.prefix(width - marker.count))
    view.append(contentsOf: marker)
    return String(view)
  }

  /// Left-pads to `width` (numbers in columns).
  static func padLeft(_ text: String, _ width: Int) -> String {
    let count = text.unicodeScalars.count
    return count >= width ? text : String(repeating: " ", count: width - count) + text
  }

  /// Word-wraps `text` to lines of at most `width` scalars; long words are cut.
  static func wrap(_ text: String, width: Int) -> [String] {
    guard width > 0 else { return [] }
    // Text that fits stays as it is (keeps the double spaces that align columns).
    if !text.contains("\n"), text.unicodeScalars.count <= width { return [text] }
    var lines: [String] = []
    for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
      var current = ""
      for word in paragraph.split(separator: " ") {
        var word = String(word)
        while word.unicodeScalars.count > width {
          if !current.isEmpty {
            lines.append(current)
            current = ""
          }
          let scalars = Array(word.unicodeScalars)
          lines.append(String(String.UnicodeScalarView(scalars.prefix(width))))
          word = String(String.UnicodeScalarView(scalars.dropFirst(width)))
        }
        if current.isEmpty {
          current = word
        } else if current.unicodeScalars.count + 1 + word.unicodeScalars.count <= width {
          current += " " + word
        } else {
          lines.append(current)
          current = word
        }
      }
      lines.append(current)
    }
    return lines
  }
}
