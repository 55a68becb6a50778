import Foundation

/// Built-in scenarios and lessons shipped with the program (the `assets/` folder).
public enum BuiltinAssets {
  /// The folder holding built-in scenario files (`assets/topologies`).
  public static var topologiesDirectory: URL? { Bundle.module.url(forResource: "topologies", withExtension: nil) }
  /// The folder holding lessons (`assets/lessons`).
  public static var lessonsDirectory: URL? { Bundle.module.url(forResource: "lessons", withExtension: nil) }
}
