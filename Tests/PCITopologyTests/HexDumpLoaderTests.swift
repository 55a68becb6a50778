import Foundation
import PCITopology
import Testing

/// The hex-dump loader on the real captures: same tree as `lspci -F FILE -t`, and the decoded
/// registers the P2P code relies on.
@Suite struct HexDumpLoaderTests {
  @Test(arguments: RealCaptures.hexDumps)
  func treeMatchesLspci(_ name: String) throws {
    guard let path = RealCaptures.require(name) else { return }
    guard let expected = RealCaptures.lspci(path, ["-t"]) else {
      print("note: lspci not installed (or failed); tree comparison for \(name) skipped")
      return
    }
    let topology = try TopologyLoader.load(spec: path)
    #expect(topology.source.kind == .hexDump)
    #expect(TreeRenderer.render(topology, names: false) == expected)
  }

  /// The two nvidia-bug-report sections together: GPUs under the PLX ports, switch upstream
  /// ports on orphan root buses (their root ports were not dumped), as lspci draws it.
  @Test func concatenatedNvidiaBugReportSections() throws {
    guard
      let gpus = RealCaptures.require("server-gpu8-xeon-e5-4x-gtx1080ti-2x-pex8747_nvbugreport_lspci-d10de-v-xxx.txt"),
      let switches = RealCaptures.require(
        "server-gpu8-xeon-e5-4x-gtx1080ti-2x-pex8747_nvbugreport_lspci-d10b5-v-xxx.txt")
    else { return }
    let combined = try Data(contentsOf: URL(fileURLWithPath: gpus)) + Data(contentsOf: URL(fileURLWithPath: switches))
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("nvbug-\(UUID().uuidString).txt").path
    try combined.write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let topology = try TopologyLoader.load(spec: path)
    #expect(topology.count == 14)
    let gpu = try indexOf(topology, "04:00.0")
    #expect(
      topology.pathToRoot(from: gpu).map { topology[$0].bdf.shortDescription } == ["04:00.0", "03:08.0", "02:00.0"])
    #expect(topology.rootBuses == [BusID(domain: 0, bus: 2), BusID(domain: 0, bus: 6)])
    guard let expected = RealCaptures.lspci(path, ["-t"]) else { return }
    #expect(TreeRenderer.render(topology, names: false) == expected)
  }

  @Test(arguments: RealCaptures.hexDumps)
  func functionCountMatchesLspci(_ name: String) throws {
    guard let path = RealCaptures.require(name) else { return }
    guard let listing = RealCaptures.lspci(path, ["-n"]) else { return }
    let topology = try TopologyLoader.load(spec: path)
    let lines = listing.split(separator: "\n").count
    #expect(topology.count == lines)
  }

  /// Our register decoding against lspci's own: `lspci -F FILE -nn -vvv` text, read by the text
  /// loader, must agree with the hex loader on IDs, class, bridge buses, port type and ACS.
  @Test(arguments: RealCaptures.hexDumps)
  func decodingMatchesLspciVerbose(_ name: String) throws {
    guard let path = RealCaptures.require(name) else { return }
    guard let verbose = RealCaptures.lspci(path, ["-nn", "-vvv"]) else { return }
    let ours = try TopologyLoader.load(spec: path)
    let theirs = try TopologyLoader.load(data: Data(verbose.utf8), path: "lspci -vvv of \(name)")
    #expect(theirs.count == ours.count)
    for mine in ours.functions where !mine.isPoweredOff {
      guard let other = theirs.function(mine.bdf) else {
        Issue.record("\(mine.bdf) missing from lspci -vvv")
        continue
      }
      // lspci cuts names (and the -nn IDs after them) at 128 bytes; compare what it printed.
      if other.deviceID != 0 { #expect(mine.idPair == other.idPair, "\(mine.bdf)") }
      #expect(mine.vendorID == other.vendorID, "\(mine.bdf)")
      #expect(mine.classCode >> 8 == other.classCode >> 8, "\(mine.bdf)")
      #expect(mine.secondaryBus == other.secondaryBus && mine.subordinateBus == other.subordinateBus, "\(mine.bdf)")
      if other.portType != nil { #expect(mine.portType == other.portType, "\(mine.bdf)") }
      if case .present = other.acs { #expect(mine.acs == other.acs, "\(mine.bdf)") }
      if mine.config?.hasExtendedSpace == true { #expect(mine.acs == other.acs, "\(mine.bdf)") }
    }
  }

  @Test func alderLakeRootPortsHaveRedirectOn() throws {
    guard let topology = try RealCaptures.load("laptop-asus-alderlake-irisxe+rtx3070ti_lspci-vvvxxxx.txt") else {
      return
    }
    let rootPorts = topology.functions.filter { $0.portType == .rootPort }
    #expect(rootPorts.count == 6)
    for port in rootPorts {
      let control = try #require(port.acs.control, "\(port.bdf) should have ACS")
      #expect(control.contains([.requestRedirect, .completionRedirect]), "\(port.bdf)")
    }
    // The Thunderbolt root port also blocks translated requests.
    let thunderbolt = try function(topology, "00:07.0")
    #expect(thunderbolt.acs.control?.contains(.translationBlocking) == true)
    #expect(thunderbolt.secondaryBus == 0x04 && thunderbolt.subordinateBus == 0x2d)
    // dGPU behind the CPU root port 00:01.0, with its 64-bit prefetchable BAR and the size from text.
    let gpu = try function(topology, "01:00.0")
    #expect(gpu.vendorID == 0x10de)
    #expect(gpu.isDisplay)
    #expect(topology.upstreamBridge(of: try indexOf(topology, "01:00.0")).map { topology[$0].bdf } == BDF("00:01.0"))
    let prefetchable = try #require(gpu.bars.first { $0.isPrefetchable })
    #expect(prefetchable.is64Bit)
    #expect(prefetchable.address == 0x60_0000_0000)
    #expect(prefetchable.size == 8 << 30)
    #expect(gpu.iommuGroup != nil)
    #expect(gpu.driver == nil)  // only "Kernel modules: nouveau", nothing bound
    #expect(try function(topology, "00:00.0").driver == "igen6_edac")
    #expect(try function(topology, "00:00.0").iommuGroup == 1)
    #expect(gpu.name?.contains("GA104") == true)
    // iGPU on the root bus.
    let igpu = try function(topology, "00:02.0")
    #expect(igpu.isDisplay && igpu.vendorID == 0x8086)
    // Its SR-IOV capability lists VF BARs as nested "Region" lines: they must not replace the PF's.
    let igpuBAR0 = try #require(igpu.bars.first { $0.index == 0 })
    #expect(igpuBAR0.address == 0x62_2c00_0000 && igpuBAR0.size == 16 << 20 && igpuBAR0.busOffset == 0)
    #expect(topology.upstreamBridge(of: try indexOf(topology, "00:02.0")) == nil)
  }

  @Test func alderLakeGL9755ReadsAllOnes() throws {
    guard let topology = try RealCaptures.load("laptop-asus-alderlake-irisxe+rtx3070ti_lspci-vvvxxxx.txt") else {
      return
    }
    let reader = try function(topology, "2f:00.0")
    #expect(reader.isPoweredOff)
    #expect(reader.acs.isUnknown)
    // lspci printed its name (from sysfs) before the all-ones bytes: class and IDs come from it.
    #expect(reader.classCode >> 8 == 0x0805)
    if PCIIDDatabase.system?.deviceName(vendor: 0x17a0, device: 0x9755) != nil {
      #expect(reader.idPair == "17a0:9755")
    }
    #expect(!reader.isEndpointForMatrix)
  }

  @Test func x99AllACSControlOff() throws {
    guard let topology = try RealCaptures.load("desktop-huananzhi-x99-qd4-xeon-e5v3+rx6600_lspci-nnvvvxxxx.txt") else {
      return
    }
    #expect(topology.count == 87)
    let withACS = topology.functions.filter { $0.acs.control != nil }
    #expect(withACS.count == 7)
    for function in withACS { #expect(function.acs.control == [], "\(function.bdf)") }
    // The RX 6600 sits behind its own switch: 03:00.0 (USP) → 04:00.0 (DSP) → 05:00.0.
    let gpuIndex = try indexOf(topology, "05:00.0")
    let path = topology.pathToRoot(from: gpuIndex).map { topology[$0].bdf.shortDescription }
    #expect(Array(path.prefix(3)) == ["05:00.0", "04:00.0", "03:00.0"])
    #expect(topology[gpuIndex].vendorID == 0x1002)
    #expect(try function(topology, "03:00.0").portType == .upstreamPort)
    #expect(try function(topology, "04:00.0").portType == .downstreamPort)
  }

  @Test func e6430HasNoACSAnywhere() throws {
    guard let topology = try RealCaptures.load("laptop-dell-latitude-e6430-hd4000+nvs5200m_lspci-nnvvvxxxx.txt") else {
      return
    }
    #expect(topology.count == 22)
    for function in topology.functions where !function.isPoweredOff {
      #expect(function.acs == .absent, "\(function.bdf): \(function.acs)")
    }
    // dGPU audio is runtime-suspended: all ones, but -nn text still names it.
    let audio = try function(topology, "01:00.1")
    #expect(audio.isPoweredOff)
    #expect(audio.vendorID == 0x10de && audio.deviceID == 0x0bea)
  }

  @Test func n1sdpSwitchACSComesFromText() throws {
    guard let topology = try RealCaptures.load("arm-n1sdp-plx-pex8749_lspci-vvxxx.txt") else { return }
    #expect(topology.count == 16)
    #expect(topology.rootBuses.contains(BusID(domain: 1, bus: 0)))
    let downstream = topology.functions.filter { $0.portType == .downstreamPort }
    #expect(downstream.count == 6)
    for port in downstream {
      let control = try #require(port.acs.control, "\(port.bdf)")
      #expect(control.contains([.requestRedirect, .completionRedirect, .upstreamForwarding]), "\(port.bdf)")
    }
    // The switch's upstream port carries the DMA engines as functions 1-4.
    let upstream = try function(topology, "0000:01:00.0")
    #expect(upstream.isMultiFunction)
    #expect(upstream.portType == .upstreamPort)
  }

  @Test func talosHasTenDomains() throws {
    guard let topology = try RealCaptures.load("server-raptor-talos2-power9_lspci-vvxxx.txt") else { return }
    #expect(topology.count == 16)
    #expect(Set(topology.functions.map(\.bdf.domain)).count == 10)
    // POWER9 PHB: the BAR register holds the bus address, the text the CPU address (§4.4).
    let vga = try function(topology, "0005:02:00.0")
    let bar0 = try #require(vga.bars.first { $0.index == 0 })
    #expect(bar0.address == 0x6_00c2_8000_0000)
    #expect(bar0.busAddress == 0x8000_0000)
    #expect(bar0.size == 16 << 20)
    // 256-byte dumps without ACS text: ACS cannot be known.
    #expect(topology.functions.allSatisfy { $0.isPoweredOff || $0.acs.isUnknown || $0.acs == .absent })
  }

  @Test func malformedRowLoadsWithAWarningNamingTheLine() throws {
    guard let path = RealCaptures.require(RealCaptures.malformed) else { return }
    let topology = try TopologyLoader.load(spec: path)
    #expect(topology.count == 87)
    let warning = try #require(topology.warnings.first { $0.line == 5123 })
    #expect(warning.message.contains("malformed hex row"))
    #expect(warning.file == path)
    #expect(warning.description.hasPrefix("\(path):5123: "))
    // Everything else decodes as the sister board does.
    #expect(topology.warnings.filter { $0.message.contains("malformed") }.count == 1)
  }

  @Test func nvbugReportSwitchFunctions() throws {
    guard
      let topology = try RealCaptures.load(
        "server-gpu8-xeon-e5-4x-gtx1080ti-2x-pex8747_nvbugreport_lspci-d10b5-v-xxx.txt")
    else { return }
    #expect(topology.count == 6)
    // Root ports are not in the dump: the switch's bus 02 is a root bus here.
    #expect(topology.rootBuses.contains(BusID(domain: 0, bus: 2)))
    let downstream = try function(topology, "03:08.0")
    #expect(downstream.portType == .downstreamPort)
    #expect(downstream.secondaryBus == 4)
    #expect(downstream.acs.isUnknown)
  }
}
