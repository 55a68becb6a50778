/// An error caused by the user's input (file, value, BDF). The CLI prints its description as
/// one line on stderr and exits with status 2; the UI shows it in a message box.
public protocol UserFacingError: Error, CustomStringConvertible {}

/// Why a topology could not be loaded. Every case names the file (and line or field) and what
/// was expected, so the CLI can print it as one line and exit with status 2.
public enum TopologyError: UserFacingError, Sendable, Equatable, CustomStringConvertible {
  case unreadable(path: String, reason: String)
  case unrecognizedFormat(path: String, detail: String)
  case malformed(path: String, line: Int, message: String)
  case invalidScenario(path: String, field: String, message: String)
  case unknownScenario(name: String, known: [String])
  case empty(path: String)

  public var description: String {
    switch self {
    case .unreadable(let path, let reason): return "\(path): cannot read: \(reason)"
    case .unrecognizedFormat(let path, let detail):
      return "\(path): unrecognised format: \(detail)"
    case .malformed(let path, let line, let message): return "\(path):\(line): \(message)"
    case .invalidScenario(let path, let field, let message): return "\(path): \(field): \(message)"
    case .unknownScenario(let name, let known):
      return "no built-in scenario or file named '\(name)' (built-in: \(known.joined(separator: ", ")))"
    case .empty(let path): return "\(path): no PCI functions found"
    }
  }
}
