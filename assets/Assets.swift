import Foundation

/// Built-in scenarios and lessons shipped with the program (the `assets/` folder).
///
/// Scenario files live in `assets/topologies/NAME.json`, lessons in `assets/lessons/NAME.md`;
/// both are copied into the resource bundle as folders, so adding a file needs no code change.
public enum BuiltinAssets {
  /// The scenario the explorer opens when no `--topology` is given.
  public static let defaultScenarioName = "teaching-workstation"

  /// The folder holding built-in scenario files (`assets/topologies`).
  public static var topologiesDirectory: URL? { Bundle.module.url(forResource: "topologies", withExtension: nil) }
  /// The folder holding lessons (`assets/lessons`).
  public static var lessonsDirectory: URL? { Bundle.module.url(forResource: "lessons", withExtension: nil) }

  /// Names of the built-in scenarios: the default first, then alphabetical.
  public static var scenarioNames: [String] {
    let names = fileNames(in: topologiesDirectory, withExtension: "json")
    return names.filter { $0 == defaultScenarioName } + names.filter { $0 != defaultScenarioName }
  }

  /// The bytes of a built-in scenario file, nil when there is no such name.
  public static func scenarioData(named name: String) -> Data? {
    data(named: name, extension: "json", in: topologiesDirectory)
  }

  /// The lesson to read first (a tour of the default scenario).
  public static let firstLessonName = "start-here"

  /// Names of the lessons: the first lesson, then alphabetical.
  public static var lessonNames: [String] {
    let names = fileNames(in: lessonsDirectory, withExtension: "md")
    return names.filter { $0 == firstLessonName } + names.filter { $0 != firstLessonName }
  }

  /// A lesson's markdown text, nil when there is no such lesson.
  public static func lesson(named name: String) -> String? {
    data(named: name, extension: "md", in: lessonsDirectory).map { String(decoding: $0, as: UTF8.self) }
  }

  /// A lesson's step script (`NAME.steps.json`), nil when the lesson has none.
  public static func lessonScript(named name: String) -> Data? {
    data(named: name, extension: "steps.json", in: lessonsDirectory)
  }

  private static func fileNames(in directory: URL?, withExtension fileExtension: String) -> [String] {
    guard let directory,
      let entries = try? FileManager.default.contentsOfDirectory(atPath: directory.path)
    else { return [] }
    return entries.filter { $0.hasSuffix("." + fileExtension) }
      .map { String($0.dropLast(fileExtension.count + 1)) }
      .sorted()
  }

  private static func data(named name: String, extension fileExtension: String, in directory: URL?) -> Data? {
    // Only plain names: a name is never allowed to reach outside the assets folder.
    guard let directory, !name.isEmpty,
      name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
    else { return nil }
    return try? Data(contentsOf: directory.appendingPathComponent(name + "." + fileExtension))
  }
}
