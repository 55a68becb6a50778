/// Builds synthetic machines of any size for benchmarks, fuzzing and demos: PCI domains, each
/// with a host bridge and root ports, below them cascaded switches and endpoints (multi-function
/// GPUs, RDMA NICs, NVMe drives), ACS enabled on some ports and not on others.
///
/// Everything is derived from the seed with `SplitMix64`, so a seed names a machine. The number
/// of functions produced is exactly the number asked for: the last slots are filled with
/// single-function devices so the count never overshoots.
public struct MachineGenerator: Sendable {
  public struct Options: Sendable, Equatable {
    /// Functions to produce (at least 1).
    public var functionCount: Int
    public var seed: UInt64
    /// Deepest switch cascade below a root port (1 = no switch behind a switch).
    public var maximumSwitchDepth: Int
    /// The platform on the root buses; nil lets the seed choose.
    public var platform: Platform?
    /// True keeps every root port on bus 00 of its domain (one host bridge per domain). Servers
    /// have several root buses per domain, but a listing without bus-number registers (plain
    /// `lspci`) cannot always tell a new root bus from a bus below an empty bridge; tests of such
    /// inference want this.
    public var singleRootBusPerDomain: Bool

    public init(
      functionCount: Int, seed: UInt64 = 1, maximumSwitchDepth: Int = 3, platform: Platform? = nil,
      singleRootBusPerDomain: Bool = false
    ) {
      self.functionCount = functionCount
      self.seed = seed
      self.maximumSwitchDepth = maximumSwitchDepth
      self.platform = platform
      self.singleRootBusPerDomain = singleRootBusPerDomain
    }
  }

  /// Which host bridges a generated machine has, i.e. which host-bridge verdict it teaches.
  public enum Platform: String, Sendable, CaseIterable {
    /// AMD EPYC: every host-bridge path allowed by the CPU rule.
    case amd
    /// Ice Lake Xeon: allowlisted 8086:09a2 on every root bus.
    case icelake
    /// Broadwell-EP Xeon: 8086:6f00, not allowlisted; host-bridge paths refused.
    case broadwell
  }

  /// The most functions one run may ask for (the PCI ID space of 65,536 domains is far larger,
  /// but a dump of this size is already about 800 MB of text).
  public static let maximumFunctionCount = 60_000

  public var options: Options
  public init(options: Options) { self.options = options }

  /// A generated machine: functions carry their encoded config space.
  public struct Machine: Sendable {
    public var functions: [PCIFunction]
    public var platform: PlatformInfo
    public var title: String

    /// The machine as a topology (source kind `.generated`).
    public func topology(location: String) -> Topology {
      Topology(
        functions: functions, source: TopologySource(kind: .generated, location: location, title: title),
        platform: platform)
    }
  }

  public func generate() -> Machine {
    var builder = Builder(options: options)
    builder.run()
    return builder.finish()
  }
}

// MARK: - Builder

private struct Builder {
  let options: Options
  typealias Options = MachineGenerator.Options

  var random: SplitMix64
  var functions: [PCIFunction] = []
  var remaining: Int
  let flavour: PlatformFlavour
  var isAMD: Bool { flavour.usesDummyHostBridges }
  var domain: UInt32 = 0
  var domainOpen = false
  var nextBus = 1
  /// The root bus (host bridge) root ports are being added to; a domain holds several, as
  /// multi-socket servers do (one per PCIe stack).
  var rootBus: UInt8 = 0
  var rootPortsOnRootBus = 0
  var rootPortsPerRootBus = 4
  var nextRootDevice = 1
  var rootPortsInDevice = 0
  var nextIOMMUGroup = 0
  /// Bump allocators: 64-bit prefetchable space above 1 TiB, 32-bit space below 4 GiB.
  var prefetchableCursor: UInt64 = 1 << 40
  var memoryCursor: UInt64 = 0x8000_0000
  static let memoryEnd: UInt64 = 0xfc00_0000

  init(options: Options) {
    self.options = options
    random = SplitMix64(seed: options.seed)
    remaining = max(1, min(options.functionCount, MachineGenerator.maximumFunctionCount))
    // Draw even when the platform is given, so the rest of the machine is the same for a seed.
    let draw = random.int(in: 0...9)
    switch options.platform ?? (draw <= 3 ? .amd : draw <= 6 ? .icelake : .broadwell) {
    case .amd: flavour = .amdGenoa
    case .icelake: flavour = .intelIceLake
    case .broadwell: flavour = .intelBroadwell
    }
    functions.reserveCapacity(remaining)
  }

  mutating func run() {
    while remaining > 0 {
      if !domainOpen {
        openDomain()
        continue
      }
      // AMD spends a dummy host bridge on each new root-port slot: with two functions left that
      // would leave the port empty, so finish with root-complex endpoints instead.
      let amdNeedsDummy = isAMD && (rootPortsInDevice == 0 || rootPortsInDevice >= 3)
      if remaining == 1 || (remaining == 2 && amdNeedsDummy) || nextRootDevice > 0x1f || nextBus > 0xff {
        if remaining <= 2, let device = freeRootDevice {
          addRootComplexEndpoint(device: device)
        } else {
          domainOpen = false
        }
        continue
      }
      addRootPortWithChild()
    }
  }

  // MARK: Root bus

  mutating func openDomain() {
    if !functions.isEmpty { domain += 1 }
    domainOpen = true
    nextBus = 1
    openRootBus(0)
  }

  /// Starts a root bus with its host-bridge function at 00.0 (what `pci_host_bridge_dev()` finds).
  mutating func openRootBus(_ bus: UInt8) {
    rootBus = bus
    rootPortsOnRootBus = 0
    rootPortsPerRootBus = random.int(in: 2...8)
    nextRootDevice = 1
    rootPortsInDevice = 0
    var host = PCIFunction(
      bdf: BDF(domain: domain, bus: bus, device: 0, function: 0), vendorID: flavour.vendorID,
      deviceID: flavour.hostBridge.deviceID, classCode: flavour.hostBridge.classCode, name: flavour.hostBridge.name,
      vendorName: flavour.vendorName)
    host.portType = flavour.hostBridge.portType
    append(host)
  }

  /// Next root-port address. AMD puts a dummy host bridge at function 0 of each slot and root
  /// ports (GPP bridges) at functions 1...; Intel uses one root port per slot.
  mutating func nextRootPortAddress() -> BDF? {
    if isAMD {
      if rootPortsInDevice == 0 || rootPortsInDevice >= 3 {
        if rootPortsInDevice >= 3 {
          nextRootDevice += 1
          rootPortsInDevice = 0
        }
        guard nextRootDevice <= 0x1f, remaining >= 3 else { return nil }
        append(
          PCIFunction(
            bdf: BDF(domain: domain, bus: rootBus, device: UInt8(nextRootDevice), function: 0), vendorID: 0x1022,
            deviceID: 0x149f, classCode: 0x060000, name: "Genoa/Bergamo PCIe Dummy Host Bridge",
            vendorName: DeviceCatalogue.amd))
      }
      rootPortsInDevice += 1
      return BDF(domain: domain, bus: rootBus, device: UInt8(nextRootDevice), function: UInt8(rootPortsInDevice))
    }
    guard nextRootDevice <= 0x1f else { return nil }
    defer { nextRootDevice += 1 }
    return BDF(domain: domain, bus: rootBus, device: UInt8(nextRootDevice), function: 0)
  }

  /// The first root-bus slot nothing uses yet, nil when all 32 are taken.
  var freeRootDevice: UInt8? {
    let device = isAMD && rootPortsInDevice > 0 ? nextRootDevice + 1 : nextRootDevice
    return device <= 0x1f ? UInt8(device) : nil
  }

  mutating func addRootComplexEndpoint(device: UInt8) {
    let bdf = BDF(domain: domain, bus: rootBus, device: device, function: 0)
    nextRootDevice = Int(device) + 1
    rootPortsInDevice = 0
    var function = PCIFunction(
      bdf: bdf, vendorID: flavour.vendorID, deviceID: flavour.integratedEndpoint.deviceID,
      classCode: flavour.integratedEndpoint.classCode, name: flavour.integratedEndpoint.name,
      vendorName: flavour.vendorName)
    function.portType = .rootComplexIntegratedEndpoint
    append(function)
  }

  mutating func addRootPortWithChild() {
    // After a few root ports, start the next host bridge on the next free bus, when there is
    // room for its host-bridge function, a root port and something below it.
    if !options.singleRootBusPerDomain, rootPortsOnRootBus >= rootPortsPerRootBus, remaining >= 4, nextBus <= 0xfe {
      let bus = UInt8(nextBus)
      nextBus += 1
      openRootBus(bus)
      return
    }
    rootPortsOnRootBus += 1
    guard let bdf = nextRootPortAddress() else {
      domainOpen = false
      return
    }
    guard remaining >= 2 else { return }  // the dummy host bridge took the last-but-one slot
    let port = PCIFunction(
      bdf: bdf, vendorID: flavour.vendorID, deviceID: flavour.rootPort.deviceID, classCode: 0x060400,
      headerType: 1, portType: .rootPort, primaryBus: bdf.bus, acs: portACS(capability: flavour.rootPort.acsCapability),
      driver: "pcieport", name: flavour.rootPort.name, vendorName: flavour.vendorName)
    let portIndex = append(port)
    nextIOMMUGroup += 1
    openBridge(portIndex)
    addBelowPort(depth: 0)
    closeBridge(portIndex)
  }

  /// A port's ACS state: the control bits can only enable what the capability offers.
  mutating func portACS(capability: ACSBits) -> ACSState {
    .present(capability: capability, control: randomPortControl().intersection(capability))
  }

  /// ACS Control of a port: mostly what an IOMMU driver leaves (SV RR CR UF), often nothing,
  /// sometimes only non-redirect bits, rarely Egress Control alone.
  mutating func randomPortControl() -> ACSBits {
    switch random.int(in: 0...9) {
    case 0...4: return ACSBits(rawValue: 0x1d)
    case 5...7: return []
    case 8: return [.sourceValidation, .upstreamForwarding]
    default: return [.egressControl]
    }
  }

  // MARK: Below a port

  /// Fills the secondary bus of the bridge just opened: a switch or an endpoint.
  mutating func addBelowPort(depth: Int) {
    let busesLeft = 0xff - nextBus + 1
    if depth < options.maximumSwitchDepth, remaining >= 3, busesLeft >= 2,
      random.chance(depth == 0 ? 45 : 20)
    {
      addSwitch(depth: depth)
    } else {
      addEndpoint()
    }
  }

  mutating func addSwitch(depth: Int) {
    let bus = UInt8(nextBus - 1)  // the bus the port above just opened
    let gen5 = depth == 0
    let vendorID: UInt16 = gen5 ? 0x1000 : 0x10b5
    let deviceID: UInt16 = gen5 ? 0xc030 : 0x8796
    let vendorName = gen5 ? "Broadcom / LSI" : "PLX Technology, Inc."
    let name = gen5 ? "PEX890xx PCIe Gen 5 Switch" : "PEX 8796 PCI Express Gen 3 Switch, 96 lanes, 24 ports"
    let upstream = PCIFunction(
      bdf: BDF(domain: domain, bus: bus, device: 0, function: 0), vendorID: vendorID, deviceID: deviceID,
      classCode: 0x060400, headerType: 1, portType: .upstreamPort, primaryBus: bus, acs: .absent,
      driver: "pcieport", name: name, vendorName: vendorName)
    let upstreamIndex = append(upstream)
    openBridge(upstreamIndex)
    let internalBus = UInt8(nextBus - 1)
    let busesLeft = 0xff - nextBus + 1
    let ports = min(random.int(in: 2...6), (remaining) / 2, busesLeft)
    for portNumber in 0..<max(ports, 0) {
      guard remaining >= 2, nextBus <= 0xff else { break }
      let downstream = PCIFunction(
        bdf: BDF(domain: domain, bus: internalBus, device: UInt8(portNumber), function: 0), vendorID: vendorID,
        deviceID: deviceID, classCode: 0x060400, headerType: 1, portType: .downstreamPort, primaryBus: internalBus,
        acs: portACS(capability: ACSBits(rawValue: 0x7f)), driver: "pcieport",
        name: name, vendorName: vendorName)
      let downstreamIndex = append(downstream)
      openBridge(downstreamIndex)
      addBelowPort(depth: depth + 1)
      closeBridge(downstreamIndex)
    }
    closeBridge(upstreamIndex)
  }

  mutating func addEndpoint() {
    let bus = UInt8(nextBus - 1)
    let fitting = DeviceCatalogue.weighted.filter { $0.model.functions.count <= remaining }
    guard !fitting.isEmpty else { return }
    let total = fitting.reduce(0) { $0 + $1.weight }
    var ticket = random.int(in: 0...(total - 1))
    var model = fitting[0].model
    for entry in fitting {
      if ticket < entry.weight {
        model = entry.model
        break
      }
      ticket -= entry.weight
    }
    let group = nextIOMMUGroup
    for (number, template) in model.functions.enumerated() {
      let bars = allocateBARs(of: template)
      append(
        PCIFunction(
          bdf: BDF(domain: domain, bus: bus, device: 0, function: UInt8(number)), vendorID: template.vendorID,
          deviceID: template.deviceID, classCode: template.classCode, isMultiFunction: model.functions.count > 1,
          portType: .endpoint, bars: bars, acs: .absent, iommuGroup: group, driver: template.driver,
          name: template.name, vendorName: template.vendorName, extras: template.extras))
    }
    addVirtualFunctions(of: model, bus: bus, firstRoutingID: model.functions.count)
  }

  /// SR-IOV VFs after the physical functions, as many as fit in what is left to generate. Each
  /// VF is its own IOMMU group, as it would be behind an ACS-capable port.
  mutating func addVirtualFunctions(of model: EndpointModel, bus: UInt8, firstRoutingID: Int) {
    guard let (count, template) = model.virtualFunctions else { return }
    let fitting = min(count, remaining, 256 - firstRoutingID)
    for number in 0..<max(0, fitting) {
      let routingID = firstRoutingID + number
      let bars = allocateBARs(of: template)
      nextIOMMUGroup += 1
      append(
        PCIFunction(
          bdf: BDF(domain: domain, bus: bus, device: UInt8(routingID >> 3), function: UInt8(routingID & 7)),
          vendorID: template.vendorID, deviceID: template.deviceID, classCode: template.classCode,
          portType: .endpoint, bars: bars, acs: .absent, iommuGroup: nextIOMMUGroup, driver: template.driver,
          name: template.name, vendorName: template.vendorName, extras: template.extras))
    }
  }

  // MARK: Resources

  /// The template's BARs, each given the next address of its window.
  mutating func allocateBARs(of template: FunctionModel) -> [BAR] {
    template.bars.map { bar in
      BAR(
        index: bar.index, address: allocate(size: bar.size, prefetchable: bar.prefetchable), size: bar.size,
        is64Bit: bar.is64Bit, isPrefetchable: bar.prefetchable)
    }
  }

  /// Gives a BAR an address aligned to its size; 32-bit space that runs out leaves the BAR
  /// unassigned (address 0), as firmware does when a machine has too many devices.
  mutating func allocate(size: UInt64, prefetchable: Bool) -> UInt64 {
    if prefetchable {
      let address = (prefetchableCursor + size - 1) / size * size
      prefetchableCursor = address + size
      return address
    }
    let address = (memoryCursor + size - 1) / size * size
    guard address + size <= Self.memoryEnd else { return 0 }
    memoryCursor = address + size
    return address
  }

  /// A bridge's secondary bus is the next free bus; its windows start on a 1 MiB boundary.
  mutating func openBridge(_ index: Int) {
    functions[index].secondaryBus = UInt8(nextBus)
    nextBus += 1
    alignCursors()
  }

  /// The subordinate bus is the last bus handed out below the bridge.
  mutating func closeBridge(_ index: Int) {
    functions[index].subordinateBus = UInt8(nextBus - 1)
    alignCursors()
  }

  /// Bridge windows have 1 MiB granularity: keep sibling subtrees in separate megabytes.
  mutating func alignCursors() {
    let megabyte: UInt64 = 1 << 20
    prefetchableCursor = (prefetchableCursor + megabyte - 1) / megabyte * megabyte
    memoryCursor = min((memoryCursor + megabyte - 1) / megabyte * megabyte, Self.memoryEnd)
  }

  @discardableResult
  mutating func append(_ function: PCIFunction) -> Int {
    functions.append(function)
    remaining -= 1
    return functions.count - 1
  }

  // MARK: Finish

  /// Sets the multi-function bits, computes bridge windows and encodes config space.
  mutating func finish() -> MachineGenerator.Machine {
    var perSlot: [BDF: Int] = [:]
    for function in functions {
      perSlot[slot(of: function.bdf), default: 0] += 1
    }
    for index in functions.indices {
      functions[index].isMultiFunction = (perSlot[slot(of: functions[index].bdf)] ?? 0) > 1
    }
    let windows = bridgeWindows()
    for index in functions.indices {
      functions[index].config = ConfigSpaceEncoder.encode(functions[index], windows: windows[index])
    }
    let platform = flavour.platform
    let title =
      "Synthetic \(flavour.label): \(functions.count) functions, \(Int(domain) + 1) PCI domain\(domain == 0 ? "" : "s") (seed \(options.seed))"
    return MachineGenerator.Machine(functions: functions, platform: platform, title: title)
  }

  private func slot(of bdf: BDF) -> BDF { BDF(domain: bdf.domain, bus: bdf.bus, device: bdf.device, function: 0) }

  /// Each bridge forwards the union of its subtree's BARs. Functions were appended depth-first,
  /// so a bridge's subtree is the run of functions after it whose bus lies in its bus range.
  private func bridgeWindows() -> [ConfigSpaceEncoder.BridgeWindows] {
    var windows = [ConfigSpaceEncoder.BridgeWindows](repeating: .init(), count: functions.count)
    for (index, bridge) in functions.enumerated() where bridge.headerType == 1 {
      guard let secondary = bridge.secondaryBus, let subordinate = bridge.subordinateBus else { continue }
      var memory: ClosedRange<UInt64>?
      var prefetchable: ClosedRange<UInt64>?
      var next = index + 1
      while next < functions.count {
        let candidate = functions[next]
        guard candidate.bdf.domain == bridge.bdf.domain, candidate.bdf.bus >= secondary,
          candidate.bdf.bus <= subordinate
        else { break }
        for bar in candidate.bars where bar.address != 0 {
          let range = bar.address...(bar.address + (bar.size ?? 1) - 1)
          if bar.isPrefetchable {
            prefetchable =
              prefetchable.map { min($0.lowerBound, range.lowerBound)...max($0.upperBound, range.upperBound) } ?? range
          } else {
            memory = memory.map { min($0.lowerBound, range.lowerBound)...max($0.upperBound, range.upperBound) } ?? range
          }
        }
        next += 1
      }
      windows[index] = .init(
        memory: memory.map(Self.megabyteAligned), prefetchable: prefetchable.map(Self.megabyteAligned))
    }
    return windows
  }

  private static func megabyteAligned(_ range: ClosedRange<UInt64>) -> ClosedRange<UInt64> {
    let mask: UInt64 = (1 << 20) - 1
    return (range.lowerBound & ~mask)...(range.upperBound | mask)
  }
}
