import Foundation
import TestSupport
import Testing

@testable import PCITopology

/// The CPU and IOMMU facts read next to sysfs: what `cpu_supports_p2pdma()` and the DMA layer
/// would see on the machine itself.
@Suite struct LivePlatformTests {
  @Test(arguments: [
    ("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel name\t: AMD EPYC 9654\n", CPUVendor.amd, 25),
    ("processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel name\t: Intel Xeon\n", .intel, 6),
    ("processor\t: 0\nvendor_id\t: HygonGenuine\ncpu family\t: 24\nmodel name\t: Hygon C86\n", .hygon, 24),
    ("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 21\nmodel name\t: AMD Opteron\n", .amd, 21),
  ])
  func x86VendorAndFamily(text: String, vendor: CPUVendor, family: Int) {
    let parsed = LivePlatform.parseCPUInfo(text)
    #expect(parsed.vendor == vendor)
    #expect(parsed.family == family)
    #expect(parsed.modelName != nil)
  }

  @Test func armAndPowerHaveNoFamily() {
    let arm = LivePlatform.parseCPUInfo("processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\n")
    #expect(arm.vendor == .arm && arm.family == nil)
    let power = LivePlatform.parseCPUInfo("processor\t: 0\ncpu\t\t: POWER9, altivec supported\n")
    #expect(power.vendor == .power && power.modelName?.hasPrefix("POWER9") == true)
  }

  /// Only the first processor counts (the kernel looks at the boot CPU).
  @Test func firstProcessorWins() {
    let text =
      "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\n\nprocessor\t: 1\nvendor_id\t: GenuineIntel\ncpu family\t: 6\n"
    let parsed = LivePlatform.parseCPUInfo(text)
    #expect(parsed.vendor == .amd && parsed.family == 25)
  }

  @Test func iommuModeFromGroupTypes() throws {
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("iommu-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: base) }
    func groups(_ types: [String?]) throws -> String {
      let directory = base.appendingPathComponent(UUID().uuidString)
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
      for (number, type) in types.enumerated() {
        let group = directory.appendingPathComponent("\(number)")
        try FileManager.default.createDirectory(at: group, withIntermediateDirectories: true)
        if let type { try Data("\(type)\n".utf8).write(to: group.appendingPathComponent("type")) }
      }
      return directory.path
    }
    #expect(LivePlatform.iommuMode(groupsDirectory: try groups([])) == .off)
    #expect(LivePlatform.iommuMode(groupsDirectory: try groups(["DMA-FQ", "DMA"])) == .on)
    #expect(LivePlatform.iommuMode(groupsDirectory: try groups(["identity", "identity"])) == .passthrough)
    #expect(LivePlatform.iommuMode(groupsDirectory: try groups([nil])) == nil)
    #expect(LivePlatform.iommuMode(groupsDirectory: base.appendingPathComponent("missing").path) == nil)
  }

  /// A copied tree that kept `proc/cpuinfo` gives the topology its platform; one without it
  /// leaves the platform unknown (the P2P layer then infers and says so).
  @Test func copiedTreeCarriesTheCPU() throws {
    let gpu = PCIFunction(
      bdf: BDF(bus: 0, device: 2, function: 0), vendorID: 0x1002, deviceID: 0x7448, classCode: 0x030000)
    let fake = try FakeSysfs(functions: [gpu])
    defer { fake.remove() }
    let withoutCPU = try TopologyLoader.load(spec: "sysfs:\(fake.root.path)")
    #expect(withoutCPU.platform.cpuVendor == nil)
    let proc = fake.root.appendingPathComponent("proc")
    try FileManager.default.createDirectory(at: proc, withIntermediateDirectories: true)
    try Data("processor\t: 0\nvendor_id\t: HygonGenuine\ncpu family\t: 24\n".utf8)
      .write(to: proc.appendingPathComponent("cpuinfo"))
    let withCPU = try TopologyLoader.load(spec: "sysfs:\(fake.root.path)")
    #expect(withCPU.platform.cpuVendor == .hygon)
    #expect(withCPU.platform.cpuFamily == 24)
  }
}
