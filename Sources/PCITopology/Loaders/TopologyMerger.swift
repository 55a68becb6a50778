import Foundation

/// Merges several `lspci` views of one machine into one topology: the sections of one file (an
/// `nvidia-bug-report.log`) or several files (`--topology` given more than once).
///
/// Per function, each fact comes from the view that really holds it: config space and ACS from a
/// hex dump, else from `-vvv` text, else from a listing, else from a tree; bridge bus numbers
/// from config or `Bus:` lines, else from a tree, else as a plain listing inferred them; IDs from
/// the first view that has them (a tree without `-nn` may not). Where two views that both hold a
/// fact disagree (IDs, bus numbers), the richer one is kept and a warning names both: conflicts
/// are reported, never resolved silently.
public enum TopologyMerger {
  /// One view: the functions a loader read from one section, and how much it can be trusted for
  /// each kind of fact.
  struct View {
    enum Kind: Int, Comparable {
      case tree = 0
      case listing = 1
      case text = 2
      case hexDump = 3
      static func < (lhs: Kind, rhs: Kind) -> Bool { lhs.rawValue < rhs.rawValue }
      var words: String {
        switch self {
        case .tree: return "lspci -t tree"
        case .listing: return "lspci listing"
        case .text: return "lspci -v text"
        case .hexDump: return "hex dump"
        }
      }
    }
    var kind: Kind
    /// `FILE` or `FILE:LINE` where the section starts.
    var label: String
    var functions: [PCIFunction]
    var warnings: [LoadWarning]

    /// Bus numbers read from the input (config, `Bus:` lines, tree ranges) rather than inferred.
    var hasRealBusNumbers: Bool { kind != .listing }
  }

  /// Reads and merges several files of one machine. Scenario files, `sysfs` and built-in names
  /// cannot be merged (they are whole machines on their own).
  public static func load(paths: [String]) throws -> Topology {
    var allViews: [View] = []
    var platform = PlatformInfo()
    for path in paths {
      let data = try readFile(path)
      let bytes = [UInt8](data)
      if try TopologyLoader.detectFormat(bytes, path: path) == .scenario {
        throw TopologyError.unrecognizedFormat(
          path: path, detail: "a scenario file is a whole machine; only lspci outputs of one machine can be merged")
      }
      let fileViews = views(of: bytes, path: path)
      if fileViews.isEmpty { throw TopologyError.empty(path: path) }
      allViews += fileViews
      let facts = DumpPlatformFacts.infer(from: fileViews.flatMap(\.functions), path: path)
      if platform.iommu == nil { platform = facts.platform }
      allViews[allViews.count - 1].warnings += facts.warnings
    }
    let title = paths.map { ($0 as NSString).lastPathComponent }.joined(separator: " + ")
    return merge(
      allViews, source: TopologySource(kind: .merged, location: paths.joined(separator: " + "), title: title),
      platform: platform)
  }

  /// One file's sections as a merged topology, or nil when it has a single layout and can be
  /// read by the whole-file loaders as before.
  static func loadSections(bytes: [UInt8], path: String) -> Topology? {
    let sections = LspciSections.split(bytes)
    guard LspciSections.needsMerging(sections) else { return nil }
    let fileViews = views(of: bytes, path: path, sections: sections)
    guard !fileViews.isEmpty else { return nil }
    let facts = DumpPlatformFacts.infer(from: fileViews.flatMap(\.functions), path: path)
    let title = (path as NSString).lastPathComponent + " (\(fileViews.count) lspci sections merged)"
    var topology = merge(
      fileViews, source: TopologySource(kind: .merged, location: path, title: title), platform: facts.platform)
    if !facts.warnings.isEmpty {
      topology = Topology(
        functions: topology.functions, source: topology.source, platform: topology.platform,
        warnings: topology.warnings + facts.warnings)
    }
    return topology
  }

  /// The views in one file: each section on its own when the file has several, else the whole
  /// file as one view.
  static func views(of bytes: [UInt8], path: String, sections given: [LspciSection]? = nil) -> [View] {
    let sections = given ?? LspciSections.split(bytes)
    let database = PCIIDDatabase.system
    var views: [View] = []
    let several = LspciSections.needsMerging(sections)
    for section in sections {
      let input = several ? section.isolated(from: bytes) : bytes
      let line = 1 + bytes[..<section.start].reduce(0) { $0 + ($1 == 0x0a ? 1 : 0) }
      let label = several ? "\(path):\(line)" : path
      switch section.layout {
      case .tree:
        let result = LspciTreeLoader.load(bytes: input, path: path, database: database)
        guard !result.functions.isEmpty else { continue }
        views.append(View(kind: .tree, label: label, functions: result.functions, warnings: result.warnings))
      case .blocks:
        let result = LspciOutputLoader.load(bytes: input, path: path, database: database)
        guard !result.functions.isEmpty else { continue }
        let kind: View.Kind = result.sawHex ? .hexDump : section.isPlainListing ? .listing : .text
        views.append(View(kind: kind, label: label, functions: result.functions, warnings: result.warnings))
      }
      if !several { break }
    }
    if !several && views.isEmpty {
      // One layout only, but the split found nothing (e.g. blocks the splitter does not see):
      // let the whole-file loader decide.
      if let topology = try? TopologyLoader.load(data: Data(bytes), path: path) {
        let kind: View.Kind =
          switch topology.source.kind {
          case .hexDump: .hexDump
          case .lspciTree: .tree
          default: .text
          }
        views.append(View(kind: kind, label: path, functions: topology.functions, warnings: topology.warnings))
      }
    }
    return views
  }

  /// Merges views function by function (see the type's comment for which view wins what).
  static func merge(_ views: [View], source: TopologySource, platform: PlatformInfo) -> Topology {
    var warnings = views.flatMap(\.warnings)
    let hasTree = views.contains { $0.kind == .tree }
    if hasTree {
      // A listing's inferred hierarchy is replaced by the tree's: its note about that is moot.
      let listingLabels = Set(views.filter { $0.kind == .listing }.map(\.label))
      warnings.removeAll { warning in
        warning.message.contains("bus numbers") && listingLabels.contains { $0.hasPrefix(warning.file ?? "\u{0}") }
      }
    }
    // Richest view first, so `first` below is the best source for each fact.
    let ordered = views.enumerated().sorted { ($0.element.kind, -$0.offset) > ($1.element.kind, -$1.offset) }
      .map(\.element)
    var byBDF: [BDF: [(view: Int, function: PCIFunction)]] = [:]
    var order: [BDF] = []
    for (viewIndex, view) in ordered.enumerated() {
      for function in view.functions {
        if byBDF[function.bdf] == nil { order.append(function.bdf) }
        byBDF[function.bdf, default: []].append((viewIndex, function))
      }
    }
    var conflicts: [LoadWarning] = []
    var merged: [PCIFunction] = []
    merged.reserveCapacity(order.count)
    for bdf in order {
      guard let entries = byBDF[bdf], let best = entries.first else { continue }
      var function = best.function
      let bestLabel = ordered[best.view].label
      for (viewIndex, other) in entries.dropFirst() {
        let label = ordered[viewIndex].label
        let bestHasIDs = function.vendorID != 0 || function.deviceID != 0
        let otherHasIDs = other.vendorID != 0 || other.deviceID != 0
        if bestHasIDs && otherHasIDs && (function.vendorID, function.deviceID) != (other.vendorID, other.deviceID)
          && !function.isPoweredOff && !other.isPoweredOff
        {
          conflicts.append(
            LoadWarning(
              "conflict: \(bdf) is \(function.idPair) in \(bestLabel) but \(other.idPair) in \(label); "
                + "keeping \(function.idPair) (\(ordered[best.view].kind.words))"))
        } else if !bestHasIDs && otherHasIDs {
          function.vendorID = other.vendorID
          function.deviceID = other.deviceID
          function.vendorName = function.vendorName ?? other.vendorName
        }
        if function.name == nil || ordered[best.view].kind == .tree && other.name != nil {
          function.name = other.name ?? function.name
        }
        if function.classCode == 0 || ordered[best.view].kind == .tree && other.classCode != 0 {
          if other.classCode != 0 { function.classCode = other.classCode }
        }
        function.iommuGroup = function.iommuGroup ?? other.iommuGroup
        function.driver = function.driver ?? other.driver
        function.portType = function.portType ?? other.portType
        function.subsystemVendorID = function.subsystemVendorID ?? other.subsystemVendorID
        function.subsystemDeviceID = function.subsystemDeviceID ?? other.subsystemDeviceID
        if function.bars.isEmpty { function.bars = other.bars }
        function.isMultiFunction = function.isMultiFunction || other.isMultiFunction
        if case .unknown = function.acs, !other.acs.isUnknown { function.acs = other.acs }
        mergeBusNumbers(
          into: &function, from: other, bestView: ordered[best.view], otherView: ordered[viewIndex],
          conflicts: &conflicts)
      }
      merged.append(function)
    }
    if let tree = views.first(where: { $0.kind == .tree }) {
      let inTree = Set(tree.functions.map(\.bdf))
      let missing = order.filter { !inTree.contains($0) }
      if !missing.isEmpty {
        let shown = missing.prefix(8).map(\.description).joined(separator: ", ")
        conflicts.append(
          LoadWarning(
            "conflict: \(missing.count) function(s) are not in the tree \(tree.label) (\(shown)"
              + (missing.count > 8 ? ", ..." : "") + "); were the inputs taken at different times?"))
      }
    }
    return Topology(functions: merged, source: source, platform: platform, warnings: warnings + conflicts)
  }

  /// Bridge bus numbers: config or `Bus:` lines, else a tree, else a listing's inference.
  private static func mergeBusNumbers(
    into function: inout PCIFunction, from other: PCIFunction, bestView: View, otherView: View,
    conflicts: inout [LoadWarning]
  ) {
    guard let otherSecondary = other.secondaryBus else { return }
    let bestIsReal = bestView.hasRealBusNumbers && function.secondaryBus != nil
    if bestIsReal {
      if otherView.hasRealBusNumbers,
        otherSecondary != function.secondaryBus || other.subordinateBus != function.subordinateBus
      {
        conflicts.append(
          LoadWarning(
            "conflict: bridge \(function.bdf) leads to buses \(range(function)) in \(bestView.label) "
              + "but \(range(other)) in \(otherView.label); keeping \(range(function)) (\(bestView.kind.words))"))
      }
      return
    }
    // The best view has no real numbers: take them from a view that has (a tree over a listing).
    if otherView.hasRealBusNumbers || function.secondaryBus == nil {
      if !function.isBridge { function.headerType = other.headerType == 0 ? 1 : other.headerType }
      function.primaryBus = other.primaryBus
      function.secondaryBus = otherSecondary
      function.subordinateBus = other.subordinateBus
    }
  }

  private static func range(_ function: PCIFunction) -> String {
    let secondary = function.secondaryBus.map { hex($0, width: 2) } ?? "?"
    let subordinate = function.subordinateBus.map { hex($0, width: 2) } ?? "?"
    return "[\(secondary)-\(subordinate)]"
  }

  /// The file's bytes, with the same limits as `TopologyLoader.load(path:)`.
  public static func readFile(_ path: String) throws -> Data {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw TopologyError.unreadable(path: path, reason: "no such file")
    }
    if isDirectory.boolValue { throw TopologyError.unreadable(path: path, reason: "is a directory") }
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw TopologyError.unreadable(path: path, reason: "permission denied or not a regular file")
    }
    defer { try? handle.close() }
    let data = handle.readData(ofLength: TopologyLoader.maximumFileSize + 1)
    if data.count > TopologyLoader.maximumFileSize {
      throw TopologyError.unreadable(
        path: path, reason: "more than \(TopologyLoader.maximumFileSize >> 20) MiB, more than any lspci dump")
    }
    return data
  }
}
