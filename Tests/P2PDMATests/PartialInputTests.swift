import Foundation
import PCITopology
import TestSupport
import Testing

@testable import P2PDMA

/// Partial inputs (the bridges above some bus are not in the input): the verdicts that depend on
/// the missing part are UNKNOWN with the reason, in the literal walk and the fast path alike, and
/// no function of a cut bus is taken for a host bridge.
@Suite struct PartialInputTests {
  static let realDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("shared/data/real")
  static let gpuSection = "server-gpu8-xeon-e5-4x-gtx1080ti-2x-pex8747_nvbugreport_lspci-d10de-v-xxx.txt"
  static let switchSection = "server-gpu8-xeon-e5-4x-gtx1080ti-2x-pex8747_nvbugreport_lspci-d10b5-v-xxx.txt"
  static var gpuCaptureAvailable: Bool {
    FileManager.default.fileExists(atPath: realDirectory.appendingPathComponent(gpuSection).path)
      && FileManager.default.fileExists(atPath: realDirectory.appendingPathComponent(switchSection).path)
  }

  /// The same functions as a dump would give them (only dumps are checked for missing upstream).
  static func asDump(_ functions: [PCIFunction]) -> Topology {
    Topology(functions: functions, source: TopologySource(kind: .hexDump, location: "cut.txt"))
  }

  /// Checks the fast path against the literal walk for every ordered pair of endpoints.
  static func expectFastPathAgrees(_ engine: P2PEngine, sourceLocation: SourceLocation = #_sourceLocation) {
    for provider in engine.endpointIndices {
      for client in engine.endpointIndices where client != provider {
        let slow = engine.verdict(providerIndex: provider, clientIndex: client, verbose: false)
        let fast = engine.mapTypeAndDistance(providerIndex: provider, clientIndex: client)
        #expect(
          fast.0 == slow.mapType && fast.1 == slow.distance,
          "\(slow.provider) -> \(slow.client): fast \(fast) literal \(slow.mapType) \(slow.distance)",
          sourceLocation: sourceLocation)
      }
    }
  }

  /// The switch pair with the root port and host bridge cut away: the switch's upstream port sits
  /// on what looks like a root bus.
  static func switchWithoutRootPort(providerPortACS: ACSState = .absent) -> (Topology, BDF, BDF) {
    let pair = Fixtures.switchPair(providerPortACS: providerPortACS)
    let kept = pair.topology.functions.filter { $0.bdf != pair.rootPort && !$0.isHostBridgeClass }
    return (asDump(kept), pair.provider, pair.client)
  }

  @Test func sharedSwitchStaysBusAddressWithoutItsRootPort() throws {
    let (topology, provider, client) = Self.switchWithoutRootPort()
    #expect(topology.partialInput.buses.map(\.bus) == [BusID(domain: 0, bus: 1)])
    #expect(topology.partialInput.buses[0].evidence.contains("0000:01:00.0 is a PCIe Upstream Port"))
    let engine = P2PEngine(topology: topology, configuration: P2PConfiguration(inferringFrom: topology))
    let verdict = try engine.verdict(provider: provider, client: client)
    // The walk stops at the switch's upstream port, which is in the input.
    #expect(verdict.mapType == .busAddress)
    #expect(verdict.distance == 4)
    Self.expectFastPathAgrees(engine)
  }

  @Test func redirectThroughAMissingHostBridgeIsUnknown() throws {
    let (topology, provider, client) = Self.switchWithoutRootPort(
      providerPortACS: TopologyBuilder.acs(control: [.requestRedirect, .completionRedirect]))
    let inferred = P2PConfiguration(inferringFrom: topology)
    #expect(inferred.cpuSource.hasPrefix("not known: the input holds no host bridge"))
    let engine = P2PEngine(topology: topology, configuration: inferred)
    let verdict = try engine.verdict(provider: provider, client: client)
    #expect(verdict.mapType == .unknown)
    #expect(verdict.distance == -1)
    #expect(
      verdict.reason.hasPrefix("UNKNOWN: ACS redirect sends 0000:03:00.0 -> 0000:04:00.0 through the host bridge"))
    #expect(verdict.reason.contains("the bridges above 0000:01 are not in the input"))
    #expect(verdict.dmesg.isEmpty)
    Self.expectFastPathAgrees(engine)
    // On AMD Zen every host-bridge path is allowed, so the missing host bridge does not matter.
    let zen = P2PEngine(topology: topology, configuration: P2PConfiguration(inferringFrom: topology, cpu: .amdZen))
    let allowed = try zen.verdict(provider: provider, client: client)
    #expect(allowed.mapType == .thruHostBridge)
    #expect(allowed.distance == 4)
    Self.expectFastPathAgrees(zen)
  }

  @Test func endpointsWithoutTheirSwitchAreUnknownAndNoneIsAHostBridge() throws {
    let pair = Fixtures.switchPair()
    let kept = pair.topology.functions.filter { !$0.isBridge && !$0.isHostBridgeClass }
    let topology = Self.asDump(kept)
    #expect(topology.partialInput.buses.map(\.bus.bus) == [3, 4])
    #expect(topology.warnings.filter { $0.message.hasPrefix("partial input: ") }.count == 1)
    let configuration = P2PConfiguration(inferringFrom: topology)
    #expect(!configuration.cpuSource.contains("1002:744c"), "an endpoint was taken for the host bridge")
    for cpu in [CPURule.amdZen, .intel, .other] {
      let engine = P2PEngine(topology: topology, configuration: P2PConfiguration(inferringFrom: topology, cpu: cpu))
      let verdict = try engine.verdict(provider: pair.provider, client: pair.client)
      #expect(verdict.mapType == .unknown, "cpu \(cpu)")
      #expect(verdict.reason.contains("the bridges above 0000:03 and 0000:04 are not in the input"))
      #expect(verdict.fix?.contains("lspci -t") == true)
      Self.expectFastPathAgrees(engine)
      #expect(engine.summary().unknown == 2)
      #expect(engine.summary().pairCount == 2)
    }
  }

  @Test func aCutBusNextToACompleteMachine() throws {
    let pair = Fixtures.rootPortPair()
    var functions = pair.topology.functions
    let stray = BDF(domain: 0, bus: 0x40, device: 0, function: 0)
    functions.append(
      PCIFunction(bdf: stray, vendorID: 0x10de, deviceID: 0x1b06, classCode: 0x030000, portType: .legacyEndpoint))
    let topology = Self.asDump(functions)
    #expect(topology.partialInput.buses.map(\.bus) == [BusID(domain: 0, bus: 0x40)])
    let configuration = P2PConfiguration(inferringFrom: topology)
    #expect(configuration.cpu == .intel)
    #expect(configuration.cpuSource.contains("0000:00:00.0"))
    let engine = P2PEngine(topology: topology, configuration: configuration)
    // The complete part is answered as before; pairs with the stray GPU are not.
    let known = try engine.verdict(provider: pair.provider, client: pair.client)
    #expect(known.mapType != .unknown)
    let withStray = try engine.verdict(provider: pair.provider, client: stray)
    #expect(withStray.mapType == .unknown)
    #expect(withStray.reason.contains("the bridges above 0000:40 are not in the input"))
    Self.expectFastPathAgrees(engine)
  }

  @Test func busInsideABridgeRangeIsCut() {
    var builder = TopologyBuilder()
    builder.hostBridge()
    let port = builder.rootPort("0000:00:01.0")
    builder.pcieSwitch(below: port, downstreamPorts: 2)
    let built = builder.build()
    // Keep the root port (its range covers the switch's buses) and the endpoints' absence aside:
    // drop the switch, add a GPU on bus 03.
    var functions = built.functions.filter { $0.bdf.bus == 0 }
    functions.append(
      PCIFunction(
        bdf: BDF(domain: 0, bus: 3, device: 0, function: 0), vendorID: 0x10de, deviceID: 0x1b06, classCode: 0x030000))
    let topology = Self.asDump(functions)
    #expect(topology.partialInput.buses.map(\.bus) == [BusID(domain: 0, bus: 3)])
    #expect(topology.partialInput.buses[0].evidence.contains("inside the bus range of bridge 0000:00:01.0"))
  }

  @Test func endpointsOnBusZeroAreAVirtualMachineNotACut() {
    // Cloud VMs put GPUs with an Express Endpoint capability on bus 00 with no host bridge.
    let gpu = PCIFunction(
      bdf: BDF(domain: 1, bus: 0, device: 0, function: 0), vendorID: 0x10de, deviceID: 0x2330, classCode: 0x030200,
      portType: .endpoint)
    #expect(Self.asDump([gpu]).partialInput.isEmpty)
  }

  @Test func scenariosAndGeneratedMachinesAreNotChecked() {
    let pair = Fixtures.switchPair()
    let kept = pair.topology.functions.filter { !$0.isBridge && !$0.isHostBridgeClass }
    let generated = Topology(functions: kept, source: TopologySource(kind: .generated, location: "g"))
    #expect(generated.partialInput.isEmpty)
  }

  // MARK: - The nvidia-bug-report sections

  @Test(.enabled(if: gpuCaptureAvailable, "../shared/data/real not found"))
  func gpuSectionAloneIsUnknownWithTheReason() throws {
    let topology = try TopologyLoader.load(spec: Self.realDirectory.appendingPathComponent(Self.gpuSection).path)
    let configuration = P2PConfiguration(inferringFrom: topology)
    #expect(!configuration.cpuSource.contains("10de:1b06"), "a GPU was taken for the host bridge")
    let engine = P2PEngine(topology: topology, configuration: configuration)
    let verdict = try engine.verdict(provider: BDF("04:00.0")!, client: BDF("05:00.0")!)
    #expect(verdict.mapType == .unknown)
    #expect(
      verdict.reason.hasPrefix(
        "UNKNOWN: the bridges above 0000:04 and 0000:05 are not in the input — it looks filtered with -d"))
    #expect(verdict.reason.contains("add `lspci -t` or a full dump"))
    let summary = engine.summary()
    #expect(summary.unknown == 56)
    #expect(summary.pairCount == 56)
    Self.expectFastPathAgrees(engine)
  }

  @Test(.enabled(if: gpuCaptureAvailable, "../shared/data/real not found"))
  func withTheSwitchSectionTheSharedSwitchIsBusAddress() throws {
    let data = try [Self.gpuSection, Self.switchSection].map {
      try Data(contentsOf: Self.realDirectory.appendingPathComponent($0))
    }
    let topology = try TopologyLoader.load(data: data[0] + Data("\n".utf8) + data[1], path: "both.txt")
    let engine = P2PEngine(topology: topology, configuration: P2PConfiguration(inferringFrom: topology))
    let sameSwitch = try engine.verdict(provider: BDF("04:00.0")!, client: BDF("05:00.0")!)
    #expect(sameSwitch.mapType == .busAddress)
    #expect(sameSwitch.distance == 4)
    // The two switches meet only above their upstream ports, which the input lacks.
    let otherSwitch = try engine.verdict(provider: BDF("04:00.0")!, client: BDF("08:00.0")!)
    #expect(otherSwitch.mapType == .unknown)
    #expect(otherSwitch.reason.contains("the bridges above 0000:02 and 0000:06 are not in the input"))
    Self.expectFastPathAgrees(engine)
  }

  /// With the switch section and the tree of the same machine (one input each), every GPU pair
  /// gets what the full tree implies: BUS_ADDR 4 under one PEX 8747, the host-bridge gate across.
  @Test(.enabled(if: gpuCaptureAvailable, "../shared/data/real not found"))
  func mergedSectionsAnswerLikeTheFullTree() throws {
    let names = [
      Self.gpuSection, Self.switchSection, "server-gpu8-xeon-e5-4x-gtx1080ti-2x-pex8747_nvbugreport_lspci-t.txt",
      "server-gpu8-xeon-e5-4x-gtx1080ti-2x-pex8747_nvbugreport_lspci-nn.txt",
    ]
    let topology = try TopologyMerger.load(paths: names.map { Self.realDirectory.appendingPathComponent($0).path })
    #expect(topology.partialInput.isEmpty)
    let configuration = P2PConfiguration(inferringFrom: topology)
    #expect(configuration.cpu == .intel)
    let engine = P2PEngine(topology: topology, configuration: configuration)
    let gpus = ["04:00.0", "05:00.0", "08:00.0", "09:00.0"].map { BDF($0)! }
    for provider in gpus {
      for client in gpus where client != provider {
        let verdict = try engine.verdict(provider: provider, client: client)
        let sameSwitch = (provider.bus <= 5) == (client.bus <= 5)
        if sameSwitch {
          #expect(verdict.mapType == .busAddress && verdict.distance == 4, "\(provider) -> \(client)")
        } else {
          // Root ports 00:02.0 and 00:03.0 meet at host bridge 8086:6f00, which is not allowlisted.
          #expect(verdict.mapType == .notSupported, "\(provider) -> \(client)")
          #expect(verdict.pathDistance == 8)
        }
      }
    }
    Self.expectFastPathAgrees(engine)
  }

  /// A tree without `-nn` (and no pci.ids) leaves the host bridge's IDs unknown: the CPU rule is
  /// not inferred from 0000:0000 and the allowlist lookup is UNKNOWN, unless the CPU allows all.
  @Test func hostBridgeWithoutIDsMakesTheGateUnknown() throws {
    let pair = Fixtures.rootPortPair()
    let functions = pair.topology.functions.map { function -> PCIFunction in
      var function = function
      if function.isHostBridgeClass {
        function.vendorID = 0
        function.deviceID = 0
      }
      return function
    }
    let topology = Topology(functions: functions, source: TopologySource(kind: .lspciTree, location: "t.txt"))
    let configuration = P2PConfiguration(inferringFrom: topology)
    #expect(
      configuration.cpuSource.hasPrefix("not known: the host bridge's vendor and device IDs are not in the input"))
    let engine = P2PEngine(topology: topology, configuration: configuration)
    let verdict = try engine.verdict(provider: pair.provider, client: pair.client)
    #expect(verdict.mapType == .unknown)
    #expect(
      verdict.reason.contains("the vendor and device IDs of its host-bridge device 0000:00:00.0 are not in the input"))
    Self.expectFastPathAgrees(engine)
    let zen = P2PEngine(topology: topology, configuration: P2PConfiguration(inferringFrom: topology, cpu: .amdZen))
    #expect(try zen.verdict(provider: pair.provider, client: pair.client).mapType == .thruHostBridge)
    Self.expectFastPathAgrees(zen)
  }
}
