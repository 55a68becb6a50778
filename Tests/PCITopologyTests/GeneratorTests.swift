import Foundation
import Testing

@testable import PCITopology

/// The synthetic machine generator: exact sizes, determinism, config space that says what the
/// model says, and dumps that real `lspci -F` reads into the same tree as ours.
@Suite("Machine generator")
struct GeneratorTests {
  static func machine(_ count: Int, seed: UInt64 = 1) -> MachineGenerator.Machine {
    MachineGenerator(options: .init(functionCount: count, seed: seed)).generate()
  }

  /// `DDDD:BB:DD.F/BB:DD.F/...` from the root bus down, the way `lspci -PP -D` prints a path.
  static func lspciPath(_ topology: Topology, _ index: Int) -> String {
    let chain = topology.pathToRoot(from: index).reversed().map { topology[$0].bdf }
    return chain.enumerated().map { $0.offset == 0 ? $0.element.description : $0.element.shortDescription }
      .joined(separator: "/")
  }

  @Test(arguments: [1, 2, 3, 4, 5, 7, 10, 33, 100, 257, 1000])
  func producesExactlyTheRequestedCount(count: Int) {
    for seed: UInt64 in [1, 2, 3, 42, 9999] {
      let machine = Self.machine(count, seed: seed)
      #expect(machine.functions.count == count, "seed \(seed)")
      let topology = machine.topology(location: "generated")
      #expect(topology.count == count, "duplicate BDFs for seed \(seed)")
      #expect(topology.warnings.isEmpty, "seed \(seed): \(topology.warnings.prefix(3))")
    }
  }

  @Test func largeMachineSpansDomainsAndHasCascadedSwitches() {
    let topology = Self.machine(4000, seed: 7).topology(location: "generated")
    #expect(topology.count == 4000)
    #expect(topology.warnings.isEmpty)
    let domains = Set(topology.rootBuses.map(\.domain)).count
    #expect(domains > 1)
    #expect(topology.rootBuses.count > domains, "several host bridges per domain")
    // Some endpoint sits below two switches: its path holds two upstream ports.
    let cascaded = topology.functions.indices.contains { index in
      topology.pathToRoot(from: index).filter { topology[$0].portType == .upstreamPort }.count >= 2
    }
    #expect(cascaded)
    // ACS is mixed: some ports redirect, some do not.
    let controls = topology.functions.compactMap(\.acs.control)
    #expect(controls.contains { !$0.intersection(.p2pRedirect).isEmpty })
    #expect(controls.contains { $0.intersection(.p2pRedirect).isEmpty })
    #expect(topology.functions.contains { $0.isMultiFunction })
    // Every root bus starts with a function pci_host_bridge_dev() accepts.
    for bus in topology.rootBuses {
      #expect(topology.hostBridgeDevice(forRootBus: bus) != nil, "\(bus)")
    }
  }

  /// Seeds pick the platform: AMD (CPU rule), Ice Lake (allowlisted) and Broadwell-EP (refused).
  @Test func seedsCoverTheThreeHostBridgeCases() {
    var hostBridges = Set<String>()
    for seed: UInt64 in 1...40 {
      let topology = Self.machine(60, seed: seed).topology(location: "generated")
      for bus in topology.rootBuses {
        if let host = topology.hostBridgeDevice(forRootBus: bus) { hostBridges.insert(topology[host].idPair) }
      }
    }
    #expect(hostBridges == ["1022:14a4", "8086:09a2", "8086:6f00"])
  }

  @Test(arguments: [
    (MachineGenerator.Platform.amd, "1022:14a4"), (.icelake, "8086:09a2"), (.broadwell, "8086:6f00"),
  ])
  func platformCanBeChosen(platform: MachineGenerator.Platform, hostBridge: String) {
    let topology = MachineGenerator(options: .init(functionCount: 300, seed: 3, platform: platform)).generate()
      .topology(location: "generated")
    #expect(topology.count == 300 && topology.warnings.isEmpty)
    for bus in topology.rootBuses {
      #expect(topology.hostBridgeDevice(forRootBus: bus).map { topology[$0].idPair } == hostBridge, "\(bus)")
    }
  }

  @Test func singleRootBusPerDomainOnRequest() {
    for seed: UInt64 in 1...5 {
      let topology = MachineGenerator(options: .init(functionCount: 2000, seed: seed, singleRootBusPerDomain: true))
        .generate().topology(location: "generated")
      #expect(topology.count == 2000 && topology.warnings.isEmpty)
      #expect(topology.rootBuses.allSatisfy { $0.bus == 0 }, "seed \(seed): \(topology.rootBuses)")
    }
  }

  @Test func sameSeedSameMachineOtherSeedOtherMachine() {
    let first = HexDumpWriter.write(Self.machine(500, seed: 11).functions)
    let again = HexDumpWriter.write(Self.machine(500, seed: 11).functions)
    let other = HexDumpWriter.write(Self.machine(500, seed: 12).functions)
    #expect(first == again)
    #expect(first != other)
  }

  @Test func configSpaceEncodesTheModel() throws {
    let machine = Self.machine(800, seed: 5)
    for function in machine.functions {
      let config = try #require(function.config)
      #expect(config.count == 4096)
      #expect(config.u16(0) == function.vendorID && config.u16(2) == function.deviceID)
      #expect(UInt32(config.u8(0x09)!) | UInt32(config.u16(0x0a)!) << 8 == function.classCode)
      #expect(config.u8(0x0e)! & 0x7f == function.headerType)
      #expect((config.u8(0x0e)! & 0x80 != 0) == function.isMultiFunction)
      if function.isBridge {
        #expect(config.u8(0x18) == function.bdf.bus)
        #expect(config.u8(0x19) == function.secondaryBus && config.u8(0x1a) == function.subordinateBus)
      }
      if let portType = function.portType {
        let express = try #require(config.capabilityOffset(id: PCIRegister.capabilityIDExpress))
        #expect(Int((config.u16(express + 2)! >> 4) & 0xf) == portType.rawValue)
      }
      let acsOffset = config.extendedCapabilityOffset(id: PCIRegister.extendedCapabilityIDACS)
      switch function.acs {
      case .present(let capability, let control):
        let offset = try #require(acsOffset, "\(function.bdf) lost its ACS capability")
        #expect(config.u16(offset + PCIRegister.acsCapabilityOffset) == capability.rawValue)
        #expect(config.u16(offset + PCIRegister.acsControlOffset) == control.rawValue)
      default:
        #expect(acsOffset == nil)
      }
      for bar in function.bars {
        let low = try #require(config.u32(0x10 + 4 * bar.index))
        #expect((low & 0x4 != 0) == bar.is64Bit && (low & 0x8 != 0) == bar.isPrefetchable)
        var address = UInt64(low & ~0xf)
        if bar.is64Bit { address |= UInt64(config.u32(0x14 + 4 * bar.index)!) << 32 }
        #expect(address == bar.address)
        if let size = bar.size, bar.address != 0 { #expect(bar.address % size == 0) }
      }
    }
  }

  @Test func bridgeWindowsCoverEveryBARBelow() throws {
    let machine = Self.machine(600, seed: 8)
    let topology = machine.topology(location: "generated")
    for index in 0..<topology.count where topology[index].isBridge {
      let config = try #require(topology[index].config)
      let prefBase = UInt64(config.u16(0x24)! & 0xfff0) << 16 | UInt64(config.u32(0x28)!) << 32
      let prefLimit = UInt64(config.u16(0x26)! & 0xfff0) << 16 | 0xfffff | UInt64(config.u32(0x2c)!) << 32
      var stack = topology.children(of: index)
      while let child = stack.popLast() {
        stack.append(contentsOf: topology.children(of: child))
        for bar in topology[child].bars where bar.isPrefetchable && bar.address != 0 {
          #expect(bar.address >= prefBase && bar.address + bar.size! - 1 <= prefLimit, "\(topology[child].bdf)")
        }
      }
    }
  }

  @Test func dumpHasLspciLineShapes() {
    let text = String(decoding: HexDumpWriter.write(Self.machine(3, seed: 1).functions), as: UTF8.self)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    #expect(lines.first?.hasPrefix("0000:00:00.0 ") == true)
    #expect(lines.contains("00: " + lines[1].dropFirst(4)))
    #expect(lines.contains { $0.hasPrefix("ff0: ") })
    // 3 functions × (header + 256 hex lines + blank line).
    #expect(lines.count == 3 * 258 + 1)
    #expect(lines[1].count == 3 + 16 * 3)
  }

  @Test func scenarioOutputLoadsBackToTheSameFunctions() throws {
    let machine = Self.machine(300, seed: 21)
    let text = ScenarioWriter.write(
      machine.functions, name: "generated", title: machine.title, description: "line one\n\"quoted\"",
      platform: machine.platform)
    let scenario = try ScenarioLoader.loadScenario(data: Data(text.utf8), path: "generated.json")
    #expect(scenario.description == "line one\n\"quoted\"")
    let loaded = scenario.topology
    #expect(loaded.platform == machine.platform)
    var expected = machine.functions.sorted { $0.bdf < $1.bdf }
    for index in expected.indices { expected[index].config = nil }
    #expect(loaded.functions.count == expected.count)
    for (got, want) in zip(loaded.functions, expected) {
      #expect(got == want, "\(want.bdf) changed in the scenario round trip")
    }
  }

  /// Runs /usr/bin/lspci and returns stdout, stderr and the exit status.
  static func runLspci(_ arguments: [String]) throws -> (String, String, Int32) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/lspci")
    process.arguments = arguments
    let outputPipe = Pipe()
    let errorPipe = Pipe()
    process.standardOutput = outputPipe
    process.standardError = errorPipe
    try process.run()
    // Read stdout fully before waiting: a large tree would otherwise fill the pipe and block.
    let output = outputPipe.fileHandleForReading.readDataToEndOfFile()
    let errors = errorPipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (String(decoding: output, as: UTF8.self), String(decoding: errors, as: UTF8.self), process.terminationStatus)
  }

  @Test(
    .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/lspci"), "needs pciutils' lspci"),
    arguments: [(UInt64(1), 60), (UInt64(2), 700), (UInt64(3), 2500)])
  func realLspciReadsTheSameTree(seed: UInt64, count: Int) throws {
    let machine = Self.machine(count, seed: seed)
    let topology = machine.topology(location: "generated")
    let file = FileManager.default.temporaryDirectory
      .appendingPathComponent(
        "dmabuf-explorer-generated-\(seed)-\(count)-\(ProcessInfo.processInfo.processIdentifier).txt")
    try Data(HexDumpWriter.write(machine.functions)).write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }

    let (output, errors, status) = try Self.runLspci(["-F", file.path, "-PP", "-D", "-n"])
    #expect(status == 0)
    #expect(errors.isEmpty, "lspci complained: \(errors.prefix(300))")
    // The tree view must be accepted too, with one device line per function.
    let (tree, treeErrors, treeStatus) = try Self.runLspci(["-F", file.path, "-tv"])
    #expect(treeStatus == 0 && treeErrors.isEmpty)
    let treeDevices = tree.split(separator: "\n").map { $0.matches(of: /[0-9a-f]{2}\.[0-7](  |-\[)/).count }
    #expect(treeDevices.reduce(0, +) == count)

    // Each line: "PATH CLASS: VENDOR:DEVICE" with optional " (rev xx)".
    var lspciLines = Set<String>()
    for line in output.split(separator: "\n") {
      let words = line.split(separator: " ")
      guard words.count >= 3 else { continue }
      lspciLines.insert("\(words[0]) \(words[1]) \(words[2])")
    }
    var ours = Set<String>()
    for index in 0..<topology.count {
      let function = topology[index]
      ours.insert("\(Self.lspciPath(topology, index)) \(hex(function.classCode >> 8, width: 4)): \(function.idPair)")
    }
    #expect(lspciLines.count == count)
    #expect(ours == lspciLines, "first differences: \(Array(ours.symmetricDifference(lspciLines).sorted().prefix(4)))")
  }
}

/// The generator's dump read back by our own hex loader: the same functions, relations and ACS.
@Suite("Generator dump round trip")
struct GeneratorRoundTripTests {
  @Test(arguments: [(UInt64(4), 50), (UInt64(5), 900)])
  func hexLoaderReadsBackTheSameMachine(seed: UInt64, count: Int) throws {
    let machine = MachineGenerator(options: .init(functionCount: count, seed: seed)).generate()
    let expected = machine.topology(location: "generated")
    let dump = Data(HexDumpWriter.write(machine.functions))
    let loaded = try TopologyLoader.load(data: dump, path: "generated.txt")
    #expect(loaded.source.kind == .hexDump)
    #expect(loaded.warnings.isEmpty, "\(loaded.warnings.prefix(3))")
    #expect(loaded.count == expected.count)
    for index in 0..<min(loaded.count, expected.count) {
      let got = loaded[index]
      let want = expected[index]
      #expect(got.bdf == want.bdf)
      #expect(got.vendorID == want.vendorID && got.deviceID == want.deviceID && got.classCode == want.classCode)
      #expect(got.headerType == want.headerType && got.isMultiFunction == want.isMultiFunction, "\(want.bdf)")
      #expect(got.portType == want.portType, "\(want.bdf)")
      #expect(got.secondaryBus == want.secondaryBus && got.subordinateBus == want.subordinateBus, "\(want.bdf)")
      #expect(got.acs == want.acs, "\(want.bdf)")
      #expect(got.bars.map(\.address) == want.bars.map(\.address), "\(want.bdf)")
      #expect(got.bars.map(\.is64Bit) == want.bars.map(\.is64Bit), "\(want.bdf)")
      #expect(got.bars.map(\.isPrefetchable) == want.bars.map(\.isPrefetchable), "\(want.bdf)")
      #expect(loaded.upstreamBridge(of: index) == expected.upstreamBridge(of: index), "\(want.bdf)")
    }
    #expect(loaded.rootBuses == expected.rootBuses)
  }
}
