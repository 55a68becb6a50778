import Foundation
import Testing

@testable import PCITopology

/// Bus-number inference for listings without `Bus: primary= secondary= subordinate=` (plain
/// `lspci`, `-nn`, `-k`): real captures checked against the same machine's `lspci -t`, captures
/// with bus numbers stripped and rebuilt, generated machines, and the corner cases by hand.
@Suite("Bus number inference")
struct BusNumberInferenceTests {
  static let gpu8 = "server-gpu8-xeon-e5-4x-gtx1080ti-2x-pex8747_nvbugreport"
  static let naples = "server-gigabyte-epyc7551p-8x-vega20-4x-pex8747"
  static let genoa = "server-supermicro-2s-genoa-2x-h100l_lspci.txt"

  static func load(_ text: String, path: String = "plain.txt") throws -> Topology {
    try TopologyLoader.load(data: Data(text.utf8), path: path)
  }

  /// Secondary and subordinate bus of every bridge, by address.
  static func ranges(_ topology: Topology) -> [String: String] {
    var map: [String: String] = [:]
    for function in topology.functions where function.isBridge {
      let secondary = function.secondaryBus.map { hex($0, width: 2) } ?? "-"
      let subordinate = function.subordinateBus.map { hex($0, width: 2) } ?? "-"
      map[function.bdf.description] = "\(secondary)-\(subordinate)"
    }
    return map
  }

  /// Entries of two maps that differ, for readable failures.
  static func differences(_ left: [String: String], _ right: [String: String]) -> [String] {
    Set(left.keys).union(right.keys).sorted().compactMap { key in
      left[key] == right[key] ? nil : "\(key): \(left[key] ?? "missing") vs \(right[key] ?? "missing")"
    }
  }

  static func isDevice(_ function: PCIFunction, _ deviceID: UInt16) -> Bool {
    function.deviceID == deviceID || function.name?.contains("Device \(hex(deviceID, width: 4))") == true
  }

  static func isInferenceWarning(_ warning: LoadWarning) -> Bool {
    warning.message.hasPrefix("hierarchy inferred from bus numbers (plain lspci listing has no bridge bus numbers)")
  }

  // MARK: Real captures against lspci -t

  /// The gpu-8 server's `lspci -nn` against its `lspci -t`: the same parents and the same bridge
  /// ranges, including the empty root port 00:01.0 [01] that the bus-number gap reveals.
  @Test func gpu8ListingMatchesItsTree() throws {
    guard let listingPath = RealCaptures.require("\(Self.gpu8)_lspci-nn.txt"),
      let treePath = RealCaptures.require("\(Self.gpu8)_lspci-t.txt")
    else { return }
    let inferred = try TopologyLoader.load(spec: listingPath)
    let tree = try TopologyLoader.load(spec: treePath)
    #expect(inferred.count == tree.count)
    #expect(Self.differences(RealCaptures.parentMap(inferred), RealCaptures.parentMap(tree)) == [])
    #expect(Self.differences(Self.ranges(inferred), Self.ranges(tree)) == [])
    #expect(inferred.rootBuses == tree.rootBuses)
    #expect(inferred.warnings.contains(where: Self.isInferenceWarning))
    // Nothing but the one inference warning: every bus is explained.
    #expect(inferred.warnings.count == 1, "\(inferred.warnings)")
    // The two GPUs of the first PEX 8747 meet at its upstream port's bus, not the host bridge.
    let first = try indexOf(inferred, "04:00.0")
    let second = try indexOf(inferred, "05:00.0")
    let common = Set(inferred.pathToRoot(from: first)).intersection(inferred.pathToRoot(from: second))
    #expect(common.map { inferred[$0].bdf.description }.sorted() == ["0000:00:02.0", "0000:02:00.0"])
  }

  /// Naples, plain `lspci` and `lspci -k`: four root complexes (00/20/40/60), each with one
  /// PEX 8747 carrying two Vega 20, each Vega behind its own 14a0/14a1 USP/DSP pair.
  @Test(arguments: ["_lspci.txt", "_lspci-k.txt"])
  func naplesVegasSitTwoPerSwitchUnderFourRootComplexes(_ suffix: String) throws {
    guard let topology = try RealCaptures.load(Self.naples + suffix) else { return }
    #expect(topology.rootBuses.map(\.description) == ["0000:00", "0000:20", "0000:40", "0000:60"])
    #expect(topology.warnings.count == 1 && Self.isInferenceWarning(topology.warnings[0]), "\(topology.warnings)")
    let vegas = topology.functions.indices.filter { topology[$0].name?.contains("Vega 20") == true }
    #expect(vegas.count == 8)
    var bySwitch: [String: [String]] = [:]
    for vega in vegas {
      let path = topology.pathToRoot(from: vega)
      // Vega ← 14a1 DSP ← 14a0 USP ← PEX DSP ← PEX USP ← GPP bridge ← root bus.
      #expect(path.count == 6, "\(topology[vega].bdf)")
      let names = path.map { topology[$0].name ?? "" }
      // 14a0/14a1 print as `Device 14a0` in the capture; pci.ids may know them by name now.
      #expect(Self.isDevice(topology[path[1]], 0x14a1) && Self.isDevice(topology[path[2]], 0x14a0))
      #expect(names[3].contains("PEX 8747") && names[4].contains("PEX 8747"))
      #expect(names[5].contains("GPP Bridge"))
      let upstream = topology[path[4]].bdf.description
      bySwitch[upstream, default: []].append(topology[vega].bdf.description)
    }
    #expect(bySwitch.count == 4)
    #expect(bySwitch.values.allSatisfy { $0.count == 2 })
    let switchRoots = Set(bySwitch.keys.compactMap { BDF($0) }.map { topology.rootBus(of: topology.index(of: $0)!) })
    #expect(switchRoots.count == 4)
    // The first switch as the firmware numbered it.
    #expect(Self.ranges(topology)["0000:00:03.1"] == "03-0a")
    #expect(Self.ranges(topology)["0000:03:00.0"] == "04-0a")
    #expect(Self.ranges(topology)["0000:00:01.2"] == "01-01")
  }

  @Test func naplesPlainAndKernelListingsAgree() throws {
    guard let plain = try RealCaptures.load(Self.naples + "_lspci.txt"),
      let kernel = try RealCaptures.load(Self.naples + "_lspci-k.txt")
    else { return }
    #expect(RealCaptures.parentMap(plain) == RealCaptures.parentMap(kernel))
    #expect(Self.ranges(plain) == Self.ranges(kernel))
  }

  /// Genoa: eight host bridges; the H100s directly on root ports of c0 and e0; the two empty
  /// NVMe bays 20:03.3/20:03.4 use buses 23 and 24 so that 25 goes to 20:07.1.
  @Test func genoaH100sSitOnRootPortsOfDifferentHostBridges() throws {
    guard let topology = try RealCaptures.load(Self.genoa) else { return }
    #expect(
      topology.rootBuses.map(\.description)
        == ["0000:00", "0000:20", "0000:40", "0000:60", "0000:80", "0000:a0", "0000:c0", "0000:e0"])
    #expect(topology.warnings.count == 1, "\(topology.warnings)")
    let parents = RealCaptures.parentMap(topology)
    #expect(parents["0000:c1:00.0"] == "0000:c0:01.1")
    #expect(parents["0000:e1:00.0"] == "0000:e0:01.1")
    #expect(topology.rootBus(of: try indexOf(topology, "c1:00.0")).description == "0000:c0")
    #expect(topology.rootBus(of: try indexOf(topology, "e1:00.0")).description == "0000:e0")
    #expect(parents["0000:25:00.0"] == "0000:20:07.1")
    #expect(parents["0000:62:00.0"] == "0000:61:00.0")
    let ranges = Self.ranges(topology)
    #expect(ranges["0000:20:03.3"] == "23-23" && ranges["0000:20:03.4"] == "24-24")
    #expect(ranges["0000:60:05.2"] == "61-62")
  }

  // MARK: Captures with bus numbers, stripped and rebuilt

  /// Captures whose bridges carry bus numbers (hex dumps and `-vv`/`-vvv` text), complete
  /// enough to stand on their own, and whether stripping and rebuilding gives the same parents.
  /// The one known miss is firmware that does not number in devfn order: the Dell R730-class
  /// server numbers its onboard NIC root ports (00:03.x) before 00:01.0/00:02.0, so the four
  /// leaf buses 01-04 come out as a permutation among sibling root ports of bus 00 (same host
  /// bridge, same depth: the P2P distances and map types do not change).
  static let capturesWithBusNumbers: [(name: String, exact: Bool)] = [
    ("laptop-asus-alderlake-irisxe+rtx3070ti_lspci-vvvxxxx.txt", true),
    ("arm-n1sdp-plx-pex8749_lspci-vvxxx.txt", true),
    ("laptop-dell-latitude-e6430-hd4000+nvs5200m_lspci-nnvvvxxxx.txt", true),
    ("desktop-huananzhi-x99-qd4-xeon-e5v3+rx6600_lspci-nnvvvxxxx.txt", true),
    ("server-raptor-talos2-power9_lspci-vvxxx.txt", true),
    ("server-dell-2s-xeon-e5v4-2x-tesla-p100_lspci-vvv.txt", false),
    ("server-dell-2s-icelake-sp-connectx5_lspci-vvv.txt", true),
    ("embedded-amd-ryzen-v1000-picasso+pericom-switch_lspci-vv.txt", true),
  ]

  @Test(arguments: capturesWithBusNumbers.map(\.name))
  func strippedCaptureIsRebuilt(_ name: String) throws {
    guard let original = try RealCaptures.load(name) else { return }
    var functions = original.functions
    for index in functions.indices {
      functions[index].primaryBus = nil
      functions[index].secondaryBus = nil
      functions[index].subordinateBus = nil
    }
    #expect(BusNumberInference.isNeeded(functions))
    let warnings = BusNumberInference.infer(&functions, path: name)
    let rebuilt = Topology(functions: functions, source: original.source, warnings: warnings)
    let differences = Self.differences(RealCaptures.parentMap(rebuilt), RealCaptures.parentMap(original))
    let exact = Self.capturesWithBusNumbers.first { $0.name == name }?.exact ?? true
    if exact {
      #expect(differences == [], "\(warnings)")
      #expect(rebuilt.rootBuses == original.rootBuses)
    } else {
      #expect(!differences.isEmpty, "now exact: move it to the exact list")
      // The misplacements stay among siblings: every function keeps its root bus and depth.
      for index in 0..<rebuilt.count {
        let bdf = rebuilt[index].bdf
        let before = try #require(original.index(of: bdf))
        #expect(rebuilt.rootBus(of: index) == original.rootBus(of: before), "\(bdf)")
        #expect(rebuilt.pathToRoot(from: index).count == original.pathToRoot(from: before).count, "\(bdf)")
      }
    }
  }

  // MARK: Generated machines

  /// A generated machine printed the way `lspci -nn` (with `-D` when there are several
  /// domains) prints it: no bus numbers anywhere.
  static func plainListing(_ functions: [PCIFunction]) -> String {
    let showDomain = functions.contains { $0.bdf.domain != 0 }
    var text = ""
    for function in functions.sorted(by: { $0.bdf < $1.bdf }) {
      let address = showDomain ? function.bdf.description : function.bdf.shortDescription
      let className = HexDumpWriter.className(function.classCode)
      var line = "\(address) \(className) [\(hex(function.classCode >> 8, width: 4))]: "
      line += [function.vendorName, function.name].compactMap { $0 }.joined(separator: " ")
      line += " [\(function.idPair)]"
      if function.revision != 0 { line += " (rev \(hex(function.revision, width: 2)))" }
      text += line + "\n"
    }
    return text
  }

  @Test(arguments: [(60, 1), (60, 2), (60, 3), (200, 4), (200, 5), (200, 6), (500, 7), (500, 11), (1000, 42)])
  func generatedMachineIsRebuiltFromAPlainListing(_ count: Int, _ seed: Int) throws {
    let machine = MachineGenerator(options: .init(functionCount: count, seed: UInt64(seed))).generate()
    let original = machine.topology(location: "generated")
    let inferred = try Self.load(Self.plainListing(machine.functions), path: "generated-\(seed).txt")
    #expect(inferred.count == original.count)
    #expect(Self.differences(RealCaptures.parentMap(inferred), RealCaptures.parentMap(original)) == [])
    #expect(Self.differences(Self.ranges(inferred), Self.ranges(original)) == [])
    #expect(inferred.rootBuses == original.rootBuses)
    #expect(inferred.warnings.contains(where: Self.isInferenceWarning))
    // Only Ice Lake-style root buses (VT-d function at 00.0, no host bridge) are reported.
    for warning in inferred.warnings where !Self.isInferenceWarning(warning) {
      #expect(warning.message.contains("no host bridge at 00.0"), "\(warning)")
    }
  }

  /// Empty slots: dropping every device of some leaf buses leaves their bridges empty, and the
  /// bus-number gaps they leave must still place everything else exactly.
  @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8])
  func generatedMachineWithEmptiedSlots(_ seed: Int) throws {
    let machine = MachineGenerator(options: .init(functionCount: 300, seed: UInt64(seed))).generate()
    let original = machine.topology(location: "generated")
    var random = SplitMix64(seed: UInt64(seed) &* 7919)
    let bridgeBuses = Set(original.functions.filter(\.isBridge).map(\.bdf.busID))
    let rootBuses = Set(original.rootBuses)
    let leafBuses = Set(original.functions.map(\.bdf.busID)).subtracting(bridgeBuses).subtracting(rootBuses)
    let dropped = Set(leafBuses.filter { _ in random.int(in: 0...2) == 0 })
    let kept = original.functions.filter { !dropped.contains($0.bdf.busID) }
    #expect(!dropped.isEmpty)
    let inferred = try Self.load(Self.plainListing(kept), path: "emptied-\(seed).txt")
    let expected = RealCaptures.parentMap(original).filter { entry in
      !dropped.contains(BDF(entry.key)!.busID)
    }
    #expect(Self.differences(RealCaptures.parentMap(inferred), expected) == [])
    #expect(Self.differences(Self.ranges(inferred), Self.ranges(original)) == [])
  }

  /// A listing full of gaps at several depths (nothing firmware would produce): the search
  /// runs out of budget, stays fast, keeps every function, and still gives a consistent tree.
  @Test func manyGapsStayBounded() throws {
    var lines = ["00:00.0 Host bridge [0600]: Intel Corporation Device [8086:0154]"]
    for device in 1..<32 {
      lines.append("00:\(hex(device, width: 2)).0 PCI bridge [0604]: Intel Corporation Device [8086:0151]")
    }
    // Switches (bridges at 00.0 with two ports) and endpoints scattered across the bus range.
    var bus = 3
    var switchBuses: [Int] = []
    while bus < 0xf0 {
      if bus % 3 == 0 {
        lines.append("\(hex(bus, width: 2)):00.0 PCI bridge [0604]: PLX Technology, Inc. Device [10b5:8747]")
        lines.append("\(hex(bus + 1, width: 2)):08.0 PCI bridge [0604]: PLX Technology, Inc. Device [10b5:8747]")
        lines.append("\(hex(bus + 1, width: 2)):10.0 PCI bridge [0604]: PLX Technology, Inc. Device [10b5:8747]")
        switchBuses.append(bus)
        bus += 2
      } else {
        lines.append("\(hex(bus, width: 2)):00.0 Ethernet controller [0200]: Intel Corporation Device [8086:1563]")
      }
      bus += 5
    }
    let clock = ContinuousClock()
    var topology: Topology?
    let elapsed = try clock.measure {
      topology = try Self.load(lines.joined(separator: "\n") + "\n", path: "gaps.txt")
    }
    let loaded = try #require(topology)
    #expect(elapsed < .seconds(20), "\(elapsed)")
    #expect(loaded.count == lines.count)
    #expect(loaded.warnings.contains(where: Self.isInferenceWarning))
    #expect(loaded.warnings.contains { $0.message.contains("too many gaps in the bus numbers") })
    // Every bridge's range holds its children's buses; no bus is claimed twice.
    #expect(!loaded.warnings.contains { $0.message.contains("claimed by two bridges") })
    #expect(!loaded.warnings.contains { $0.message.contains("inside a bridge's bus range") })
  }

  /// Several domains and many root buses (4,000 functions).
  @Test func largeGeneratedMachineAcrossDomains() throws {
    let machine = MachineGenerator(options: .init(functionCount: 4000, seed: 7)).generate()
    let original = machine.topology(location: "generated")
    #expect(Set(original.rootBuses.map(\.domain)).count > 1)
    let inferred = try Self.load(Self.plainListing(machine.functions), path: "generated-large.txt")
    #expect(RealCaptures.parentMap(inferred) == RealCaptures.parentMap(original))
    #expect(Self.ranges(inferred) == Self.ranges(original))
  }

  // MARK: Corner cases

  /// Firmware reserved 04-2d for a Thunderbolt port: 2e and 2f go to the next two root ports,
  /// and the guess is named in a warning.
  @Test func hotplugReservationGap() throws {
    let topology = try Self.load(
      """
      00:00.0 Host bridge [0600]: Intel Corporation Device [8086:4621]
      00:01.0 PCI bridge [0604]: Intel Corporation Device [8086:460d]
      00:07.0 PCI bridge [0604]: Intel Corporation Device [8086:466e]
      00:1c.0 PCI bridge [0604]: Intel Corporation Device [8086:51b8]
      00:1c.6 PCI bridge [0604]: Intel Corporation Device [8086:51be]
      01:00.0 VGA compatible controller [0300]: NVIDIA Corporation Device [10de:24a0]
      2e:00.0 Network controller [0280]: Intel Corporation Device [8086:2725]
      2f:00.0 SD Host controller [0805]: Genesys Logic, Inc Device [17a0:9755]

      """)
    let parents = RealCaptures.parentMap(topology)
    #expect(parents["0000:2e:00.0"] == "0000:00:1c.0")
    #expect(parents["0000:2f:00.0"] == "0000:00:1c.6")
    #expect(Self.ranges(topology)["0000:00:07.0"] == "02-2d")
    #expect(topology.rootBuses.map(\.description) == ["0000:00"])
    #expect(topology.warnings.contains { $0.message.contains("bus 0000:2e follows a gap") })
  }

  /// Two empty hotplug ports before the one with a device: the device goes to the last sibling.
  @Test func gapAmongSiblingsGoesToTheLastPort() throws {
    let topology = try Self.load(
      """
      00:00.0 Host bridge [0600]: Intel Corporation Device [8086:0154]
      00:1c.0 PCI bridge [0604]: Intel Corporation Device [8086:1e10]
      00:1c.1 PCI bridge [0604]: Intel Corporation Device [8086:1e12]
      00:1c.2 PCI bridge [0604]: Intel Corporation Device [8086:1e14]
      00:1c.3 PCI bridge [0604]: Intel Corporation Device [8086:1e16]
      00:1c.5 PCI bridge [0604]: Intel Corporation Device [8086:1e1a]
      02:00.0 Network controller [0280]: Intel Corporation Device [8086:0085]
      0c:00.0 Ethernet controller [0200]: Broadcom Inc. Device [14e4:1693]

      """)
    let parents = RealCaptures.parentMap(topology)
    #expect(parents["0000:02:00.0"] == "0000:00:1c.1")
    #expect(parents["0000:0c:00.0"] == "0000:00:1c.5")
    #expect(topology.warnings.contains { $0.message.contains("bus 0000:0c follows a gap") })
  }

  /// A bus after a gap that a switch port or a later root port could take equally well (different
  /// depths, so different P2P answers): not guessed, left a root bus, and named.
  @Test func ambiguousAcrossDepthsFallsBackToARootBus() throws {
    let topology = try Self.load(
      """
      00:00.0 Host bridge [0600]: Intel Corporation Device [8086:0154]
      00:01.0 PCI bridge [0604]: Intel Corporation Device [8086:0151]
      00:02.0 PCI bridge [0604]: Intel Corporation Device [8086:0152]
      01:00.0 PCI bridge [0604]: PLX Technology, Inc. Device [10b5:8747]
      02:08.0 PCI bridge [0604]: PLX Technology, Inc. Device [10b5:8747]
      02:10.0 PCI bridge [0604]: PLX Technology, Inc. Device [10b5:8747]
      03:00.0 VGA compatible controller [0300]: NVIDIA Corporation Device [10de:1b06]
      10:00.0 VGA compatible controller [0300]: NVIDIA Corporation Device [10de:1b06]

      """)
    let parents = RealCaptures.parentMap(topology)
    #expect(parents["0000:03:00.0"] == "0000:02:08.0")
    #expect(parents["0000:10:00.0"] == "-")
    #expect(topology.rootBuses.map(\.description) == ["0000:00", "0000:10"])
    let warning = try #require(topology.warnings.first { $0.message.contains("bus 0000:10 could hang below") })
    #expect(warning.message.contains("0000:02:10.0") && warning.message.contains("0000:00:02.0"))
    #expect(warning.message.contains("treated as a root bus"))
  }

  /// Root buses: one per host bridge at 00.0 (EPYC), an Ice Lake stack (VT-d at 00.0, a root
  /// port after it) and an uncore bus with devices above device 0, without warnings; and a bus
  /// of device-0 functions only that no bridge reaches (an Ice Lake stack without root ports),
  /// which is warned about.
  @Test func rootBusesFromHostBridgesUncoreAndUnexplainedBuses() throws {
    let topology = try Self.load(
      """
      00:00.0 Host bridge [0600]: Advanced Micro Devices, Inc. [AMD] Device [1022:1450]
      00:01.1 PCI bridge [0604]: Advanced Micro Devices, Inc. [AMD] Device [1022:1453]
      01:00.0 Ethernet controller [0200]: Intel Corporation Device [8086:1563]
      20:00.0 Host bridge [0600]: Advanced Micro Devices, Inc. [AMD] Device [1022:1450]
      20:01.1 PCI bridge [0604]: Advanced Micro Devices, Inc. [AMD] Device [1022:1453]
      21:00.0 VGA compatible controller [0300]: NVIDIA Corporation Device [10de:2684]
      30:00.0 System peripheral [0880]: Intel Corporation Device [8086:09a2]
      30:02.0 PCI bridge [0604]: Intel Corporation Device [8086:347a]
      31:00.0 Infiniband controller [0207]: Mellanox Technologies Device [15b3:1017]
      40:00.0 System peripheral [0880]: Intel Corporation Device [8086:09a2]
      40:00.1 System peripheral [0880]: Intel Corporation Device [8086:09a4]
      ff:0b.0 System peripheral [0880]: Intel Corporation Device [8086:6f81]
      ff:0c.0 System peripheral [0880]: Intel Corporation Device [8086:6fe0]

      """)
    #expect(topology.rootBuses.map(\.description) == ["0000:00", "0000:20", "0000:30", "0000:40", "0000:ff"])
    let parents = RealCaptures.parentMap(topology)
    #expect(parents["0000:21:00.0"] == "0000:20:01.1")
    #expect(parents["0000:31:00.0"] == "0000:30:02.0")
    let others = topology.warnings.filter { !Self.isInferenceWarning($0) }.map(\.message)
    #expect(others.count == 1, "\(others)")
    #expect(others.first?.hasPrefix("bus 0000:40: no host bridge at 00.0") == true)
  }

  /// Domains are numbered independently.
  @Test func domainsAreInferredSeparately() throws {
    let topology = try Self.load(
      """
      0000:00:00.0 PCI bridge [0604]: IBM Device [1014:04c1]
      0000:01:00.0 Ethernet controller [0200]: Broadcom Inc. Device [14e4:1657]
      0001:00:00.0 PCI bridge [0604]: IBM Device [1014:04c1]
      0001:01:00.0 PCI bridge [0604]: ASPEED Technology, Inc. Device [1a03:1150]
      0001:02:00.0 VGA compatible controller [0300]: ASPEED Technology, Inc. Device [1a03:2000]

      """)
    let parents = RealCaptures.parentMap(topology)
    #expect(parents["0000:01:00.0"] == "0000:00:00.0")
    #expect(parents["0001:02:00.0"] == "0001:01:00.0")
    #expect(parents["0001:01:00.0"] == "0001:00:00.0")
    #expect(topology.rootBuses.map(\.description) == ["0000:00", "0001:00"])
  }

  /// A listing without bridges keeps the loader's own warning; one with bus numbers is untouched.
  @Test func onlyListingsWithUnnumberedBridgesAreInferred() throws {
    let flat = try Self.load(
      """
      00:00.0 Host bridge [0600]: Intel Corporation Device [8086:0154]
      00:02.0 VGA compatible controller [0300]: Intel Corporation Device [8086:0166]

      """)
    #expect(!flat.warnings.contains(where: Self.isInferenceWarning))
    #expect(flat.warnings.contains { $0.message.contains("every bus is shown as a root bus") })
    let numbered = try Self.load(
      """
      00:01.0 PCI bridge: Intel Corporation Device 0151
      \tBus: primary=00, secondary=05, subordinate=05, sec-latency=0

      05:00.0 VGA compatible controller: NVIDIA Corporation Device 0dfc

      """, path: "vvv.txt")
    #expect(!numbered.warnings.contains(where: Self.isInferenceWarning))
    #expect(Self.ranges(numbered)["0000:00:01.0"] == "05-05")
  }

  /// A bus that starts with a host bridge is never put below a bridge, even where consecutive
  /// numbering would: the bridge is left without numbers and named.
  @Test func hostBridgeBusIsNeverAChild() throws {
    let topology = try Self.load(
      """
      00:00.0 Host bridge [0600]: Advanced Micro Devices, Inc. [AMD] Device [1022:1450]
      00:01.1 PCI bridge [0604]: Advanced Micro Devices, Inc. [AMD] Device [1022:1453]
      01:00.0 Host bridge [0600]: Advanced Micro Devices, Inc. [AMD] Device [1022:1450]
      01:01.1 PCI bridge [0604]: Advanced Micro Devices, Inc. [AMD] Device [1022:1453]
      02:00.0 Ethernet controller [0200]: Intel Corporation Device [8086:1563]

      """)
    #expect(topology.rootBuses.map(\.description) == ["0000:00", "0000:01"])
    #expect(RealCaptures.parentMap(topology)["0000:02:00.0"] == "0000:01:01.1")
    #expect(topology.warnings.contains { $0.message.contains("bridge 0000:00:01.1 left without bus numbers") })
  }
}
