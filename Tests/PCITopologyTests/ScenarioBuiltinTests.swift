import Assets
import Foundation
import Testing

@testable import PCITopology

extension ScenarioTests {
  /// Every built-in scenario loads cleanly and has the shape its description promises.
  @Suite("Built-in scenarios")
  struct ScenarioBuiltinTests {
    static let expectedNames = [
      "teaching-workstation", "switch-local-p2p", "xeon-acs-redirect", "intel-desktop-refused",
      "amd-zen-root-ports", "multi-domain", "small-bar", "cross-socket", "hygon-not-amd",
    ]
    /// Driver profiles that export buffers from their own memory.
    static let exportingProfiles: Set<String> = ["amdgpu", "xe", "i915", "vfio-pci", "udmabuf"]

    static func load(_ name: String) throws -> Scenario {
      let data = try #require(BuiltinAssets.scenarioData(named: name), "missing built-in \(name)")
      return try ScenarioLoader.loadScenario(data: data, path: "builtin:\(name)")
    }

    static func index(_ topology: Topology, _ text: String) throws -> Int {
      let bdf = try #require(BDF(text))
      return try #require(topology.index(of: bdf), "no function \(text)")
    }

    /// The first device on both paths to the root, as `calc_map_type_and_dist` finds it
    /// (each path includes the device itself); nil when the paths only meet at the host bridge.
    static func nearestCommonUpstream(_ topology: Topology, _ first: String, _ second: String) throws -> BDF? {
      let secondPath = Set(topology.pathToRoot(from: try index(topology, second)))
      return topology.pathToRoot(from: try index(topology, first)).first(where: secondPath.contains).map {
        topology[$0].bdf
      }
    }

    @Test func defaultComesFirstAndAllExpectedExist() {
      let names = BuiltinAssets.scenarioNames
      #expect(names.first == BuiltinAssets.defaultScenarioName)
      #expect(Set(Self.expectedNames).isSubset(of: Set(names)), "\(names)")
    }

    @Test(arguments: expectedNames)
    func loadsCleanly(name: String) throws {
      let scenario = try Self.load(name)
      let topology = scenario.topology
      #expect(scenario.name == name, "file name and \"name\" field must agree")
      #expect(topology.warnings.isEmpty, "\(topology.warnings)")
      #expect(topology.source.kind == .builtin)
      #expect(!scenario.title.isEmpty && !scenario.description.isEmpty)
      #expect(topology.platform.cpuVendor != nil && topology.platform.iommu != nil)
      #expect(topology.platform.kernel == "mainline")
      for function in topology.functions {
        if let profile = function.extras.driverProfile, Self.exportingProfiles.contains(profile) {
          #expect(!function.extras.buffers.isEmpty, "\(function.bdf) (\(profile)) can export but has no buffer")
        }
        #expect(function.name != nil && function.vendorName != nil, "\(function.bdf) lacks a name")
        if function.isBridge {
          #expect(topology.secondaryBus(of: topology.index(of: function.bdf)!) != nil, "\(function.bdf) leads nowhere")
        }
        // Bridges and endpoints in a PCIe scenario carry a port type (conventional PCI excepted).
        for bar in function.bars {
          #expect(bar.size != nil && bar.address != 0, "\(function.bdf) BAR\(bar.index) is unassigned")
        }
      }
      #expect(topology.functions.contains { $0.extras.driverProfile == "amdgpu" || $0.extras.driverProfile == "xe" })
    }

    /// The schema documentation's complete example must itself be a valid scenario.
    @Test func readmeExampleLoads() throws {
      let directory = try #require(BuiltinAssets.topologiesDirectory)
      let readme = try String(contentsOf: directory.appendingPathComponent("README.md"), encoding: .utf8)
      let parts = readme.components(separatedBy: "```json\n")
      try #require(parts.count == 2, "README should hold exactly one json example")
      let example = try #require(parts[1].components(separatedBy: "```").first)
      let scenario = try ScenarioLoader.loadScenario(data: Data(example.utf8), path: "README.md")
      #expect(scenario.name == "example")
      #expect(scenario.topology.warnings.isEmpty, "\(scenario.topology.warnings)")
      let gpu = try #require(scenario.topology.function(BDF("0000:03:00.0")!))
      #expect(gpu.extras.buffers.count == 3 && gpu.subsystemDeviceID == 0x0e0d)
    }

    @Test func everyImporterKindAppearsSomewhere() throws {
      var profiles = Set<String>()
      var vendorClasses = Set<String>()
      for name in Self.expectedNames {
        for function in try Self.load(name).topology.functions {
          if let profile = function.extras.driverProfile { profiles.insert(profile) }
          vendorClasses.insert("\(hex(function.vendorID, width: 4)):\(hex(function.classCode >> 8, width: 4))")
        }
      }
      #expect(profiles.isSuperset(of: ["amdgpu", "xe", "i915", "mlx5", "nvme"]), "\(profiles)")
      #expect(vendorClasses.contains("15b3:0207"), "an mlx5 RDMA function (15b3, class 0207)")
    }

    @Test func teachingWorkstationShape() throws {
      let topology = try Self.load("teaching-workstation").topology
      #expect(topology.platform.cpuVendor == .amd && (topology.platform.cpuFamily ?? 0) >= 0x17)
      let switchUpstream = try #require(BDF("0000:01:00.0"))
      #expect(topology.function(switchUpstream)?.portType == .upstreamPort)
      #expect(try Self.nearestCommonUpstream(topology, "03:00.0", "04:00.0") == switchUpstream)
      #expect(try Self.nearestCommonUpstream(topology, "03:00.0", "05:00.0") == switchUpstream)
      #expect(try Self.nearestCommonUpstream(topology, "05:00.0", "05:00.1") == BDF("0000:02:02.0"))
      #expect(try Self.nearestCommonUpstream(topology, "03:00.0", "06:00.0") == nil)
      // GPU path: GPU, downstream port, upstream port, root port.
      #expect(topology.pathToRoot(from: try Self.index(topology, "03:00.0")).count == 4)
      #expect(!topology.functions.contains { $0.classCode >> 16 == 0x03 && $0.bdf.bus == 0 }, "no iGPU")
      #expect(topology.functions.filter { $0.extras.driverProfile == "amdgpu" }.count == 2)
      // A static importer on a root port of its own.
      let capture = topology[try Self.index(topology, "07:00.0")]
      #expect(capture.extras.driverProfile == "v4l2" && capture.extras.buffers.isEmpty)
    }

    @Test func switchLocalShape() throws {
      let topology = try Self.load("switch-local-p2p").topology
      #expect(try Self.nearestCommonUpstream(topology, "03:00.0", "04:00.0") == BDF("0000:01:00.0"))
      #expect(try Self.nearestCommonUpstream(topology, "03:00.0", "05:00.0") == nil)
      let host = try #require(topology.hostBridgeDevice(forRootBus: BusID(domain: 0, bus: 0)))
      #expect(topology[host].idPair == "8086:4660")
    }

    @Test func xeonACSRedirectShape() throws {
      let topology = try Self.load("xeon-acs-redirect").topology
      #expect(topology.platform.iommu == .on)
      let host = try #require(topology.hostBridgeDevice(forRootBus: BusID(domain: 0, bus: 0x16)))
      let gpuIndex = try Self.index(topology, "19:00.0")
      #expect(topology.rootBus(of: gpuIndex) == BusID(domain: 0, bus: 0x16))
      #expect(topology[host].idPair == "8086:09a2")
      #expect(try Self.nearestCommonUpstream(topology, "19:00.0", "1a:00.0") == BDF("0000:17:00.0"))
      for port in ["18:00.0", "18:01.0"] {
        let control = try #require(topology[try Self.index(topology, port)].acs.control)
        #expect(!control.intersection(.p2pRedirect).isEmpty, "\(port) must redirect")
      }
      #expect(topology.rootBuses.count == 3)
      // A VFIO exporter behind the same switch, its buffer inside its largest BAR.
      let fpga = topology[try Self.index(topology, "1c:00.0")]
      #expect(fpga.extras.driverProfile == "vfio-pci" && fpga.driver == "vfio-pci")
      #expect(try Self.nearestCommonUpstream(topology, "1c:00.0", "19:00.0") == BDF("0000:17:00.0"))
      let fpgaWindow = try #require(fpga.bars.compactMap(\.size).max())
      #expect(fpga.extras.buffers.allSatisfy { ($0.vramOffset ?? 0) + $0.size <= fpgaWindow })
    }

    @Test func intelDesktopShape() throws {
      let topology = try Self.load("intel-desktop-refused").topology
      #expect(try Self.nearestCommonUpstream(topology, "01:00.0", "03:00.0") == nil)
      let host = try #require(topology.hostBridgeDevice(forRootBus: BusID(domain: 0, bus: 0)))
      #expect(topology[host].idPair == "8086:4c43")
      #expect(topology.functions.contains { $0.extras.driverProfile == "i915" && $0.bdf.bus == 0 })
      #expect(topology.functions.filter { $0.extras.driverProfile == "xe" }.count == 2)
    }

    @Test func amdZenRootPortsShape() throws {
      let topology = try Self.load("amd-zen-root-ports").topology
      #expect(topology.platform.cpuVendor == .amd && topology.platform.cpuFamily == 0x19)
      #expect(try Self.nearestCommonUpstream(topology, "01:00.0", "02:00.0") == nil)
      for port in ["00:01.1", "00:01.2"] {
        let function = topology[try Self.index(topology, port)]
        #expect(function.portType == .rootPort)
        #expect(function.acs.control?.contains(.requestRedirect) == true)
      }
    }

    @Test func multiDomainShape() throws {
      let topology = try Self.load("multi-domain").topology
      #expect(Set(topology.rootBuses.map(\.domain)).count >= 2)
      for bus in topology.rootBuses {
        let host = try #require(topology.hostBridgeDevice(forRootBus: bus))
        #expect(topology[host].portType == .rootPort)
      }
      #expect(try Self.nearestCommonUpstream(topology, "0001:03:00.0", "0001:04:00.0") == BDF("0001:01:00.0"))
      #expect(try Self.nearestCommonUpstream(topology, "0001:03:00.0", "0030:01:00.0") == nil)
      #expect(topology.functions.flatMap(\.bars).contains { $0.busOffset != 0 })
    }

    @Test func smallBARShape() throws {
      let topology = try Self.load("small-bar").topology
      let small = topology[try Self.index(topology, "05:00.0")]
      let visible = try #require(small.extras.visibleVRAMSize)
      #expect(try #require(small.extras.vramSize) >= 16 << 30)
      #expect(visible == 256 << 20 && small.bars.first?.size == visible)
      #expect(small.extras.buffers.contains { $0.size > visible })
      let high = topology[try Self.index(topology, "04:00.0")]
      #expect(try #require(high.bars.first).address >= 1 << 44)
      #expect(small.extras.dmaMaskBits == 44)
      #expect(try Self.nearestCommonUpstream(topology, "04:00.0", "05:00.0") == BDF("0000:02:00.0"))
    }

    @Test func hygonShape() throws {
      let topology = try Self.load("hygon-not-amd").topology
      #expect(topology.platform.cpuVendor == .hygon && topology.platform.cpuFamily == 0x18)
      let host = try #require(topology.hostBridgeDevice(forRootBus: BusID(domain: 0, bus: 0)))
      #expect(topology[host].idPair == "1d94:1450")
      #expect(try Self.nearestCommonUpstream(topology, "01:00.0", "02:00.0") == nil)
    }

    @Test func crossSocketShape() throws {
      let topology = try Self.load("cross-socket").topology
      #expect(topology.rootBuses.map(\.bus) == [0x00, 0x80])
      let second = try #require(topology.hostBridgeDevice(forRootBus: BusID(domain: 0, bus: 0x80)))
      #expect(topology[second].portType == .rootPort && topology[second].idPair == "8086:6f04")
      #expect(try Self.nearestCommonUpstream(topology, "02:00.0", "03:00.0") == nil)
    }

    /// Lessons are short, titled, and their "Try it" commands name built-ins and BDFs that exist.
    @Test func lessonsPointAtRealScenariosAndDevices() throws {
      let names = BuiltinAssets.lessonNames
      #expect(names.count >= 6, "\(names)")
      #expect(names.first == BuiltinAssets.firstLessonName)
      for name in names {
        let text = try #require(BuiltinAssets.lesson(named: name))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first?.hasPrefix("# ") == true, "\(name) needs a title line")
        #expect(lines.count <= 60, "\(name) is not short")
        let commands = lines.filter { $0.hasPrefix("    dmabuf-explorer ") }
        #expect(!commands.isEmpty, "\(name) has no 'Try it' command")
        for command in commands {
          let words = command.split(separator: " ").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "'")) }
          let topologyName = try #require(words.firstIndex(of: "--topology").map { words[$0 + 1] }, "\(command)")
          let topology = try Self.load(topologyName).topology
          for (offset, word) in words.enumerated()
          where ["--provider", "--client", "--exporter", "--importer"].contains(word) {
            let bdf = try #require(BDF(words[offset + 1]), "\(command)")
            #expect(topology.function(bdf) != nil, "\(name): \(bdf) is not in \(topologyName)")
          }
        }
      }
      #expect(BuiltinAssets.lesson(named: "../topologies/small-bar") == nil, "names must not escape the folder")
    }
  }
}
