import Foundation
import PCITopology
import Testing

/// The `lspci -t` tree loader, and `TreeRenderer` against its own input.
@Suite struct TreeLoaderTests {
  /// Every `DD.F` slot token in a tree listing (one per function).
  static func slotCount(_ text: String) -> Int {
    var count = 0
    for line in text.split(separator: "\n") {
      let characters = Array(line.utf8)
      var index = 0
      while index + 4 <= characters.count {
        // A slot follows a connector: "+-", "\-" or "--".
        if index >= 2, characters[index - 1] == UInt8(ascii: "-"),
          [UInt8(ascii: "+"), UInt8(ascii: "\\"), UInt8(ascii: "-")].contains(characters[index - 2]),
          characters[index + 2] == UInt8(ascii: "."),
          characters[index].isHexDigitASCII, characters[index + 1].isHexDigitASCII,
          characters[index + 3].isHexDigitASCII
        {
          count += 1
          index += 4
        } else {
          index += 1
        }
      }
    }
    return count
  }

  @Test(arguments: RealCaptures.trees)
  func everyFunctionAndBridgeIsRead(_ name: String) throws {
    guard let path = RealCaptures.require(name) else { return }
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let topology = try TopologyLoader.load(spec: path)
    #expect(topology.source.kind == .lspciTree)
    #expect(topology.count == Self.slotCount(text))
    // Bridges: one per `-[..]-` in the file.
    #expect(topology.functions.filter(\.isBridge).count == Self.bridgeCount(text))
    #expect(topology.functions.allSatisfy { $0.acs == .unknown(reason: "tree listings carry no config space") })
    // Drawing it and reading the drawing back gives the same hierarchy.
    let redrawn = TreeRenderer.render(topology)
    let reread = try TopologyLoader.load(data: Data(redrawn.utf8), path: "redrawn")
    #expect(RealCaptures.parentMap(reread) == RealCaptures.parentMap(topology))
    #expect(reread.functions.map(\.name) == topology.functions.map(\.name))
  }

  /// Bridge ranges `DD.F-[SS-UU]-`: a `-[` right after a slot's function digit (bus labels
  /// `[DDDD:BB]` follow a rail instead).
  static func bridgeCount(_ text: String) -> Int {
    let bytes = Array(text.utf8)
    var count = 0
    for index in 1..<max(bytes.count - 1, 1)
    where bytes[index] == UInt8(ascii: "-") && bytes[index + 1] == UInt8(ascii: "[") && bytes[index - 1].isHexDigitASCII
    {
      count += 1
    }
    return count
  }

  /// Modern lspci prints buses in ascending order, as we do: the drawing is the file itself.
  @Test(arguments: [
    "server-asus-esc8000a-e12-2s-genoa-4x-rtx6000ada_lspci-tv.txt",
    "workstation-puget-wrx90-tr-pro-2x-rtx6000ada_lspci-tv.txt",
  ])
  func redrawingReproducesTheFile(_ name: String) throws {
    guard let path = RealCaptures.require(name) else { return }
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let topology = try TopologyLoader.load(spec: path)
    #expect(TreeRenderer.render(topology) == text)
  }

  /// A whole markdown report (tree in a code fence, nvidia-smi tables and other text around it)
  /// reads as its tree, without warnings about the tables.
  @Test(arguments: [
    (
      "server-asus-esc8000a-e12-2s-genoa-4x-rtx6000ada_report.md",
      "server-asus-esc8000a-e12-2s-genoa-4x-rtx6000ada_lspci-tv.txt"
    ),
    (
      "workstation-puget-wrx90-tr-pro-2x-rtx6000ada_report.md",
      "workstation-puget-wrx90-tr-pro-2x-rtx6000ada_lspci-tv.txt"
    ),
  ])
  func treeInsideAReport(_ report: String, _ tree: String) throws {
    guard let fromReport = try RealCaptures.load(report), let fromTree = try RealCaptures.load(tree) else { return }
    #expect(RealCaptures.parentMap(fromReport) == RealCaptures.parentMap(fromTree))
    #expect(fromReport.warnings.count == 1, "\(fromReport.warnings)")
  }

  @Test func lenovoH100BehindConnectX7Switch() throws {
    guard let topology = try RealCaptures.load("server-lenovo-sd665n-v3-2s-genoa-4x-h100sxm5-cx7switch_lspci-tvvv.txt")
    else { return }
    #expect(topology.rootBuses.count == 8)
    let gpus = topology.functions.filter { $0.name?.contains("H100") == true }
    #expect(gpus.count == 4)
    let gpu = try indexOf(topology, "0000:06:00.0")
    #expect(topology[gpu].isDisplay)  // guessed from the name
    let path = topology.pathToRoot(from: gpu).map { topology[$0].bdf.shortDescription }
    #expect(path == ["06:00.0", "05:00.0", "04:00.0", "02:02.0", "01:00.0", "00:01.1"])
    let nic = try indexOf(topology, "0000:03:00.0")
    #expect(
      topology.pathToRoot(from: nic).map { topology[$0].bdf.shortDescription } == [
        "03:00.0", "02:00.0", "01:00.0", "00:01.1",
      ])
    let port = try function(topology, "0000:02:02.0")
    #expect(port.secondaryBus == 0x04 && port.subordinateBus == 0x06)
  }

  @Test func awsExcerptStartsMidTree() throws {
    guard let topology = try RealCaptures.load("cloud-aws-p5en-h200-efa_lspci-tv_EXCERPT-one-switch.txt") else {
      return
    }
    #expect(topology.rootBuses == [BusID(domain: 0, bus: 0x44)])
    let gpus = topology.functions.filter { $0.name?.contains("H200") == true }
    #expect(gpus.count == 2)
    #expect(gpus.allSatisfy { $0.vendorID == 0x10de || PCIIDDatabase.system == nil })
    let switchPort = try function(topology, "0000:46:02.2")
    #expect(switchPort.secondaryBus == 0x59)
  }

  @Test func nnTreeGivesIDs() throws {
    let text = """
      -[0000:00]-+-00.0  Intel Corporation Device [8086:4641]
                 +-01.0-[01]--+-00.0  NVIDIA Corporation GA104 [10de:24a0]
                 |            \\-00.1  NVIDIA Corporation Device [10de:228b]
                 \\-1f.0  Intel Corporation Device [8086:5182]

      """
    let topology = try TopologyLoader.load(data: Data(text.utf8), path: "nn-tree.txt")
    #expect(topology.count == 5)
    let gpu = try function(topology, "01:00.0")
    #expect(gpu.idPair == "10de:24a0")
    #expect(gpu.name == "NVIDIA Corporation GA104")
    #expect(gpu.isMultiFunction)
    #expect(topology.upstreamBridge(of: try indexOf(topology, "01:00.1")) == (try indexOf(topology, "00:01.0")))
    #expect(try function(topology, "00:01.0").headerType == 1)
  }

  /// A hostile line nesting 100,000 bridges reads without recursion (no stack overflow).
  @Test func deeplyNestedLineDoesNotOverflowTheStack() throws {
    var line = "-[0000:00]-"
    for level in 0..<100_000 { line += "--00.0-[\(hex(UInt8(truncatingIfNeeded: level + 1), width: 2))]--" }
    let topology = try TopologyLoader.load(data: Data((line + "\n").utf8), path: "deep.txt")
    #expect(topology.count == 256)  // bus numbers wrap: the rest are duplicates, dropped with a warning
    #expect(topology.warnings.contains { $0.message.contains("duplicate") })
  }

  @Test func multiDomainTree() throws {
    let text = """
      -+-[0000:00]---00.0-[01-ff]--
       +-[0001:00]---00.0-[01]----00.0  ASPEED Technology, Inc. ASPEED Graphics Family
       \\-[0002:00]---00.0-[01]--+-00.0  Broadcom Inc. and subsidiaries NetXtreme BCM5719 Gigabit Ethernet PCIe
                                \\-00.1  Broadcom Inc. and subsidiaries NetXtreme BCM5719 Gigabit Ethernet PCIe

      """
    let topology = try TopologyLoader.load(data: Data(text.utf8), path: "domains.txt")
    #expect(topology.count == 6)
    #expect(topology.rootBuses.map(\.description) == ["0000:00", "0001:00", "0002:00"])
    #expect(TreeRenderer.render(topology) == text)
  }
}

extension UInt8 {
  fileprivate var isHexDigitASCII: Bool {
    (0x30...0x39).contains(self) || (0x41...0x46).contains(self) || (0x61...0x66).contains(self)
  }
}
