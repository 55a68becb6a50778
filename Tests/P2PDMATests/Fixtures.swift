import PCITopology
import TestSupport

@testable import P2PDMA

/// Hand-built machines shared by the P2PDMA tests.
enum Fixtures {
  static func bdf(_ text: String) -> BDF { TopologyBuilder.bdf(text) }

  /// One PCIe switch below root port 00:01.0, two endpoints on two downstream ports.
  ///
  /// ```
  /// 00:00.0 host bridge (hostVendor:hostDevice)
  /// 00:01.0 root port ─ 01:00.0 switch upstream ┬ 02:00.0 downstream ─ 03:00.0 provider
  ///                                              └ 02:01.0 downstream ─ 04:00.0 client
  /// ```
  struct SwitchPair {
    var topology: Topology
    let provider = bdf("0000:03:00.0")
    let client = bdf("0000:04:00.0")
    let rootPort = bdf("0000:00:01.0")
    let upstream = bdf("0000:01:00.0")
    let providerPort = bdf("0000:02:00.0")
    let clientPort = bdf("0000:02:01.0")
  }

  static func switchPair(
    hostVendor: UInt16 = 0x8086, hostDevice: UInt16 = 0x4c43, rootPortACS: ACSState = .absent,
    upstreamACS: ACSState = .absent, providerPortACS: ACSState = .absent, clientPortACS: ACSState = .absent,
    providerACS: ACSState = .absent, clientACS: ACSState = .absent, platform: PlatformInfo = PlatformInfo()
  ) -> SwitchPair {
    var builder = TopologyBuilder(platform: platform)
    builder.hostBridge(vendor: hostVendor, device: hostDevice)
    let port = builder.rootPort("0000:00:01.0", acs: rootPortACS)
    let upstream = builder.bridge(below: port, portType: .upstreamPort, acs: upstreamACS)
    let downstreamA = builder.bridge(below: upstream, device: 0, portType: .downstreamPort, acs: providerPortACS)
    let downstreamB = builder.bridge(below: upstream, device: 1, portType: .downstreamPort, acs: clientPortACS)
    builder.endpoint(below: downstreamA, acs: providerACS)
    builder.endpoint(below: downstreamB, acs: clientACS)
    return SwitchPair(topology: builder.build())
  }

  /// Two endpoints each directly on its own root port of one host bridge.
  ///
  /// ```
  /// 00:00.0 host bridge   00:01.0 root port ─ 01:00.0 provider
  ///                       00:01.1 root port ─ 02:00.0 client
  /// ```
  struct RootPortPair {
    var topology: Topology
    let provider = bdf("0000:01:00.0")
    let client = bdf("0000:02:00.0")
  }

  static func rootPortPair(
    hostVendor: UInt16 = 0x8086, hostDevice: UInt16 = 0x4c43, portACS: ACSState = .absent,
    platform: PlatformInfo = PlatformInfo()
  ) -> RootPortPair {
    var builder = TopologyBuilder(platform: platform)
    builder.hostBridge(vendor: hostVendor, device: hostDevice)
    let portA = builder.rootPort("0000:00:01.0", acs: portACS)
    let portB = builder.rootPort("0000:00:01.1", acs: portACS)
    builder.endpoint(below: portA)
    builder.endpoint(below: portB)
    return RootPortPair(topology: builder.build())
  }

  /// Two host bridges (root buses 0000:00 and 0000:80), one endpoint below a root port of each.
  ///
  /// ```
  /// 00:00.0 host bridge A   00:01.0 root port ─ 01:00.0 provider
  /// 80:00.0 host bridge B   80:01.0 root port ─ 02:00.0 client
  /// ```
  struct TwoHostBridges {
    var topology: Topology
    let provider = bdf("0000:01:00.0")
    let client = bdf("0000:02:00.0")
  }

  static func twoHostBridges(
    hostA: (UInt16, UInt16), hostB: (UInt16, UInt16), portACS: ACSState = .absent,
    platform: PlatformInfo = PlatformInfo()
  ) -> TwoHostBridges {
    var builder = TopologyBuilder(platform: platform)
    builder.hostBridge("0000:00:00.0", vendor: hostA.0, device: hostA.1)
    builder.hostBridge("0000:80:00.0", vendor: hostB.0, device: hostB.1)
    let portA = builder.rootPort("0000:00:01.0", acs: portACS)
    let portB = builder.rootPort("0000:80:01.0", acs: portACS)
    builder.endpoint(below: portA)
    builder.endpoint(below: portB)
    return TwoHostBridges(topology: builder.build())
  }

  /// intel/compute-runtime#935: two Arc Pro (Battlemage) cards behind one PLX switch on a host
  /// whose host bridge is 8086:4c43. Each card carries its own switch (upstream + downstream
  /// port) in front of the GPU, which is why the kernel reports distance 8, not 4.
  ///
  /// ```
  /// 00:00.0 host bridge 8086:4c43
  /// 00:01.0 root port ─ 01:00.0 PLX up ┬ 02:00.0 PLX down ─ 03:00.0 card up ─ 05:00.0 card down ─ 07:00.0 GPU (xe)
  ///                                     └ 02:01.0 PLX down ─ 04:00.0 card up ─ 06:00.0 card down ─ 08:00.0 GPU (xe)
  /// ```
  struct ComputeRuntime935 {
    var topology: Topology
    let gpuA = bdf("0000:07:00.0")
    let gpuB = bdf("0000:08:00.0")
    let plxDownA = bdf("0000:02:00.0")
    let plxDownB = bdf("0000:02:01.0")
  }

  static func computeRuntime935(plxRedirect: Bool) -> ComputeRuntime935 {
    var builder = TopologyBuilder()
    builder.hostBridge(vendor: 0x8086, device: 0x4c43)
    let port = builder.rootPort("0000:00:01.0", vendor: 0x8086, device: 0x4c01)
    let plxACS = plxRedirect ? TopologyBuilder.acsRedirecting : TopologyBuilder.acsAllOff
    let plx = builder.pcieSwitch(below: port, downstreamPorts: 2, downstreamACS: plxACS)
    // Create both card upstream ports first so the bus numbers come out as in the sketch.
    let cardUpA = builder.bridge(below: plx.downstream[0], portType: .upstreamPort, vendor: 0x8086, deviceID: 0xe2ff)
    let cardUpB = builder.bridge(below: plx.downstream[1], portType: .upstreamPort, vendor: 0x8086, deviceID: 0xe2ff)
    let cardDownA = builder.bridge(below: cardUpA, portType: .downstreamPort, vendor: 0x8086, deviceID: 0xe2f0)
    builder.endpoint(below: cardDownA, vendor: 0x8086, deviceID: 0xe223, driver: "xe", name: "Arc Pro (Battlemage)")
    let cardDownB = builder.bridge(below: cardUpB, portType: .downstreamPort, vendor: 0x8086, deviceID: 0xe2f0)
    builder.endpoint(below: cardDownB, vendor: 0x8086, deviceID: 0xe223, driver: "xe", name: "Arc Pro (Battlemage)")
    return ComputeRuntime935(topology: builder.build(title: "intel/compute-runtime#935"))
  }

  /// Configuration with a fixed CPU rule (tests never depend on inference unless they say so).
  static func config(
    _ cpu: CPURule = .intel, disable: [BDF] = [], overrides: [BDF: ACSBits] = [:], queued: Bool = true
  ) -> P2PConfiguration {
    P2PConfiguration(
      cpu: cpu, disableACSRedirect: disable, acsControlOverrides: overrides, allowlistIncludesQueuedEntries: queued)
  }

  static func engine(
    _ topology: Topology, _ cpu: CPURule = .intel, disable: [BDF] = [], overrides: [BDF: ACSBits] = [:]
  )
    -> P2PEngine
  {
    P2PEngine(topology: topology, configuration: config(cpu, disable: disable, overrides: overrides))
  }
}
