import Foundation
import Testing

@testable import PCITopology

/// What a dump implies beyond config space (IOMMU groups) and names kept as lspci prints them.
@Suite struct DumpPlatformFactsTests {
  static let grouped = """
    00:00.0 Host bridge [0600]: Intel Corporation Device [8086:4641] (rev 02)
    \tIOMMU group: 1

    01:00.0 VGA compatible controller [0300]: NVIDIA Corporation Device [10de:2460] (rev a1)
    \tIOMMU group: 14
    \tKernel driver in use: nvidia

    """

  @Test func iommuGroupsMeanTheIOMMUWasOnButNotHowItTranslated() throws {
    let topology = try TopologyLoader.load(data: Data(Self.grouped.utf8), path: "groups.txt")
    #expect(topology.platform.iommu == .on)
    #expect(topology.platform.iommuNote?.contains("translated or passthrough (iommu=pt) is not in it") == true)
    let warnings = topology.warnings.filter { $0.message.contains("list an IOMMU group") }
    #expect(warnings.count == 1)
    #expect(warnings.first?.message.hasPrefix("2 function(s) list an IOMMU group: IOMMU taken as on") == true)
  }

  @Test func noGroupsSayNothingAboutTheIOMMU() throws {
    let text = Self.grouped.replacingOccurrences(of: "\tIOMMU group: 1\n", with: "")
      .replacingOccurrences(of: "\tIOMMU group: 14\n", with: "")
    let topology = try TopologyLoader.load(data: Data(text.utf8), path: "nogroups.txt")
    #expect(topology.platform.iommu == nil)
    #expect(topology.platform.iommuNote == nil)
  }

  /// `lspci -nn` prints `Vendor Device [vvvv:dddd]` for a device its pci.ids lacked; the name
  /// keeps the ID as plain `lspci` prints it (`Vendor Device dddd`), never "Vendor Device".
  @Test func deviceIDsStayInNames() {
    let result = LspciOutputLoader.load(bytes: Array(Self.grouped.utf8), path: "nn.txt", database: nil)
    #expect(result.functions.map(\.name) == ["Intel Corporation Device 4641", "NVIDIA Corporation Device 2460"])
    #expect(NameWithIDs.keepingDeviceID("Device", vendor: 0x1d0f, device: 0xefa1) == "Device 1d0f:efa1")
    #expect(
      NameWithIDs.keepingDeviceID("GA104 [GeForce RTX 3070 Ti]", vendor: 0x10de, device: 0x2482)
        == "GA104 [GeForce RTX 3070 Ti]")
    // A real device name that ends in "Device" stays as it is.
    let genoa = "Advanced Micro Devices, Inc. [AMD] Genoa CCP/PSP 4.0 Device"
    #expect(NameWithIDs.keepingDeviceID(genoa, vendor: 0x1022, device: 0x14ca) == genoa)
    #expect(
      NameWithIDs.keepingDeviceID(
        genoa, vendor: 0x1022, device: 0x14ca, vendorName: "Advanced Micro Devices, Inc. [AMD]") == genoa)
    #expect(
      NameWithIDs.keepingDeviceID(
        "Intel Corporation Device", vendor: 0x8086, device: 0x4641, vendorName: "Intel Corporation")
        == "Intel Corporation Device 4641")
  }
}
