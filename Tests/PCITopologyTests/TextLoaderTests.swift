import Foundation
import PCITopology
import Testing

/// The `lspci -vvv` text loader (no hex): real captures and small hand-written listings.
@Suite struct TextLoaderTests {
  @Test func dellP100() throws {
    guard let topology = try RealCaptures.load("server-dell-2s-xeon-e5v4-2x-tesla-p100_lspci-vvv.txt") else { return }
    #expect(topology.source.kind == .lspciText)
    #expect(topology.count == 201)
    let gpu = try function(topology, "04:00.0")
    #expect(gpu.vendorID == 0x10de)  // resolved from the name through pci.ids (no -nn)
    #expect(gpu.classCode >> 8 == 0x0302)
    #expect(gpu.portType == .endpoint)
    #expect(gpu.driver == "nvidia")
    #expect(gpu.acs == .absent)  // root run: extended capabilities listed, no ACS among them
    #expect(gpu.bars.map(\.index) == [0, 1, 3])
    #expect(gpu.bars[1].size == 16 << 30 && gpu.bars[1].is64Bit && gpu.bars[1].isPrefetchable)
    #expect(gpu.bars[1].address == 0x3b8_0000_0000)
    #expect(gpu.bars[0].size == 16 << 20 && !gpu.bars[0].is64Bit && !gpu.bars[0].isPrefetchable)
    // The two GPUs hang off root port 2 of each socket.
    #expect(topology.upstreamBridge(of: try indexOf(topology, "04:00.0")).map { topology[$0].bdf } == BDF("00:02.0"))
    #expect(topology.upstreamBridge(of: try indexOf(topology, "82:00.0")).map { topology[$0].bdf } == BDF("80:02.0"))
    #expect(topology.rootBus(of: try indexOf(topology, "82:00.0")) == BusID(domain: 0, bus: 0x80))
    let withACS = topology.functions.filter { $0.acs.control != nil }
    #expect(withACS.count == 9)
    #expect(withACS.allSatisfy { $0.acs.control == [] })
    let rootPort = try function(topology, "00:02.0")
    #expect(rootPort.isBridge && rootPort.portType == .rootPort)
    #expect(rootPort.acs.control == [])
    #expect(rootPort.acs == .present(capability: rootPort.acs.capabilityForTest ?? [], control: []))
  }

  @Test func iceLakeConnectX5() throws {
    guard let topology = try RealCaptures.load("server-dell-2s-icelake-sp-connectx5_lspci-vvv.txt") else { return }
    #expect(topology.count == 320)
    let withACS = topology.functions.filter { $0.acs.control != nil }
    #expect(withACS.count == 7)
    #expect(withACS.allSatisfy { $0.acs.control == [] })
    // Ice Lake: many root buses (one per root port stack).
    #expect(topology.rootBuses.count > 4)
    #expect(topology.functions.contains { $0.vendorID == 0x15b3 })
  }

  @Test func v1000MixedACSAndTreeAgree() throws {
    guard let topology = try RealCaptures.load("embedded-amd-ryzen-v1000-picasso+pericom-switch_lspci-vv.txt") else {
      return
    }
    #expect(topology.count == 44)
    let redirectOn = topology.functions.filter {
      $0.acs.control?.contains([.requestRedirect, .completionRedirect]) == true
    }
    #expect(redirectOn.count == 9)  // 4 GPP root ports + 5 Pericom downstream ports
    for address in ["00:08.1", "00:08.2"] {
      #expect(try function(topology, address).acs.control == [.sourceValidation], "\(address)")
    }
    let endpointsWithACS = topology.functions.filter { !$0.isBridge && $0.acs.control != nil }
    #expect(endpointsWithACS.count == 8)
    #expect(endpointsWithACS.allSatisfy { $0.acs.control == [] })
    // Same hierarchy as the lspci -t capture of the same boot.
    guard let tree = try RealCaptures.load("embedded-amd-ryzen-v1000-picasso+pericom-switch_lspci-t.txt") else {
      return
    }
    #expect(RealCaptures.parentMap(topology) == RealCaptures.parentMap(tree))
  }

  @Test func nnHeaderGivesIDsAndClass() throws {
    let text = """
      00:01.0 PCI bridge [0604]: Intel Corporation Xeon E3-1200 v2/3rd Gen Core processor PCI Express Root Port [8086:0151] (rev 09) (prog-if 00 [Normal decode])
      \tBus: primary=00, secondary=01, subordinate=01, sec-latency=0
      \tCapabilities: [a0] Express (v2) Root Port (Slot+), MSI 00

      01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GF108GLM [NVS 5200M] [10de:0dfc] (rev a1) (prog-if 00 [VGA controller])
      \tSubsystem: Dell Device [1028:0535]
      \tRegion 0: Memory at f2000000 (32-bit, non-prefetchable) [size=16M]
      \tRegion 1: Memory at e0000000 (64-bit, prefetchable) [size=256M]
      \tRegion 5: I/O ports at 3000 [size=128]
      \tCapabilities: [78] Express (v2) Endpoint, MSI 00
      \tKernel driver in use: nouveau

      """
    let topology = try TopologyLoader.load(data: Data(text.utf8), path: "nn.txt")
    #expect(topology.source.kind == .lspciText)
    let bridge = try function(topology, "00:01.0")
    #expect(bridge.vendorID == 0x8086 && bridge.deviceID == 0x0151)
    #expect(bridge.classCode == 0x06_0400 && bridge.revision == 0x09)
    #expect(bridge.isBridge && bridge.secondaryBus == 1 && bridge.subordinateBus == 1)
    #expect(bridge.portType == .rootPort)
    let gpu = try function(topology, "01:00.0")
    #expect(gpu.idPair == "10de:0dfc")
    #expect(gpu.classCode == 0x03_0000)
    #expect(gpu.subsystemVendorID == 0x1028 && gpu.subsystemDeviceID == 0x0535)
    #expect(gpu.name == "NVIDIA Corporation GF108GLM [NVS 5200M]")
    #expect(gpu.bars.count == 3)
    #expect(gpu.bars[2].isIO && gpu.bars[2].address == 0x3000 && gpu.bars[2].size == 128)
    #expect(gpu.driver == "nouveau")
    // No extended capability lines anywhere: lspci ran without root.
    #expect(gpu.acs == .unknown(reason: "lspci ran without root: extended capabilities not shown"))
    #expect(topology.upstreamBridge(of: try indexOf(topology, "01:00.0")) == (try indexOf(topology, "00:01.0")))
  }

  @Test func acsLinesByName() throws {
    let text = """
      0000:00:01.1 PCI bridge: Advanced Micro Devices, Inc. [AMD] Raven/Raven2 PCIe GPP Bridge [6:0] (prog-if 00 [Normal decode])
      \tBus: primary=00, secondary=01, subordinate=01, sec-latency=0
      \tCapabilities: [58] Express (v2) Root Port (Slot+), MSI 00
      \tCapabilities: [2a0 v1] Access Control Services
      \t\tACSCap:\tSrcValid+ TransBlk+ ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans+
      \t\tACSCtl:\tSrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-
      \tIOMMU group: 3

      0000:01:00.0 Ethernet controller: Intel Corporation I210 Gigabit Network Connection (rev 03)
      \tCapabilities: [40] Power Management version 3
      \tCapabilities: [100 v2] Advanced Error Reporting

      """
    let topology = try TopologyLoader.load(data: Data(text.utf8), path: "acs.txt")
    let port = try function(topology, "0000:00:01.1")
    #expect(
      port.acs
        == .present(
          capability: [
            .sourceValidation, .translationBlocking, .requestRedirect, .completionRedirect, .upstreamForwarding,
            .directTranslated,
          ], control: [.sourceValidation, .requestRedirect, .completionRedirect, .upstreamForwarding]))
    #expect(port.iommuGroup == 3)
    #expect(try function(topology, "0000:01:00.0").acs == .absent)
  }

  /// `lspci -v` (one v) as nvidia-bug-report ran it: old `Express Downstream Port` wording and
  /// the ACS capability listed without its registers.
  @Test func singleVerboseListsACSWithoutRegisters() throws {
    let text = """
      03:08.0 PCI bridge: PLX Technology, Inc. PEX 8747 48-Lane, 5-Port PCI Express Gen 3 (8.0 GT/s) Switch (rev ca) (prog-if 00 [Normal decode])
      \tFlags: bus master, fast devsel, latency 0, IRQ 33
      \tBus: primary=03, secondary=04, subordinate=04, sec-latency=0
      \tCapabilities: [68] Express Downstream Port (Slot+), MSI 00
      \tCapabilities: [100] Device Serial Number ca-87-00-10-b5-df-0e-00
      \tCapabilities: [f24] Access Control Services
      \tKernel driver in use: pcieport

      """
    let topology = try TopologyLoader.load(data: Data(text.utf8), path: "v.txt")
    let port = try function(topology, "03:08.0")
    #expect(port.portType == .downstreamPort)
    #expect(port.driver == "pcieport")
    guard case .unknown(let reason) = port.acs else {
      Issue.record("ACS should be unknown, is \(port.acs)")
      return
    }
    #expect(reason.contains("-vv"))
  }

  @Test func numericListing() throws {
    let text = """
      00:00.0 0600: 8086:0154 (rev 09)
      00:01.0 0604: 8086:0151 (rev 09)
      01:00.0 0300: 10de:0dfc (rev a1)

      """
    let topology = try TopologyLoader.load(data: Data(text.utf8), path: "n.txt")
    let gpu = try function(topology, "01:00.0")
    #expect(gpu.idPair == "10de:0dfc" && gpu.classCode == 0x03_0000 && gpu.revision == 0xa1)
    #expect(try function(topology, "00:01.0").isBridge)
  }

  @Test func plainLspciLoadsWithAWarning() throws {
    let text = """
      00:00.0 Host bridge: Intel Corporation Device 4641 (rev 02)
      00:01.0 PCI bridge: Intel Corporation Device 460d (rev 02)
      01:00.0 VGA compatible controller: NVIDIA Corporation Device 24a0 (rev a1)

      """
    let topology = try TopologyLoader.load(data: Data(text.utf8), path: "plain.txt")
    #expect(topology.count == 3)
    #expect(topology.warnings.contains { $0.message.contains("no bridge bus numbers") })
    // `Vendor Device 24a0`: the vendor resolves and the device ID is in the text.
    let gpu = try function(topology, "01:00.0")
    if PCIIDDatabase.system != nil {
      #expect(gpu.vendorID == 0x10de && gpu.deviceID == 0x24a0)
    }
    #expect(try function(topology, "00:01.0").isBridge)  // by class
    #expect(gpu.acs.isUnknown)
  }
}

extension ACSState {
  /// The capability register when present (test helper).
  var capabilityForTest: ACSBits? {
    if case .present(let capability, _) = self { return capability }
    return nil
  }
}
