import Foundation
import P2PDMA
import PCITopology
import TestSupport
import Testing

/// Issue 13 item 5: a dump or sysfs `config` that stops (or skips rows) before the extended
/// capability that would hold ACS must give ACS *unknown*, never *absent*, and the verdict must
/// say so. Wrongly reading "absent" turns a redirected pair into BUS_ADDR.
@Suite struct CutConfigACSTests {
  /// Host bridge, root port, switch with two redirecting downstream ports, a GPU and a NIC.
  /// Config from `ConfigSpaceEncoder`: AER at 0x100 whose next pointer leads to ACS at 0x148.
  static func machine() -> (functions: [PCIFunction], gpu: BDF, nic: BDF, ports: [BDF]) {
    var builder = TopologyBuilder()
    builder.hostBridge()
    let root = builder.rootPort("0000:00:01.0")
    let ports = builder.pcieSwitch(below: root, downstreamPorts: 2, downstreamACS: TopologyBuilder.acsRedirecting)
    let gpu = builder.endpoint(below: ports.downstream[0])
    let nic = builder.endpoint(below: ports.downstream[1], vendor: 0x15b3, deviceID: 0x101b, classCode: 0x020700)
    let functions = builder.build().functions.map { function -> PCIFunction in
      var function = function
      function.config = ConfigSpaceEncoder.encode(function)
      return function
    }
    return (functions, gpu, nic, ports.downstream)
  }

  /// The `-xxxx` dump of `functions` with every hex row whose offset satisfies `drop` removed.
  static func dump(_ functions: [PCIFunction], droppingRows drop: (Int) -> Bool) -> Data {
    let text = String(decoding: HexDumpWriter.write(functions), as: UTF8.self)
    let kept = text.split(separator: "\n", omittingEmptySubsequences: false).filter { line in
      guard let colon = line.firstIndex(of: ":"), line.distance(from: line.startIndex, to: colon) == 3,
        let offset = Int(line[..<colon], radix: 16)
      else { return true }
      return !drop(offset)
    }
    return Data(kept.joined(separator: "\n").utf8)
  }

  static func engine(_ topology: Topology) -> P2PEngine {
    P2PEngine(
      topology: topology,
      configuration: P2PConfiguration(
        cpu: .intel, disableACSRedirect: [], acsControlOverrides: [:], allowlistIncludesQueuedEntries: true))
  }

  @Test func wholeDumpReadsACSAndGoesThroughTheHostBridge() throws {
    let machine = Self.machine()
    let topology = try TopologyLoader.load(data: Self.dump(machine.functions) { _ in false }, path: "whole.txt")
    for port in machine.ports {
      #expect(topology.function(port)?.acs == TopologyBuilder.acsRedirecting)
    }
    let verdict = try Self.engine(topology).verdict(provider: machine.gpu, client: machine.nic)
    #expect(verdict.mapType == .thruHostBridge)
    #expect(verdict.unknownACS.isEmpty)
  }

  /// Rows up to 0x13f: AER at 0x100 points at 0x148, which is not in the file.
  @Test func dumpCutBeforeACSGivesUnknownNotAbsent() throws {
    let machine = Self.machine()
    let data = Self.dump(machine.functions) { $0 >= 0x140 }
    let topology = try TopologyLoader.load(data: data, path: "cut.txt")
    for port in machine.ports {
      let acs = try #require(topology.function(port)?.acs)
      guard case .unknown(let reason) = acs else {
        Issue.record("\(port): ACS \(acs), expected unknown")
        continue
      }
      #expect(reason.contains("0x148"), "\(reason)")
      #expect(
        topology.warnings.contains { $0.file == "cut.txt" && $0.line != nil && $0.message.contains("\(port)") },
        "no file:line warning for \(port): \(topology.warnings)")
    }
    let verdict = try Self.engine(topology).verdict(provider: machine.gpu, client: machine.nic)
    #expect(Set(verdict.unknownACS) == Set(machine.ports))
    #expect(verdict.alternativeIfUnknownACSRedirects == .thruHostBridge)
    #expect(verdict.reason.contains("ACS state of"), "\(verdict.reason)")
  }

  /// Every row present except the one holding the ACS header: a gap is unknown bytes, not 0xff.
  @Test func missingRowInTheMiddleGivesUnknown() throws {
    let machine = Self.machine()
    let topology = try TopologyLoader.load(
      data: Self.dump(machine.functions) { $0 == 0x140 }, path: "gap.txt")
    for port in machine.ports {
      #expect(topology.function(port)?.acs.isUnknown == true, "\(String(describing: topology.function(port)?.acs))")
    }
  }

  /// A list that ends inside the bytes we have decides: rows to 0x13f of an endpoint whose AER
  /// has no next pointer say "no ACS".
  @Test func cutAfterTheEndOfTheListStillDecides() throws {
    let machine = Self.machine()
    let topology = try TopologyLoader.load(data: Self.dump(machine.functions) { $0 >= 0x140 }, path: "cut.txt")
    #expect(topology.function(machine.gpu)?.acs == .absent)
  }

  @Test(arguments: [0x140, 0x147, 0x14a])
  func shortSysfsConfigGivesUnknown(length: Int) throws {
    let machine = Self.machine()
    let sysfs = try FakeSysfs(functions: machine.functions, configReadLength: length)
    defer { sysfs.remove() }
    let topology = try TopologyLoader.load(spec: "sysfs:\(sysfs.root.path)")
    for port in machine.ports {
      #expect(
        topology.function(port)?.acs.isUnknown == true, "\(length): \(String(describing: topology.function(port)?.acs))"
      )
    }
    #expect(topology.warnings.contains { $0.message.contains("ACS unknown") })
    let verdict = try Self.engine(topology).verdict(provider: machine.gpu, client: machine.nic)
    #expect(Set(verdict.unknownACS) == Set(machine.ports))
  }

  @Test func sysfs256BytesMeansNoExtendedSpace() throws {
    let machine = Self.machine()
    let sysfs = try FakeSysfs(functions: machine.functions, configReadLength: 256)
    defer { sysfs.remove() }
    let topology = try TopologyLoader.load(spec: "sysfs:\(sysfs.root.path)")
    #expect(topology.function(machine.ports[0])?.acs == .absent)
  }
}
