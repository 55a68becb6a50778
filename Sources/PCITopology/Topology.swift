/// IOMMU mode of the machine: off (dma-direct), translating, or passthrough (`iommu=pt`).
public enum IOMMUMode: String, Sendable, CaseIterable {
  case off
  case on
  case passthrough = "pt"

  /// True when DMA addresses are IOVAs that the IOMMU translates.
  public var translates: Bool { self == .on }
}

/// CPU vendor as the kernel's `boot_cpu_data.x86_vendor` would say (or the architecture).
public enum CPUVendor: String, Sendable, CaseIterable {
  case amd, intel, hygon, zhaoxin, arm, power, other
}

/// Facts about the machine that PCI config space does not carry. Scenario files set them;
/// for dumps they stay nil and the P2P layer infers (and says it inferred).
public struct PlatformInfo: Sendable, Equatable {
  public var cpuVendor: CPUVendor?
  /// x86 family number (0x17 = Zen, 0x19 = Zen 3/4, 0x1a = Zen 5).
  public var cpuFamily: Int?
  public var cpuModelName: String?
  public var iommu: IOMMUMode?
  /// Where `iommu` came from when the input only implies it (e.g. IOMMU groups listed in
  /// `lspci -vvv` text: on, but translated or passthrough is not said).
  public var iommuNote: String? = nil
  /// Kernel model label, e.g. `mainline`.
  public var kernel: String?
  /// The kernel a `dmabuf-explorer capture` recorded in its header (nil for other inputs): the
  /// replay's default `--kernel` (issue 12 item 4).
  public var recordedKernel: RecordedKernel? = nil

  public init(
    cpuVendor: CPUVendor? = nil, cpuFamily: Int? = nil, cpuModelName: String? = nil,
    iommu: IOMMUMode? = nil, kernel: String? = nil
  ) {
    self.cpuVendor = cpuVendor
    self.cpuFamily = cpuFamily
    self.cpuModelName = cpuModelName
    self.iommu = iommu
    self.kernel = kernel
  }
}

/// The kernel of the machine a capture was taken on, as its header recorded it.
public struct RecordedKernel: Sendable, Equatable {
  /// `uname -r` text, nil when the capture could not read it (`# kernel.release: unknown`).
  public var release: String?
  /// `CONFIG_DMABUF_MOVE_NOTIFY` from the recorded kernel config, nil when not recorded.
  public var dmabufMoveNotify: Bool?
  /// The capture file.
  public var file: String

  public init(release: String?, dmabufMoveNotify: Bool?, file: String) {
    self.release = release
    self.dmabufMoveNotify = dmabufMoveNotify
    self.file = file
  }
}

/// Where a topology came from, for the status line and messages.
public struct TopologySource: Sendable, Equatable {
  public enum Kind: String, Sendable {
    case hexDump = "lspci hex dump"
    case lspciText = "lspci -vvv text"
    case lspciTree = "lspci -tv tree"
    case sysfs = "sysfs"
    case scenario = "scenario file"
    case builtin = "built-in scenario"
    case generated = "generated"
    /// Several inputs of one machine (`--topology` given more than once, or a file with several
    /// lspci sections) merged into one topology.
    case merged = "merged lspci inputs"

    /// True for inputs read off a real machine: their ACS Control already shows what the running
    /// kernel enabled, so what-ifs must not apply the kernel's ACS enable on top of them.
    public var isCapture: Bool {
      switch self {
      case .hexDump, .lspciText, .lspciTree, .sysfs, .merged: return true
      case .scenario, .builtin, .generated: return false
      }
    }
  }
  public var kind: Kind
  /// File path, sysfs root or scenario name.
  public var location: String
  /// One-line title (scenario title, or the file name).
  public var title: String

  public init(kind: Kind, location: String, title: String? = nil) {
    self.kind = kind
    self.location = location
    self.title = title ?? location
  }
}

/// A problem the loader worked around; shown to the user, never fatal.
public struct LoadWarning: Sendable, Equatable, CustomStringConvertible {
  public var message: String
  public var file: String?
  public var line: Int?
  public init(_ message: String, file: String? = nil, line: Int? = nil) {
    self.message = message
    self.file = file
    self.line = line
  }
  public var description: String {
    switch (file, line) {
    case (let file?, let line?): return "\(file):\(line): \(message)"
    case (let file?, nil): return "\(file): \(message)"
    default: return message
    }
  }
}

/// A whole machine: every PCI function plus the relations the kernel derives from bus numbers.
///
/// The relations are computed once at init: a function on bus N hangs below the bridge whose
/// secondary bus is N (`pci_upstream_bridge`); a bus no bridge leads to is a root bus, i.e. a
/// host bridge (`pci_find_host_bridge`). Impossible inputs (a bus claimed by two bridges, bridge
/// loops) are resolved deterministically with a warning, never by looping.
public struct Topology: Sendable {
  /// All functions, sorted by BDF.
  public private(set) var functions: [PCIFunction]
  public var source: TopologySource
  public var platform: PlatformInfo
  public private(set) var warnings: [LoadWarning]
  /// Root buses whose upstream is not in the input (Topology+PartialInput.swift); empty for
  /// complete inputs.
  public private(set) var partialInput = PartialInput()

  /// Index of each function's upstream bridge, or -1 when it sits on a root bus.
  public private(set) var parentIndex: [Int32]
  /// Root bus (host bridge) of each function.
  public private(set) var rootBusIndex: [Int32]
  /// All root buses, sorted.
  public private(set) var rootBuses: [BusID]
  private var indexByBDF: [BDF: Int32]
  /// Functions on each bus, in devfn order (the kernel's `bus->devices` scan order).
  private var functionsByBus: [BusID: [Int32]]
  /// For each bridge function, the index of the bus it leads to, when it is the bridge chosen.
  private var childBusOf: [Int32: BusID]

  public init(
    functions: [PCIFunction], source: TopologySource, platform: PlatformInfo = PlatformInfo(),
    warnings: [LoadWarning] = []
  ) {
    var unique: [PCIFunction] = []
    var seen = Set<BDF>()
    var warnings = warnings
    let warningsGiven = warnings.count
    unique.reserveCapacity(functions.count)
    for function in functions.sorted(by: { $0.bdf < $1.bdf }) {
      if seen.insert(function.bdf).inserted {
        unique.append(function)
      } else {
        warnings.append(LoadWarning("duplicate function \(function.bdf) ignored (the first one is kept)"))
      }
    }
    self.functions = unique
    self.source = source
    self.platform = platform
    self.warnings = warnings
    self.parentIndex = []
    self.rootBusIndex = []
    self.rootBuses = []
    self.indexByBDF = [:]
    self.functionsByBus = [:]
    self.childBusOf = [:]
    deriveRelations()
    let (partial, partialWarning) = partialInputFindings()
    partialInput = partial
    if let partialWarning { self.warnings.append(partialWarning) }
    // Name the input in the warnings derived here, as the loaders do for theirs.
    let derivedFrom = warningsGiven
    for index in derivedFrom..<self.warnings.count where self.warnings[index].file == nil {
      self.warnings[index].file = source.location
    }
    capWarnings()
  }

  /// Most warnings a topology keeps; a hostile or badly mangled input could otherwise produce one
  /// per line. The rest are counted in a final line.
  public static let maximumWarnings = 50

  private mutating func capWarnings() {
    guard warnings.count > Self.maximumWarnings + 1 else { return }
    let dropped = warnings.count - Self.maximumWarnings
    warnings.removeLast(dropped)
    warnings.append(LoadWarning("... and \(dropped) more warnings not shown"))
  }

  public var count: Int { functions.count }

  public func index(of bdf: BDF) -> Int? { indexByBDF[bdf].map(Int.init) }

  public func function(_ bdf: BDF) -> PCIFunction? { index(of: bdf).map { functions[$0] } }

  public subscript(index: Int) -> PCIFunction { functions[index] }

  /// `pci_upstream_bridge()`: the bridge above this function, nil on a root bus.
  public func upstreamBridge(of index: Int) -> Int? {
    let parent = parentIndex[index]
    return parent < 0 ? nil : Int(parent)
  }

  /// `pci_find_host_bridge()`: the root bus this function ultimately hangs from.
  public func rootBus(of index: Int) -> BusID { rootBuses[Int(rootBusIndex[index])] }

  /// Functions on a bus, in the kernel's scan (devfn) order.
  public func functions(onBus bus: BusID) -> [Int] { (functionsByBus[bus] ?? []).map(Int.init) }

  /// The bus a bridge leads to, when this bridge is the one the kernel would use for it.
  public func secondaryBus(of index: Int) -> BusID? { childBusOf[Int32(index)] }

  /// Functions directly below a bridge (on its secondary bus), in devfn order.
  public func children(of index: Int) -> [Int] {
    guard let bus = childBusOf[Int32(index)] else { return [] }
    return functions(onBus: bus)
  }

  /// This function and every upstream bridge up to the root bus, nearest first.
  public func pathToRoot(from index: Int) -> [Int] {
    var path = [index]
    var current = index
    while let parent = upstreamBridge(of: current) {
      path.append(parent)
      current = parent
    }
    return path
  }

  /// `pci_host_bridge_dev()`: the first device in the root bus's device list, accepted only when
  /// it is devfn 00.0 or a PCIe Root Port; nil otherwise (nil means "not allowlisted").
  public func hostBridgeDevice(forRootBus bus: BusID) -> Int? {
    guard let first = firstDevice(onRootBus: bus) else { return nil }
    let function = functions[first]
    if function.bdf.devfn == 0 || function.portType == .rootPort { return first }
    return nil
  }

  /// The first device on a root bus whether or not `pci_host_bridge_dev` would accept it
  /// (for explanations).
  public func firstDevice(onRootBus bus: BusID) -> Int? { functionsByBus[bus]?.first.map(Int.init) }

  /// Replaces a function's ACS state (what-if toggles). Relations do not change.
  public mutating func setACS(_ acs: ACSState, at index: Int) { functions[index].acs = acs }

  /// Replaces a function's scenario extras.
  public mutating func setExtras(_ extras: DeviceExtras, at index: Int) { functions[index].extras = extras }

  private mutating func deriveRelations() {
    let count = functions.count
    indexByBDF.reserveCapacity(count)
    for (offset, function) in functions.enumerated() {
      indexByBDF[function.bdf] = Int32(offset)
      functionsByBus[function.bdf.busID, default: []].append(Int32(offset))
    }
    // Which bridge leads to which bus. The kernel gives each bus one parent bridge; a dump can
    // claim a bus twice: keep the first bridge in BDF order and say so.
    var bridgeForBus: [BusID: Int32] = [:]
    for (offset, function) in functions.enumerated() where function.isBridge {
      guard let secondary = function.secondaryBus, !function.isPoweredOff else { continue }
      let bus = BusID(domain: function.bdf.domain, bus: secondary)
      if secondary == function.bdf.bus {
        warnings.append(
          LoadWarning("bridge \(function.bdf) claims its own bus \(bus) as secondary; ignored"))
        continue
      }
      if let subordinate = function.subordinateBus, subordinate < secondary {
        warnings.append(
          LoadWarning(
            "bridge \(function.bdf) has subordinate bus \(hex(subordinate, width: 2)) below its secondary bus "
              + "\(hex(secondary, width: 2)) (impossible; the kernel would renumber): only bus \(bus) is placed below it"
          ))
      }
      if let earlier = bridgeForBus[bus] {
        warnings.append(
          LoadWarning(
            "bus \(bus) is claimed by two bridges, \(functions[Int(earlier)].bdf) and \(function.bdf); "
              + "using \(functions[Int(earlier)].bdf)"))
        continue
      }
      bridgeForBus[bus] = Int32(offset)
    }
    parentIndex = [Int32](repeating: -1, count: count)
    for (offset, function) in functions.enumerated() {
      if let bridge = bridgeForBus[function.bdf.busID] { parentIndex[offset] = bridge }
    }
    // Break bridge loops (bus A's bridge sits on bus B whose bridge sits on bus A...).
    var state = [UInt8](repeating: 0, count: count)  // 0 unvisited, 1 in progress, 2 done
    for start in 0..<count where state[start] == 0 {
      var chain: [Int] = []
      var current = start
      while current >= 0, state[current] == 0 {
        state[current] = 1
        chain.append(current)
        current = Int(parentIndex[current])
      }
      if current >= 0, state[current] == 1 {
        // `current` is on a cycle: cut the edge above it.
        let cut = current
        let bus = functions[cut].bdf.busID
        warnings.append(
          LoadWarning(
            "bridge loop through \(functions[cut].bdf): bus \(bus) is treated as a root bus"))
        bridgeForBus[bus] = nil
        for member in functions(onBus: bus) { parentIndex[member] = -1 }
      }
      for member in chain { state[member] = 2 }
    }
    childBusOf = [:]
    for (bus, bridge) in bridgeForBus { childBusOf[bridge] = bus }
    // Root buses: buses whose functions have no parent.
    var roots = Set<BusID>()
    for (offset, function) in functions.enumerated() where parentIndex[offset] < 0 {
      roots.insert(function.bdf.busID)
    }
    rootBuses = roots.sorted()
    var rootIndexByBus: [BusID: Int32] = [:]
    for (offset, bus) in rootBuses.enumerated() { rootIndexByBus[bus] = Int32(offset) }
    rootBusIndex = [Int32](repeating: -1, count: count)
    for offset in 0..<count where rootBusIndex[offset] < 0 {
      var chain: [Int] = []
      var current = offset
      while rootBusIndex[current] < 0 {
        chain.append(current)
        let parent = Int(parentIndex[current])
        if parent < 0 { break }
        current = parent
      }
      let root: Int32
      if rootBusIndex[current] >= 0 {
        root = rootBusIndex[current]
      } else {
        root = rootIndexByBus[functions[current].bdf.busID] ?? 0
      }
      for member in chain { rootBusIndex[member] = root }
    }
    // Buses strictly inside some bridge's (secondary, subordinate] range, per domain: one
    // difference array per domain that has bridges, so the check is linear in the input
    // (a scan of every function per root bus was quadratic: 10,000 root buses took minutes).
    var coverByDomain: [UInt32: [Int32]] = [:]
    for function in functions where function.isBridge {
      guard let secondary = function.secondaryBus, let subordinate = function.subordinateBus, subordinate > secondary
      else { continue }
      coverByDomain[function.bdf.domain, default: [Int32](repeating: 0, count: 257)][Int(secondary) + 1] += 1
      coverByDomain[function.bdf.domain]?[Int(subordinate) + 1] -= 1
    }
    for domain in Array(coverByDomain.keys) {
      guard var cover = coverByDomain[domain] else { continue }
      for bus in 1..<cover.count { cover[bus] += cover[bus - 1] }
      coverByDomain[domain] = cover
    }
    let orphanBuses = rootBuses.filter { bus in (coverByDomain[bus.domain]?[Int(bus.bus)] ?? 0) > 0 }
    for bus in orphanBuses {
      warnings.append(
        LoadWarning(
          "bus \(bus) lies inside a bridge's bus range but no bridge has it as its secondary bus; "
            + "treated as a root bus (is the dump partial?)"))
    }
  }

}
