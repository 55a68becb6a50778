import PCITopology
import TestSupport
import Testing

@testable import P2PDMA

/// Independent audit: a second, literal reading of kernel-model §1.2–§1.7, written only from the
/// spec text and the topology relations (`pci_upstream_bridge`, the root bus device list), and
/// compared with `verdict`, `mapTypeAndDistance`, `summary` and `distanceMany` on adversarial
/// machines.
struct SpecReference {
  let topology: Topology
  /// `cpu_supports_p2pdma()`.
  let amdZen: Bool
  /// Zhaoxin rows (queued after v7.3-rc1) in the table.
  let includeQueued: Bool
  /// `pci_std_enable_acs()` what-if: SV|RR|CR|UF where the capability has them.
  let kernelACSEnable: Bool
  /// What-if ACS Control values (replace the register), then `pci=disable_acs_redir=` (§1.9:
  /// clears RR, CR and EC on the listed devices).
  var overrides: [BDF: UInt16] = [:]
  var disabled: Set<BDF> = []

  /// §1.4 table, literally, in order: vendor, device (nil = PCI_ANY_ID), REQ_SAME_HOST_BRIDGE, queued.
  static let table: [(UInt16, UInt16?, Bool, Bool)] =
    [
      (0x8086, 0x3c00, true, false), (0x8086, 0x3c01, true, false), (0x8086, 0x2f00, true, false),
      (0x8086, 0x2f01, true, false), (0x8086, 0x2030, false, false), (0x8086, 0x2031, false, false),
      (0x8086, 0x2032, false, false), (0x8086, 0x2033, false, false), (0x8086, 0x2020, false, false),
      (0x8086, 0x09a2, false, false), (0x8086, 0x0b25, false, false), (0x8086, 0x0cfe, false, false),
      (0x8086, 0x11fb, false, false), (0x8086, 0x1212, false, false), (0x8086, 0x1216, false, false),
      (0x8086, 0x4940, false, false), (0x8086, 0x4942, false, false), (0x8086, 0x4944, false, false),
      (0x8086, 0x4946, false, false), (0x8086, 0x4948, false, false), (0x1ae0, nil, false, false),
      (0x10de, 0x2f95, false, false), (0x10de, 0x2f96, false, false), (0x10de, 0x2f97, false, false),
      (0x10de, 0x2f98, false, false), (0x1d17, 0x1003, true, true), (0x1d17, 0x1005, true, true),
      (0x1d17, 0x1006, true, true), (0x1d17, 0x1007, true, true), (0x1d17, 0x1008, false, true),
    ]

  struct Answer: Equatable, CustomStringConvertible {
    var mapType: MapType
    /// `pci_p2pdma_distance()`: -1 only for NOT_SUPPORTED.
    var distance: Int
    /// `*dist` as calc_map_type_and_dist leaves it.
    var pathDistance: Int
    var acsList: [BDF]
    var dmesg: [String]
    var description: String { "\(mapType.shortName) \(distance)/\(pathDistance) acs=\(acsList) dmesg=\(dmesg)" }
  }

  func up(_ index: Int) -> Int? { topology.upstreamBridge(of: index) }

  /// `pci_bridge_has_acs_redir()`: RR 0x04 | CR 0x08 | EC 0x20 in ACS Control, any device type.
  func redirects(_ index: Int) -> Bool {
    let bdf = topology[index].bdf
    var value: UInt16 = 0
    if case .present(let capability, let control) = topology[index].acs {
      value = control.rawValue
      if kernelACSEnable { value |= capability.rawValue & 0x001d }
    }
    if let override = overrides[bdf] { value = override }
    if disabled.contains(bdf) { value &= ~0x002c }
    return value & 0x002c != 0
  }

  func prefix(_ index: Int) -> String { "\(topology[index].driver ?? "pci") \(topology[index].bdf): " }

  /// `pci_host_bridge_dev()`: first device of the root bus list; devfn 00.0 or a root port, else nil.
  func hostBridgeDevice(_ bus: BusID) -> Int? {
    guard let first = topology.functions(onBus: bus).first else { return nil }
    let function = topology[first]
    return function.bdf.device == 0 && function.bdf.function == 0 || function.portType == .rootPort ? first : nil
  }

  /// `__host_bridge_whitelist()`.
  func lookup(_ bus: BusID, same: Bool, warn: Bool) -> (Bool, [String]) {
    guard let device = hostBridgeDevice(bus) else { return (false, []) }
    let function = topology[device]
    for (vendor, id, sameOnly, queued) in Self.table where includeQueued || !queued {
      guard vendor == function.vendorID, id == nil || id == function.deviceID else { continue }
      return (!(sameOnly && !same), [])
    }
    let ids = format4(function.vendorID) + ":" + format4(function.deviceID)
    return (false, warn ? [prefix(device) + "Host bridge not in P2PDMA whitelist: " + ids] : [])
  }

  /// `host_bridge_whitelist(a, b, warn)` with its short-circuit.
  func hostBridgeAllowed(_ provider: Int, _ client: Int, warn: Bool) -> (Bool, [String]) {
    let busA = topology.rootBus(of: provider)
    let busB = topology.rootBus(of: client)
    if busA == busB { return lookup(busA, same: true, warn: warn) }
    let first = lookup(busA, same: false, warn: warn)
    guard first.0 else { return first }
    let second = lookup(busB, same: false, warn: warn)
    return (second.0, first.1 + second.1)
  }

  /// `calc_map_type_and_dist()` read step by step from §1.2.
  func calc(_ provider: Int, _ client: Int, verbose: Bool) -> Answer {
    var acs: [Int] = []
    var distA = 0
    var distB = 0
    var a: Int? = provider
    var common: Int?
    outer: while let current = a {
      distB = 0
      if redirects(current) { acs.append(current) }
      var bb: Int? = client
      while let b = bb {
        if b == current {
          common = current
          break outer
        }
        bb = up(b)
        distB += 1
      }
      a = up(current)
      distA += 1
    }
    let dist = distA + distB
    var dmesg: [String] = []
    var acsRedirects = false
    if let common {
      var bb: Int? = client
      while let b = bb, b != common {
        if redirects(b) { acs.append(b) }
        bb = up(b)
      }
      if acs.isEmpty { return Answer(mapType: .busAddress, distance: dist, pathDistance: dist, acsList: [], dmesg: []) }
      if verbose {
        let full = acs.map { "\(topology[$0].bdf);" }.joined()
        let shown = full.utf8.count < 128 ? String(full.dropLast()) : String(full.prefix(127))
        dmesg.append(prefix(client) + "ACS redirect is set between the client and provider (\(topology[provider].bdf))")
        dmesg.append(
          prefix(client) + "to disable ACS redirect for this path, add the kernel parameter: pci=disable_acs_redir="
            + shown)
      }
      acsRedirects = true
    } else {
      acs = []
    }
    var mapType = MapType.thruHostBridge
    if !amdZen {
      let (allowed, lines) = hostBridgeAllowed(provider, client, warn: acsRedirects)
      dmesg += lines
      if !allowed {
        mapType = .notSupported
        if verbose {
          dmesg.append(
            prefix(client) + "cannot be used for peer-to-peer DMA as the client and provider "
              + "(\(topology[provider].bdf)) do not share an upstream bridge or whitelisted host bridge")
        }
      }
    }
    return Answer(
      mapType: mapType, distance: mapType == .notSupported ? -1 : dist, pathDistance: dist,
      acsList: acs.map { topology[$0].bdf }, dmesg: dmesg)
  }

  /// `pci_p2pdma_distance_many()` (§1.7) over PCI clients.
  func distanceMany(_ provider: Int, _ clients: [Int], verbose: Bool) -> (Int, [String]) {
    if clients.isEmpty { return (-1, []) }
    var total = 0
    var notSupported = false
    var dmesg: [String] = []
    for client in clients {
      let answer = calc(provider, client, verbose: verbose)
      dmesg += answer.dmesg
      if answer.mapType == .notSupported { notSupported = true }
      if notSupported && !verbose { break }
      total += answer.pathDistance
    }
    return (notSupported ? -1 : total, dmesg)
  }
}

/// `%04x`.
private func format4(_ value: UInt16) -> String {
  let digits = String(value, radix: 16)
  return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}

/// Machines built to hit the corners §1.2–§1.4 name: several root buses in one domain and in
/// another, root buses whose first device is a root port at a devfn other than 00.0, an
/// allowlisted ID that is not first or not 00.0, endpoints and multi-function devices with ACS,
/// RCiEPs on root buses, conventional PCI bridges, ACS above a common switch.
enum AdversarialMachines {
  static let acsChoices: [ACSState] = [
    .absent, .absent, TopologyBuilder.acsAllOff, TopologyBuilder.acsRedirecting,
    TopologyBuilder.acs(control: [.egressControl]), TopologyBuilder.acs(control: [.requestRedirect]),
    TopologyBuilder.acs(control: [.completionRedirect]),
    TopologyBuilder.acs(control: [.sourceValidation, .translationBlocking, .upstreamForwarding, .directTranslated]),
    .present(capability: [.sourceValidation, .requestRedirect], control: []),
    .unknown(reason: "no extended config space"),
  ]

  static func acs(_ random: inout SeededGenerator) -> ACSState { acsChoices.randomElement(using: &random)! }

  static func machine(seed: UInt64) -> Topology {
    var random = SeededGenerator(seed: seed &* 0x9e37_79b9_7f4a_7c15 &+ 1)
    var builder = TopologyBuilder()
    // Root buses: three in domain 0, one in domain 1.
    let roots = ["0000:00", "0000:c0", "0000:e0", "0001:00"]
    for root in roots {
      var ports: [BDF] = []
      switch Int.random(in: 0..<7, using: &random) {
      case 0:  // classic host bridge at 00.0, allowlisted or not
        let ids: [(UInt16, UInt16)] = [
          (0x8086, 0x09a2), (0x8086, 0x2f00), (0x8086, 0x4c43), (0x1d17, 0x1003), (0x1d17, 0x1008),
          (0x1ae0, 0x1234), (0x10de, 0x2f97), (0x8086, 0x6f00), (0x1022, 0x14d8),
        ]
        let (vendor, device) = ids.randomElement(using: &random)!
        builder.hostBridge("\(root):00.0", vendor: vendor, device: device)
      case 1:  // Skylake style: no 00.0, the first device is a root port (listed ID or not)
        let id: UInt16 = Bool.random(using: &random) ? 0x2031 : 0x4c01
        ports.append(builder.rootPort("\(root):02.0", acs: acs(&random), vendor: 0x8086, device: id))
      case 2:  // allowlisted accelerator ID, but first device at 00.1 and not a root port: NULL
        builder.endpoint(at: "\(root):00.1", vendor: 0x8086, deviceID: 0x0b25, acs: acs(&random))
      case 3:  // allowlisted accelerator as an RCiEP at 00.0: accepted (devfn 00.0)
        builder.endpoint(at: "\(root):00.0", vendor: 0x8086, deviceID: 0x0b25, acs: acs(&random))
      case 4:  // REQ_SAME_HOST_BRIDGE root port ID first at 01.0 (root port, so accepted)
        ports.append(builder.rootPort("\(root):01.0", acs: acs(&random), vendor: 0x8086, device: 0x3c01))
      case 5:  // unlisted root port first, then an allowlisted host-bridge ID later on the bus
        ports.append(builder.rootPort("\(root):01.0", acs: acs(&random), vendor: 0x8086, device: 0x4c01))
        builder.hostBridge("\(root):05.0", vendor: 0x8086, device: 0x09a2)
      default:  // host bridge 00.0 with ACS itself (host bridges rarely have it; the kernel does not care)
        builder.add(
          PCIFunction(
            bdf: TopologyBuilder.bdf("\(root):00.0"), vendorID: 0x8086, deviceID: 0x09a2, classCode: 0x060000,
            acs: acs(&random)))
      }
      for slot in 0..<Int.random(in: 1...2, using: &random) {
        let bdf = "\(root):1\(slot).0"
        ports.append(builder.rootPort(bdf, acs: acs(&random), vendor: 0x8086, device: 0x4c01))
      }
      // RCiEPs, possibly multi-function, with ACS of their own.
      if Bool.random(using: &random) {
        for function in 0..<Int.random(in: 1...3, using: &random) {
          builder.endpoint(at: "\(root):1f.\(function)", vendor: 0x8086, deviceID: 0x1234, acs: acs(&random))
        }
      }
      for port in ports { populate(&builder, below: port, depth: 2, random: &random) }
    }
    return builder.build(title: "adversarial seed \(seed)")
  }

  static func populate(_ builder: inout TopologyBuilder, below port: BDF, depth: Int, random: inout SeededGenerator) {
    switch Int.random(in: 0..<4, using: &random) {
    case 0 where depth > 0:
      // Switch with ACS on the upstream and downstream ports.
      let ports = builder.pcieSwitch(
        below: port, downstreamPorts: Int.random(in: 1...2, using: &random), upstreamACS: acs(&random),
        downstreamACS: acs(&random))
      for downstream in ports.downstream { populate(&builder, below: downstream, depth: depth - 1, random: &random) }
    case 1 where depth > 0:
      // Conventional PCI bridge (no PCIe port type) with devices behind it.
      let bridge = builder.bridge(below: port, portType: nil, acs: acs(&random), vendor: 0x104c, deviceID: 0x8240)
      populate(&builder, below: bridge, depth: depth - 1, random: &random)
    default:
      // Multi-function endpoint, each function with its own ACS.
      for function in 0..<Int.random(in: 1...3, using: &random) {
        builder.endpoint(below: port, function: UInt8(function), acs: acs(&random))
      }
    }
  }
}

@Suite struct SpecAuditReferenceTests {
  static func references(_ topology: Topology) -> [(P2PConfiguration, SpecReference)] {
    // What-ifs on a deterministic handful of devices: overrides (some on devices without a
    // readable capability) and disable_acs_redir (some overlapping the overrides).
    let picks = stride(from: 0, to: topology.count, by: 5).map { topology[$0].bdf }
    var overrides: [BDF: ACSBits] = [:]
    for (position, bdf) in picks.enumerated() where position % 2 == 0 {
      overrides[bdf] =
        [[.requestRedirect], [], [.egressControl, .sourceValidation], [.upstreamForwarding]][position / 2 % 4]
    }
    let disabled = picks.enumerated().filter { $0.offset % 3 == 0 }.map(\.element)
    var whatIf = SpecReference(topology: topology, amdZen: false, includeQueued: true, kernelACSEnable: true)
    whatIf.overrides = overrides.mapValues(\.rawValue)
    whatIf.disabled = Set(disabled)
    return [
      (
        P2PConfiguration(
          cpu: .intel, disableACSRedirect: disabled, acsControlOverrides: overrides, simulateKernelACSEnable: true),
        whatIf
      ),
      (
        P2PConfiguration(cpu: .intel),
        SpecReference(topology: topology, amdZen: false, includeQueued: true, kernelACSEnable: false)
      ),
      (
        P2PConfiguration(cpu: .other, allowlistIncludesQueuedEntries: false),
        SpecReference(topology: topology, amdZen: false, includeQueued: false, kernelACSEnable: false)
      ),
      (
        P2PConfiguration(cpu: .amdZen),
        SpecReference(topology: topology, amdZen: true, includeQueued: true, kernelACSEnable: false)
      ),
      (
        P2PConfiguration(cpu: .intel, simulateKernelACSEnable: true),
        SpecReference(topology: topology, amdZen: false, includeQueued: true, kernelACSEnable: true)
      ),
    ]
  }

  @Test func adversarialMachinesAreWellFormed() {
    for seed: UInt64 in 1...40 {
      let topology = AdversarialMachines.machine(seed: seed)
      #expect(topology.warnings.isEmpty, "seed \(seed): \(topology.warnings)")
      #expect(topology.rootBuses.count == 4, "seed \(seed)")
    }
  }

  /// Every ordered pair (self pairs included), verbose and not: map type, both distances, the
  /// ACS list and the exact dmesg lines; then the fast path and the summary.
  @Test(arguments: Array(UInt64(1)...24))
  func verdictFastPathAndSummaryEqualTheSpecReading(seed: UInt64) {
    let topology = AdversarialMachines.machine(seed: seed)
    for (configuration, reference) in Self.references(topology) {
      let engine = P2PEngine(topology: topology, configuration: configuration)
      var expected = MatrixSummary(endpointCount: engine.endpointIndices.count, includesSelfPairs: true)
      let endpoints = Set(engine.endpointIndices)
      for provider in 0..<topology.count {
        for client in 0..<topology.count {
          let label = "seed \(seed) \(configuration.cpu) \(topology[provider].bdf) -> \(topology[client].bdf)"
          for verbose in [false, true] {
            let want = reference.calc(provider, client, verbose: verbose)
            let got = engine.verdict(providerIndex: provider, clientIndex: client, verbose: verbose)
            let seen = SpecReference.Answer(
              mapType: got.mapType, distance: got.distance, pathDistance: got.pathDistance,
              acsList: got.acsRedirect, dmesg: got.dmesg)
            #expect(seen == want, "\(label) verbose \(verbose)")
          }
          let want = reference.calc(provider, client, verbose: false)
          let (fastType, fastDistance) = engine.mapTypeAndDistance(providerIndex: provider, clientIndex: client)
          #expect(fastType == want.mapType && fastDistance == want.distance, "fast path \(label)")
          if endpoints.contains(provider) && endpoints.contains(client) {
            switch want.mapType {
            case .busAddress: expected.busAddress += 1
            case .thruHostBridge: expected.thruHostBridge += 1
            default: expected.notSupported += 1
            }
          }
        }
      }
      #expect(engine.summary(includeSelfPairs: true) == expected, "summary seed \(seed) \(configuration.cpu)")
    }
  }

  @Test(arguments: Array(UInt64(1)...8))
  func distanceManyEqualsTheSpecReading(seed: UInt64) throws {
    let topology = AdversarialMachines.machine(seed: seed)
    var random = SeededGenerator(seed: seed &+ 99)
    for (configuration, reference) in Self.references(topology).prefix(2) {
      let engine = P2PEngine(topology: topology, configuration: configuration)
      for _ in 0..<60 {
        let provider = Int.random(in: 0..<topology.count, using: &random)
        let clients = (0..<Int.random(in: 0...4, using: &random)).map { _ in
          Int.random(in: 0..<topology.count, using: &random)
        }
        for verbose in [false, true] {
          let want = reference.distanceMany(provider, clients, verbose: verbose)
          let got = try engine.distanceMany(
            provider: topology[provider].bdf, clients: clients.map { topology[$0].bdf }, verbose: verbose)
          #expect(got.distance == want.0 && got.dmesg == want.1, "seed \(seed) provider \(topology[provider].bdf)")
        }
      }
    }
  }
}
