import Foundation

/// Entry point for every topology input except built-in scenario names: `sysfs`, `sysfs:ROOT`,
/// or a file whose format is detected from its content (not its name).
public enum TopologyLoader {
  /// What the user is told when a file is none of the formats we read.
  public static let expectedFormats =
    "expected lspci -x/-xxx/-xxxx, lspci -vvv, lspci -tv, a scenario .json, or sysfs"

  /// Most bytes read from any topology input (file, device, FIFO, pipe, standard input). Derived
  /// from the largest machine `generate` writes: every function as `lspci -xxxx` prints it
  /// (a header line and 256 rows of 16 bytes, under 16 KiB) times `maximumFunctionCount`, so
  /// the program always reads what it wrote. Real machines stay far below (4,096 functions).
  public static let maximumFileSize = MachineGenerator.maximumFunctionCount * maximumDumpBytesPerFunction

  /// Upper bound of one function's `-xxxx` block: header line (lspci cuts names at 128 bytes)
  /// plus 256 rows of `fff: ` and 16 ` hh`, plus the blank line.
  public static let maximumDumpBytesPerFunction = 16 * 1024

  /// The limit in force: `maximumFileSize`, or less when `DMABUF_MAX_INPUT_MIB` asks for less
  /// (for machines with little memory, and for tests of endless inputs).
  public static var inputLimit: Int {
    guard let text = ProcessInfo.processInfo.environment["DMABUF_MAX_INPUT_MIB"], let mebibytes = Int(text),
      mebibytes > 0
    else { return maximumFileSize }
    return min(maximumFileSize, mebibytes << 20)
  }

  /// How messages name standard input.
  public static let standardInputName = "<stdin>"

  /// Loads `sysfs`, `sysfs:ROOT`, `-` (standard input, e.g. `sudo lspci -xxxx | dmabuf-explorer
  /// tree --topology -`), or a file path. `notice` hears what the user should know while the
  /// program waits (terminal input, a FIFO without a writer).
  public static func load(spec: String, notice: BoundedRead.Notice? = nil) throws -> Topology {
    if spec == "-" { return try loadStandardInput(notice: notice) }
    if spec == "sysfs" { return try SysfsLoader.load(root: nil) }
    if spec.hasPrefix("sysfs:") {
      let root = String(spec.dropFirst(6))
      guard !root.isEmpty else {
        throw TopologyError.unreadable(
          path: spec, reason: "no directory after 'sysfs:' (use 'sysfs' for this machine or 'sysfs:DIR' for a copy)")
      }
      return try SysfsLoader.load(root: root)
    }
    return try load(path: spec, notice: notice)
  }

  /// Reads standard input to its end (up to `maximumFileSize`) and detects its format.
  static func loadStandardInput(notice: BoundedRead.Notice? = nil) throws -> Topology {
    let bytes = try BoundedRead.readDescriptor(0, name: standardInputName, limit: inputLimit, notice: notice)
    return try load(bytes: bytes, path: standardInputName)
  }

  /// Reads a file and loads it. Directories, sockets, devices other than a terminal,
  /// unreadable and oversized inputs are `TopologyError.unreadable` naming the path.
  public static func load(path: String, notice: BoundedRead.Notice? = nil) throws -> Topology {
    let bytes = try BoundedRead.readFile(path: path, limit: inputLimit, notice: notice)
    return try load(bytes: bytes, path: path)
  }

  /// The input formats a file can be in.
  enum FileFormat: Equatable {
    case scenario
    /// `lspci` blocks: hex dump and/or `-v...` text.
    case lspciBlocks
    case lspciTree
  }

  /// Detects the format of file content and loads it.
  public static func load(data: Data, path: String) throws -> Topology {
    try load(bytes: [UInt8](data), path: path)
  }

  /// Detects the format of file content and loads it.
  public static func load(bytes: [UInt8], path: String) throws -> Topology {
    let format = try detectFormat(bytes, path: path)
    // A file with several lspci sections (nvidia-bug-report.log): TopologyMerger.swift.
    if format != .scenario, LspciSections.containsTreeLabel(bytes),
      let merged = TopologyMerger.loadSections(bytes: bytes, path: path)
    {
      return merged
    }
    let title = (path as NSString).lastPathComponent
    let database = PCIIDDatabase.system
    switch format {
    case .scenario:
      return try ScenarioLoader.load(data: Data(bytes), path: path)
    case .lspciBlocks:
      let result = LspciOutputLoader.load(bytes: bytes, path: path, database: database)
      guard !result.functions.isEmpty else { throw TopologyError.empty(path: path) }
      // One function listed twice: several sections of one machine (`lspci -nn` and a dump).
      if LspciSections.hasRepeatedAddress(result.functions),
        let merged = TopologyMerger.loadSections(bytes: bytes, path: path)
      {
        return merged
      }
      // What the text implies about the machine (IOMMU groups → IOMMU on): DumpPlatformFacts.swift.
      let facts = DumpPlatformFacts.infer(from: result.functions, path: path)
      // A `dmabuf-explorer capture` file replays the live run's source and platform (MachineCapture.swift).
      if let capture = MachineCapture.parseHeader(bytes, path: path) {
        return Topology(
          functions: result.functions, source: capture.source, platform: capture.platform,
          warnings: capped(result.warnings, path: path)
            + [LoadWarning("replaying a dmabuf-explorer capture of \(capture.source.title)", file: path)])
      }
      return Topology(
        functions: result.functions,
        source: TopologySource(kind: result.sawHex ? .hexDump : .lspciText, location: path, title: title),
        platform: facts.platform, warnings: capped(result.warnings, path: path) + facts.warnings)
    case .lspciTree:
      let result = LspciTreeLoader.load(bytes: bytes, path: path, database: database)
      guard !result.functions.isEmpty else { throw TopologyError.empty(path: path) }
      return Topology(
        functions: result.functions, source: TopologySource(kind: .lspciTree, location: path, title: title),
        warnings: capped(result.warnings, path: path))
    }
  }

  /// At most this many loader warnings are kept: a junk file must not flood stderr.
  static let maximumWarnings = 50

  /// The first `maximumWarnings` warnings plus one line counting the rest.
  static func capped(_ warnings: [LoadWarning], path: String) -> [LoadWarning] {
    guard warnings.count > maximumWarnings else { return warnings }
    return Array(warnings.prefix(maximumWarnings))
      + [LoadWarning("\(warnings.count - maximumWarnings) more warnings not shown", file: path)]
  }

  /// Looks at the content: JSON object → scenario; the first `lspci` function header or tree line
  /// decides between the block loader (hex and/or text) and the tree loader.
  static func detectFormat(_ bytes: [UInt8], path: String) throws -> FileFormat {
    var start = 0
    if bytes.count >= 3, bytes[0] == 0xef, bytes[1] == 0xbb, bytes[2] == 0xbf { start = 3 }  // UTF-8 BOM
    while start < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[start]) { start += 1 }
    guard start < bytes.count else { throw TopologyError.empty(path: path) }
    if bytes[start] == ASCII.openBrace { return .scenario }
    // Binary junk: NUL bytes never appear in lspci text.
    if bytes.prefix(65_536).contains(0) {
      throw TopologyError.unrecognizedFormat(path: path, detail: "binary data; \(expectedFormats)")
    }
    for line in LineSequence(bytes) where !line.isEmpty {
      let first = bytes[line.start]
      if ASCII.isHex(first), parseHeaderAddress(bytes, line) != nil { return .lspciBlocks }
      if first == ASCII.dash || first == ASCII.plus || first == ASCII.backslash || first == ASCII.space
        || first == ASCII.pipe, LspciTreeLoader.looksLikeTreeLine(bytes, line)
      {
        return .lspciTree
      }
    }
    throw TopologyError.unrecognizedFormat(
      path: path, detail: "no lspci function header (BB:DD.F ...) or lspci -t tree line found; \(expectedFormats)")
  }
}
