/// Line-drawing glyphs: UTF-8 box drawing, or plain ASCII when the locale cannot show UTF-8
/// (or the user asked for `--ascii`).
public struct Glyphs: Sendable, Equatable {
  public var horizontal: Unicode.Scalar
  public var vertical: Unicode.Scalar
  public var topLeft: Unicode.Scalar
  public var topRight: Unicode.Scalar
  public var bottomLeft: Unicode.Scalar
  public var bottomRight: Unicode.Scalar
  /// Tree rails: `├─`, `└─`, `│ `.
  public var branch: String
  public var lastBranch: String
  public var continuation: String
  public var collapsed: String
  public var expanded: String
  /// The current-step marker and arrow heads in the sequence pane.
  public var pointer: String
  public var arrowRight: Unicode.Scalar
  public var arrowLeft: Unicode.Scalar
  public var laneDot: Unicode.Scalar
  public var cross: String
  public var check: String
  public var ellipsis: String

  public static let unicode = Glyphs(
    horizontal: "─", vertical: "│", topLeft: "┌", topRight: "┐", bottomLeft: "└", bottomRight: "┘",
    branch: "├─", lastBranch: "└─", continuation: "│ ", collapsed: "▸", expanded: "▾",
    pointer: "▶", arrowRight: "▶", arrowLeft: "◀", laneDot: "●", cross: "✗", check: "✓",
    ellipsis: "…")

  public static let ascii = Glyphs(
    horizontal: "-", vertical: "|", topLeft: "+", topRight: "+", bottomLeft: "+", bottomRight: "+",
    branch: "+-", lastBranch: "`-", continuation: "| ", collapsed: "+", expanded: "-",
    pointer: ">", arrowRight: ">", arrowLeft: "<", laneDot: "o", cross: "X", check: "v",
    ellipsis: "~")
}
