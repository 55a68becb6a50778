import ExplorerUI
import Foundation
import Testing

/// README's key table is the key table: the block between `<!-- keys:begin -->` and
/// `<!-- keys:end -->` must be exactly what `KeyMap` (which dispatch and `?` help read) gives.
@Suite("README keys")
struct ReadmeKeysTests {
  static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("README.md")

  /// The Markdown table for the main screen and the matrix, one row per `KeyBinding`.
  static func expectedBlock() -> String {
    var text = "| Where | Group | Keys | What it does |\n|---|---|---|---|\n"
    for (place, table) in [("main", KeyMap.main), ("matrix", KeyMap.matrix)] {
      for binding in table {
        let label = binding.label == "|" ? "\\|" : binding.label
        text += "| \(place) | \(binding.group) | `\(label)` | \(binding.help) |\n"
      }
    }
    return text
  }

  @Test func readmeListsExactlyTheKeysOfTheKeyTable() throws {
    let text = try String(contentsOf: Self.readme, encoding: .utf8)
    let begin = try #require(text.range(of: "<!-- keys:begin -->\n"), "README.md has no <!-- keys:begin --> marker")
    let end = try #require(text.range(of: "<!-- keys:end -->"), "README.md has no <!-- keys:end --> marker")
    let block = String(text[begin.upperBound..<end.lowerBound])
    #expect(
      block == Self.expectedBlock(), "README's key table differs from KeyMap; it should read:\n\(Self.expectedBlock())")
  }
}
