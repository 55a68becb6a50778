import ArgumentParser
import Assets
import ExplorerUI
import Foundation
import PCITopology

/// `dmabuf-explorer lessons [NAME]`: the built-in lessons, listed or printed for the terminal.
public struct LessonsCommand: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "lessons",
    abstract: "List the lessons, or print one (the explorer's L key plays them).",
    discussion: """
      Without NAME, lists every lesson with its title; 'start-here' is the guided tour. With NAME, \
      prints that lesson formatted for the terminal. In the explorer, L opens the list and a lesson \
      drives the panes; 'dmabuf-explorer --lesson FILE' opens a lesson of your own.
      """)

  @Argument(help: "The lesson to print.")
  public var name: String?

  public init() {}

  public mutating func run() async throws {
    if let name {
      guard let markdown = BuiltinAssets.lesson(named: name) else {
        throw CLIFailure(
          "no lesson named '\(name)' (known: \(BuiltinAssets.lessonNames.joined(separator: ", ")))")
      }
      print(LessonText.format(markdown, width: 80), terminator: "")
    } else {
      print(Self.list(), terminator: "")
    }
  }

  /// `NAME  title` per lesson, the tour first.
  static func list() -> String {
    let names = BuiltinAssets.lessonNames
    let width = (names.map(\.count).max() ?? 0) + 2
    var out = ""
    for name in names {
      let title = BuiltinAssets.lesson(named: name).flatMap(LessonScript.title(ofMarkdown:)) ?? ""
      let script = BuiltinAssets.lessonScript(named: name) == nil ? "" : "  (guided in the explorer)"
      out += name.padding(toLength: width, withPad: " ", startingAt: 0) + title + script + "\n"
    }
    out += "\nPrint one with 'dmabuf-explorer lessons NAME'; in the explorer press L.\n"
    return out
  }
}

/// Markdown made readable on a terminal: headings underlined, emphasis markers dropped,
/// paragraphs and list items wrapped, code blocks kept as they are.
enum LessonText {
  static func format(_ markdown: String, width: Int) -> String {
    var out = ""
    var paragraph: [String] = []
    var indent = ""
    func flush() {
      guard !paragraph.isEmpty else { return }
      let text = paragraph.joined(separator: " ")
      out += wrap(text, width: width, first: indent, rest: String(repeating: " ", count: indent.count)) + "\n"
      paragraph = []
      indent = ""
    }
    for raw in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
      let line = String(raw)
      if line.hasPrefix("    ") {
        flush()
        out += line + "\n"
        continue
      }
      let trimmed = line.trimmingCharacters(in: .whitespaces)
      if trimmed.isEmpty {
        flush()
        out += "\n"
        continue
      }
      if line.hasPrefix("# ") {
        flush()
        let title = plain(String(line.dropFirst(2)))
        out += title + "\n" + String(repeating: "=", count: title.count) + "\n"
        continue
      }
      let bullet = trimmed.hasPrefix("* ") || trimmed.hasPrefix("- ")
      let numbered =
        trimmed.first?.isNumber == true && trimmed.contains(". ")
        && trimmed.prefix(while: { $0.isNumber }).count < 3
        && trimmed.dropFirst(trimmed.prefix(while: { $0.isNumber }).count).hasPrefix(". ")
      if bullet || numbered {
        flush()
        if bullet {
          indent = "  * "
          paragraph.append(plain(String(trimmed.dropFirst(2))))
        } else {
          let number = trimmed.prefix(while: { $0.isNumber })
          indent = "  \(number). "
          paragraph.append(plain(String(trimmed.dropFirst(number.count + 2))))
        }
        continue
      }
      paragraph.append(plain(trimmed))
    }
    flush()
    while out.hasSuffix("\n\n") { out.removeLast() }
    return out
  }

  /// Drops `**` and backticks.
  static func plain(_ text: String) -> String {
    text.replacingOccurrences(of: "**", with: "").replacingOccurrences(of: "`", with: "")
  }

  static func wrap(_ text: String, width: Int, first: String, rest: String) -> String {
    var lines: [String] = []
    var current = first
    var currentHasWord = false
    for word in text.split(separator: " ") {
      if currentHasWord, current.count + 1 + word.count > width {
        lines.append(current)
        current = rest + word
      } else {
        current += (currentHasWord ? " " : "") + word
      }
      currentHasWord = true
    }
    lines.append(current)
    return lines.joined(separator: "\n")
  }
}

/// Loads lessons for the explorer: every built-in one (scripted or text only), or one file.
public enum LessonLibrary {
  /// Machine names in scripts are built-in scenarios or files.
  static func machine(_ name: String) throws -> Topology { try TopologyResolver.resolve(name) }

  /// Every built-in lesson; a malformed built-in script is an error naming its file and line.
  public static func builtin() throws -> [Lesson] {
    try BuiltinAssets.lessonNames.map { name in
      let markdown = BuiltinAssets.lesson(named: name) ?? ""
      let file = "assets/lessons/\(name).steps.json"
      guard let script = BuiltinAssets.lessonScript(named: name) else {
        return LessonScript.textOnly(markdown: markdown, name: name, file: "assets/lessons/\(name).md")
      }
      do {
        return try LessonScript.parse(
          Array(script), name: name, file: file, markdown: markdown, resolveMachine: machine)
      } catch {
        throw CLIFailure("\(error)")
      }
    }
  }

  /// A lesson from `--lesson FILE`: FILE is the step script (`NAME.steps.json`) or the markdown
  /// (`NAME.md`, whose script is looked for next to it).
  public static func load(file: String) throws -> Lesson {
    let base: String
    if file.hasSuffix(".steps.json") {
      base = String(file.dropLast(".steps.json".count))
    } else if file.hasSuffix(".md") {
      base = String(file.dropLast(".md".count))
    } else {
      base = file
    }
    let name = URL(fileURLWithPath: base).lastPathComponent
    let markdown = FileManager.default.contents(atPath: base + ".md").map { String(decoding: $0, as: UTF8.self) }
    let scriptPath = base + ".steps.json"
    guard let script = FileManager.default.contents(atPath: scriptPath) else {
      if let markdown { return LessonScript.textOnly(markdown: markdown, name: name, file: base + ".md") }
      throw CLIFailure("\(file): no such lesson (expected \(scriptPath) and/or \(base).md)")
    }
    do {
      return try LessonScript.parse(
        Array(script), name: name, file: scriptPath, markdown: markdown, resolveMachine: machine)
    } catch {
      throw CLIFailure("\(error)")
    }
  }
}
