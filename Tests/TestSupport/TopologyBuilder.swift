import PCITopology

/// Builds small PCI topologies in code for tests: host bridges, root ports, switches and
/// endpoints, with bus numbers handed out automatically.
///
/// ```swift
/// var builder = TopologyBuilder()
/// builder.hostBridge()                                   // 0000:00:00.0
/// let port = builder.rootPort("0000:00:01.0")            // secondary bus 01
/// let plx = builder.pcieSwitch(below: port, downstreamPorts: 2)
/// let gpu = builder.endpoint(below: plx.downstream[0])
/// let topology = builder.build()
/// ```
public struct TopologyBuilder: Sendable {
  /// The ports of one PCIe switch.
  public struct SwitchPorts: Sendable, Equatable {
    public var upstream: BDF
    public var downstream: [BDF]
  }

  public private(set) var functions: [PCIFunction] = []
  public var platform: PlatformInfo
  private var nextBus: [UInt32: Int]
  private var secondaryBusOf: [BDF: UInt8] = [:]

  /// `firstFreeBus` is the first bus number handed to a new bridge in each domain.
  public init(platform: PlatformInfo = PlatformInfo(), firstFreeBus: UInt8 = 1) {
    self.platform = platform
    nextBus = [:]
    firstFree = Int(firstFreeBus)
  }
  private let firstFree: Int

  /// Parses a BDF literal; test input is always valid, so a typo traps loudly.
  public static func bdf(_ text: String) -> BDF {
    guard let bdf = BDF(text) else { preconditionFailure("bad BDF literal '\(text)' in a test") }
    return bdf
  }

  /// ACS present with every P2P bit available and RR, CR (plus SV, UF) enabled: what the kernel
  /// sets when an IOMMU driver is active (`ACSCtl 0x001d`).
  public static let acsRedirecting = ACSState.present(
    capability: [
      .sourceValidation, .translationBlocking, .requestRedirect, .completionRedirect, .upstreamForwarding,
      .egressControl,
    ],
    control: [.sourceValidation, .requestRedirect, .completionRedirect, .upstreamForwarding])

  /// ACS present, nothing enabled in Control.
  public static let acsAllOff = ACSState.present(
    capability: [
      .sourceValidation, .translationBlocking, .requestRedirect, .completionRedirect, .upstreamForwarding,
      .egressControl,
    ],
    control: [])

  /// ACS present with only the given Control bits.
  public static func acs(control: ACSBits) -> ACSState {
    .present(
      capability: [
        .sourceValidation, .translationBlocking, .requestRedirect, .completionRedirect, .upstreamForwarding,
        .egressControl,
      ], control: control)
  }

  /// Adds any function as given.
  public mutating func add(_ function: PCIFunction) { functions.append(function) }

  /// A host bridge function (class 0600) on a root bus, e.g. 8086:4c43 at 0000:00:00.0.
  @discardableResult
  public mutating func hostBridge(_ bdf: String = "0000:00:00.0", vendor: UInt16 = 0x8086, device: UInt16 = 0x09a2)
    -> BDF
  {
    let address = Self.bdf(bdf)
    add(PCIFunction(bdf: address, vendorID: vendor, deviceID: device, classCode: 0x060000, name: "Host bridge"))
    return address
  }

  /// A PCIe root port at `bdf` on a root bus; gets the next free bus as its secondary bus.
  @discardableResult
  public mutating func rootPort(
    _ bdf: String, acs: ACSState = .absent, vendor: UInt16 = 0x8086, device: UInt16 = 0x2030
  ) -> BDF {
    let address = Self.bdf(bdf)
    addBridge(at: address, portType: .rootPort, acs: acs, vendor: vendor, device: device)
    return address
  }

  /// A bridge of any kind below `parent` (on its secondary bus at `device.function`), which gets
  /// its own new secondary bus.
  @discardableResult
  public mutating func bridge(
    below parent: BDF, device: UInt8 = 0, function: UInt8 = 0, portType: PCIePortType?, acs: ACSState = .absent,
    vendor: UInt16 = 0x10b5, deviceID: UInt16 = 0x8747
  ) -> BDF {
    let address = BDF(domain: parent.domain, bus: secondaryBus(of: parent), device: device, function: function)
    addBridge(at: address, portType: portType, acs: acs, vendor: vendor, device: deviceID)
    return address
  }

  /// A PCIe switch below `port`: its upstream port at 00.0 on the port's secondary bus and
  /// `downstreamPorts` downstream ports at 00.0, 01.0, ... on the upstream port's bus.
  @discardableResult
  public mutating func pcieSwitch(
    below port: BDF, downstreamPorts: Int, upstreamACS: ACSState = .absent, downstreamACS: ACSState = .absent,
    vendor: UInt16 = 0x10b5, upstreamDevice: UInt16 = 0x8747, downstreamDevice: UInt16 = 0x8747
  ) -> SwitchPorts {
    let upstream = bridge(
      below: port, portType: .upstreamPort, acs: upstreamACS, vendor: vendor, deviceID: upstreamDevice)
    var downstream: [BDF] = []
    for slot in 0..<downstreamPorts {
      downstream.append(
        bridge(
          below: upstream, device: UInt8(slot), portType: .downstreamPort, acs: downstreamACS, vendor: vendor,
          deviceID: downstreamDevice))
    }
    return SwitchPorts(upstream: upstream, downstream: downstream)
  }

  /// An endpoint at `device.function` on the secondary bus of `port`.
  @discardableResult
  public mutating func endpoint(
    below port: BDF, device: UInt8 = 0, function: UInt8 = 0, vendor: UInt16 = 0x1002, deviceID: UInt16 = 0x744c,
    classCode: UInt32 = 0x030000, acs: ACSState = .absent, driver: String? = nil, name: String? = nil
  ) -> BDF {
    let address = BDF(domain: port.domain, bus: secondaryBus(of: port), device: device, function: function)
    add(
      PCIFunction(
        bdf: address, vendorID: vendor, deviceID: deviceID, classCode: classCode, portType: .endpoint, acs: acs,
        driver: driver, name: name))
    return address
  }

  /// An endpoint at a fixed address, e.g. a root-complex integrated device on a root bus.
  @discardableResult
  public mutating func endpoint(
    at bdf: String, vendor: UInt16 = 0x8086, deviceID: UInt16 = 0x0b25, classCode: UInt32 = 0x088000,
    portType: PCIePortType? = .rootComplexIntegratedEndpoint, acs: ACSState = .absent, driver: String? = nil
  ) -> BDF {
    let address = Self.bdf(bdf)
    add(
      PCIFunction(
        bdf: address, vendorID: vendor, deviceID: deviceID, classCode: classCode, portType: portType, acs: acs,
        driver: driver))
    return address
  }

  /// The secondary bus handed to a bridge added earlier.
  public func secondaryBus(of bridge: BDF) -> UInt8 {
    guard let bus = secondaryBusOf[bridge] else {
      preconditionFailure("\(bridge) is not a bridge added to this builder")
    }
    return bus
  }

  /// The topology, with subordinate bus numbers and multi-function flags filled in.
  public func build(title: String = "hand-built test topology") -> Topology {
    var functions = self.functions
    let slots = Dictionary(grouping: functions, by: { "\($0.bdf.domain):\($0.bdf.bus):\($0.bdf.device)" })
    for index in functions.indices {
      let bdf = functions[index].bdf
      functions[index].isMultiFunction = (slots["\(bdf.domain):\(bdf.bus):\(bdf.device)"]?.count ?? 0) > 1
    }
    // Subordinate = highest bus number reachable below each bridge.
    for index in functions.indices where functions[index].isBridge {
      guard let secondary = functions[index].secondaryBus else { continue }
      var highest = secondary
      var frontier: Set<UInt8> = [secondary]
      while !frontier.isEmpty {
        var next: Set<UInt8> = []
        for function in functions
        where function.bdf.domain == functions[index].bdf.domain
          && frontier.contains(function.bdf.bus)
        {
          if let below = function.secondaryBus {
            next.insert(below)
            highest = max(highest, below)
          }
        }
        frontier = next
      }
      functions[index].subordinateBus = highest
    }
    return Topology(
      functions: functions, source: TopologySource(kind: .generated, location: "test", title: title), platform: platform
    )
  }

  private mutating func addBridge(
    at address: BDF, portType: PCIePortType?, acs: ACSState, vendor: UInt16, device: UInt16
  ) {
    let bus = nextBus[address.domain] ?? firstFree
    precondition(bus <= 255, "out of bus numbers")
    nextBus[address.domain] = bus + 1
    secondaryBusOf[address] = UInt8(bus)
    add(
      PCIFunction(
        bdf: address, vendorID: vendor, deviceID: device, classCode: 0x060400, headerType: 1, portType: portType,
        primaryBus: address.bus, secondaryBus: UInt8(bus), subordinateBus: UInt8(bus), acs: acs))
  }
}

/// A deterministic pseudo-random generator (SplitMix64), so random tests repeat exactly.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
  private var state: UInt64
  public init(seed: UInt64) { state = seed }
  public mutating func next() -> UInt64 {
    state &+= 0x9e37_79b9_7f4a_7c15
    var mixed = state
    mixed = (mixed ^ (mixed >> 30)) &* 0xbf58_476d_1ce4_e5b9
    mixed = (mixed ^ (mixed >> 27)) &* 0x94d0_49bb_1331_11eb
    return mixed ^ (mixed >> 31)
  }
}

extension TopologyBuilder {
  /// A random machine for property tests and speed checks: `rootBusCount` root buses (each its
  /// own domain, so bus numbers never run out), each with a host-bridge device drawn from a mix of
  /// allowlisted, same-host-bridge-only, unlisted and unusable (not 00.0, not a root port)
  /// choices; root ports with nested switches (up to `maxSwitchDepth` levels), multi-function
  /// endpoints, root-bus endpoints and random ACS (absent, off, redirecting, EC only, unknown).
  public static func synthetic(
    seed: UInt64, rootBusCount: Int = 4, rootPortsPerBus: Int = 4, maxSwitchDepth: Int = 3,
    maxDownstreamPorts: Int = 4, maxFunctionsPerEndpoint: Int = 2
  ) -> Topology {
    var random = SeededGenerator(seed: seed)
    var builder = TopologyBuilder()
    let hostBridgeChoices: [(UInt16, UInt16)] = [
      (0x8086, 0x09a2), (0x8086, 0x2f00), (0x8086, 0x4c43), (0x1022, 0x14d8), (0x10de, 0x2f95), (0x1d17, 0x1003),
    ]
    func randomACS(_ random: inout SeededGenerator) -> ACSState {
      switch Int.random(in: 0..<10, using: &random) {
      case 0...3: return .absent
      case 4, 5: return acsAllOff
      case 6, 7: return acsRedirecting
      case 8: return acs(control: [.egressControl])
      default: return .unknown(reason: "no extended config space in the input")
      }
    }
    for root in 0..<rootBusCount {
      let domain = String(hex(UInt32(root), width: 4))
      let unusable = Int.random(in: 0..<8, using: &random) == 0
      if !unusable {
        let (vendor, device) = hostBridgeChoices.randomElement(using: &random)!
        builder.hostBridge("\(domain):00:00.0", vendor: vendor, device: device)
      } else {
        // First device on the bus is an ordinary function at 00.1: pci_host_bridge_dev() gives up.
        builder.endpoint(at: "\(domain):00:00.1", vendor: 0x8086, deviceID: 0x1234, classCode: 0x088000, portType: nil)
      }
      if Bool.random(using: &random) {
        builder.endpoint(at: "\(domain):00:1f.0", deviceID: 0x0b25, acs: randomACS(&random))
      }
      for portSlot in 0..<rootPortsPerBus {
        let port = builder.rootPort("\(domain):00:\(hex(portSlot + 1, width: 2)).0", acs: randomACS(&random))
        builder.populate(
          below: port, depthLeft: maxSwitchDepth, maxDownstreamPorts: maxDownstreamPorts,
          maxFunctions: maxFunctionsPerEndpoint, random: &random, randomACS: randomACS)
      }
    }
    return builder.build(title: "synthetic seed \(seed)")
  }

  private mutating func populate(
    below port: BDF, depthLeft: Int, maxDownstreamPorts: Int, maxFunctions: Int, random: inout SeededGenerator,
    randomACS: (inout SeededGenerator) -> ACSState
  ) {
    // A switch needs one bus per port; never run a domain out of its 256 bus numbers.
    let busesLeft = 256 - (nextBus[port.domain] ?? firstFree)
    if depthLeft > 0 && busesLeft > maxDownstreamPorts + 1 && Int.random(in: 0..<3, using: &random) > 0 {
      let ports = pcieSwitch(
        below: port, downstreamPorts: Int.random(in: 1...maxDownstreamPorts, using: &random),
        upstreamACS: randomACS(&random), downstreamACS: randomACS(&random))
      for downstream in ports.downstream {
        populate(
          below: downstream, depthLeft: depthLeft - 1, maxDownstreamPorts: maxDownstreamPorts,
          maxFunctions: maxFunctions, random: &random, randomACS: randomACS)
      }
    } else {
      for function in 0..<Int.random(in: 1...maxFunctions, using: &random) {
        endpoint(below: port, function: UInt8(function), acs: randomACS(&random))
      }
    }
  }
}
