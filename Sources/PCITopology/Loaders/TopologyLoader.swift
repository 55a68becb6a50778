import Foundation

/// Entry point for every topology input except built-in scenario names: `sysfs`, `sysfs:ROOT`,
/// or a file whose format is detected from its content (not its name).
public enum TopologyLoader {
  /// What the user is told when a file is none of the formats we read.
  public static let expectedFormats =
    "expected lspci -x/-xxx/-xxxx, lspci -vvv, lspci -tv, a scenario .json, or sysfs"

  /// Files larger than this are refused rather than read into memory: the largest real dump
  /// (4,096 functions with 4 KiB of config each as `-xxxx` hex) is about 60 MB.
  public static let maximumFileSize = 512 * 1024 * 1024

  /// How messages name standard input.
  public static let standardInputName = "<stdin>"

  /// Loads `sysfs`, `sysfs:ROOT`, `-` (standard input, e.g. `sudo lspci -xxxx | dmabuf-explorer
  /// tree --topology -`), or a file path.
  public static func load(spec: String) throws -> Topology {
    if spec == "-" { return try loadStandardInput() }
    if spec == "sysfs" { return try SysfsLoader.load(root: nil) }
    if spec.hasPrefix("sysfs:") { return try SysfsLoader.load(root: String(spec.dropFirst(6))) }
    return try load(path: spec)
  }

  /// Reads standard input to its end (up to `maximumFileSize`) and detects its format.
  static func loadStandardInput() throws -> Topology {
    var data = Data()
    while true {
      let chunk = FileHandle.standardInput.readData(ofLength: 1 << 20)
      if chunk.isEmpty { break }
      data.append(chunk)
      if data.count > maximumFileSize {
        throw TopologyError.unreadable(
          path: standardInputName, reason: "more than \(maximumFileSize >> 20) MiB, more than any lspci dump")
      }
    }
    return try load(data: data, path: standardInputName)
  }

  /// Reads a file and loads it. Directories, unreadable and oversized files are
  /// `TopologyError.unreadable` naming the path.
  public static func load(path: String) throws -> Topology {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw TopologyError.unreadable(path: path, reason: "no such file")
    }
    if isDirectory.boolValue {
      throw TopologyError.unreadable(
        path: path, reason: "is a directory (\(expectedFormats); for a copied sysfs tree use sysfs:\(path))")
    }
    if let attributes = try? FileManager.default.attributesOfItem(atPath: path),
      let size = attributes[.size] as? NSNumber, size.intValue > maximumFileSize
    {
      throw TopologyError.unreadable(
        path: path,
        reason: "file is \(size.intValue / (1024 * 1024)) MiB, more than any lspci dump; refusing to read it")
    }
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw TopologyError.unreadable(path: path, reason: "permission denied or not a regular file")
    }
    defer { try? handle.close() }
    let data: Data
    do {
      data = try handle.readToEnd() ?? Data()
    } catch {
      throw TopologyError.unreadable(path: path, reason: error.localizedDescription)
    }
    return try load(data: data, path: path)
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
    let bytes = [UInt8](data)
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
      return try ScenarioLoader.load(data: data, path: path)
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
      if let capture = MachineCapture.parseHeader(bytes) {
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
