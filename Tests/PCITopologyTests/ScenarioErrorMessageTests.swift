import Foundation
import Testing

@testable import PCITopology

extension ScenarioTests {
  /// One test per scenario error message: each case makes one edit to a valid document and names
  /// the field path and the words the user must see.
  @Suite("Scenario error messages")
  struct ScenarioErrorMessageTests {
    struct Case: Sendable, CustomTestStringConvertible {
      var from: String
      var to: String
      var field: String
      var fragment: String
      var testDescription: String { "\(field): \(fragment)" }
    }

    static let base = String(decoding: ScenarioSchemaTests.document(), as: UTF8.self)
    static let extraPort = """
      , { "bdf": "00:02.0", "vendor_id": "8086", "device_id": "347a", "class": "0604", "port_type": "root-port",
          "bridge": { "secondary": 1, "subordinate": 1 } }
      """

    static let cases: [Case] = [
      Case(from: #""schema": "dmabuf-explorer/scenario","#, to: "", field: "schema", fragment: "missing"),
      Case(from: #""version": 1,"#, to: "", field: "version", fragment: "missing; expected 1"),
      Case(from: #""version": 1,"#, to: #""version": "one","#, field: "version", fragment: "schema version number"),
      Case(from: #""name": "tiny""#, to: #""name": "Tiny Box""#, field: "name", fragment: "lower-case"),
      Case(from: #""title": "Tiny machine""#, to: #""title": """#, field: "title", fragment: "one non-empty line"),
      Case(from: #""devices": ["#, to: #""devices": [], "x": ["#, field: "devices", fragment: "empty"),
      Case(from: #""devices": ["#, to: #""devicez": ["#, field: "devices", fragment: "missing"),
      Case(from: #""devices": ["#, to: #""devices": [1, "#, field: "devices[0]", fragment: "expected an object"),
      Case(
        from: #""cpu_vendor": "intel""#, to: #""cpu_vendor": "amd64""#, field: "platform.cpu_vendor",
        fragment: "expected one of"),
      Case(
        from: #""cpu_family": 6"#, to: #""cpu_family": "zen""#, field: "platform.cpu_family", fragment: "x86 family"),
      Case(from: #""iommu": "on""#, to: #""iommu": "yes""#, field: "platform.iommu", fragment: #""pt""#),
      Case(from: #""bdf": "01:00.0""#, to: #""bdf": "01:20.0""#, field: "devices[2].bdf", fragment: "device ≤ 1f"),
      Case(from: #""class": "030000""#, to: #""class": "03""#, field: "devices[2].class", fragment: "class code"),
      Case(from: #""class": "030000""#, to: #""class": 300"#, field: "devices[2].class", fragment: "class code"),
      Case(
        from: #""vendor_id": "0x1002""#, to: #""vendor_id": "10020""#, field: "devices[2].vendor_id",
        fragment: "up to 4 digits"),
      Case(
        from: #""secondary": 1, "subordinate": "0x01""#, to: #""subordinate": 1"#,
        field: "devices[1].bridge.secondary", fragment: "missing"),
      Case(
        from: #""secondary": 1, "subordinate": "0x01""#, to: #""secondary": 1"#,
        field: "devices[1].bridge.subordinate", fragment: "missing"),
      Case(
        from: #""secondary": 1, "subordinate": "0x01""#, to: #""secondary": 0, "subordinate": 1"#,
        field: "devices[1].bridge.secondary", fragment: "greater than the bridge's own bus"),
      Case(
        from: #""secondary": 1, "subordinate": "0x01""#, to: #""secondary": 2, "subordinate": 1"#,
        field: "devices[1].bridge.subordinate", fragment: "below the secondary bus"),
      Case(
        from: #""secondary": 1, "subordinate": "0x01""#, to: #""secondary": "1a", "subordinate": 1"#,
        field: "devices[1].bridge.secondary", fragment: "hex string like \"0x1a\""),
      Case(
        from: #""secondary": 1, "subordinate": "0x01" },"#, to: #""secondary": 1, "subordinate": 1, "x": 1 },"#,
        field: "devices[1].bridge.x", fragment: "unknown key"),
      Case(
        from: #""port_type": "root-port","#, to: #""port_type": "root-port", "header_type": 0,"#,
        field: "devices[1].header_type", fragment: "needs header type 1 or 2"),
      Case(
        from: #""port_type": "endpoint","#, to: #""port_type": "endpoint", "header_type": 1,"#,
        field: "devices[2].bridge", fragment: "header type 1 is a bridge"),
      Case(
        from: #""port_type": "root-port","#, to: #""port_type": "endpoint","#,
        field: "devices[1].port_type", fragment: "contradicts 'bridge'"),
      Case(
        from: #""port_type": "root-port","#, to: #""port_type": "root","#,
        field: "devices[1].port_type", fragment: "\"root-port\""),
      Case(
        from: #""vram_offset": "0" } ] }"#, to: #""vram_offset": "0" } ] }"# + extraPort,
        field: "devices[3].bridge.secondary", fragment: "already the secondary bus"),
      Case(
        from: #""visible_vram_size": "256M""#, to: #""visible_vram_size": "32G""#,
        field: "devices[2].visible_vram_size", fragment: "more than vram_size"),
      Case(
        from: #""dma_mask_bits": 44"#, to: #""dma_mask_bits": 8"#, field: "devices[2].dma_mask_bits",
        fragment: "out of range"),
      Case(
        from: #""dma_mask_bits": 44"#, to: #""dma_mask_bits": 44, "iommu_group": -1"#, field: "devices[2].iommu_group",
        fragment: "out of range"),
      Case(from: #"{ "index": 0, "#, to: "{ ", field: "devices[2].bars[0].index", fragment: "missing"),
      Case(
        from: #""size": 1048576, "64bit": false"#,
        to: #""size": 1048576, "64bit": false, "prefetchable": true, "io": true"#,
        field: "devices[2].bars[1].io", fragment: "neither 64-bit nor prefetchable"),
      Case(from: #""index": 5"#, to: #""index": 1"#, field: "devices[2].bars[1].index", fragment: "already used by"),
      Case(
        from: #""address": "0x4000000000""#, to: #""address": "0x4001000000""#, field: "devices[2].bars[0].address",
        fragment: "not aligned"),
      Case(
        from: #""address": "0xf6a00000""#, to: #""address": "0x1f6a00000""#, field: "devices[2].bars[1].address",
        fragment: "below 4 GiB on the bus"),
      Case(
        from: #""address": "0x4000000000""#, to: #""address": "0x4000000000000000000""#,
        field: "devices[2].bars[0].address", fragment: "hex string"),
      Case(
        from: #""size": 1048576, "64bit": false"#, to: #""size": 1048576, "64bit": "no""#,
        field: "devices[2].bars[1].64bit", fragment: "true or false"),
      Case(
        from: #""acs": { "capability": ["SV", "RR", "CR", "UF"], "control": "0x1d" }"#, to: #""acs": 5"#,
        field: "devices[1].acs", fragment: "\"absent\", \"unknown\""),
      Case(
        from: #""acs": { "capability": ["SV", "RR", "CR", "UF"], "control": "0x1d" }"#,
        to: #""acs": { "capability": "0x1d" }"#, field: "devices[1].acs.control", fragment: "missing"),
      Case(from: #""control": "0x1d""#, to: #""control": "0x80""#, field: "devices[1].acs.control", fragment: "≤ 0x7f"),
      Case(from: #""control": "0x1d""#, to: #""control": true"#, field: "devices[1].acs.control", fragment: "ACS bits"),
      Case(
        from: #"{ "name": "fb", "size": "1G", "vram_offset": "0" }"#, to: #"{ "name": "", "size": "1G" }"#,
        field: "devices[2].buffers[0].name", fragment: "non-empty"),
      Case(
        from: #"{ "name": "fb", "size": "1G", "vram_offset": "0" }"#,
        to: #"{ "name": "fb", "size": "1G" }, { "name": "fb", "size": "2G" }"#,
        field: "devices[2].buffers[1].name", fragment: "already named \"fb\""),
      Case(
        from: #"{ "name": "fb", "size": "1G", "vram_offset": "0" }"#, to: #"{ "name": "fb" }"#,
        field: "devices[2].buffers[0].size", fragment: "missing"),
      Case(
        from: #"{ "name": "fb", "size": "1G", "vram_offset": "0" }"#, to: #"{ "name": "fb", "size": "32G" }"#,
        field: "devices[2].buffers[0].size", fragment: "does not fit"),
      Case(
        from: #"{ "name": "fb", "size": "1G", "vram_offset": "0" }"#,
        to: #"{ "name": "fb", "size": "1G", "placement_preference": "GTT" }"#,
        field: "devices[2].buffers[0].placement_preference", fragment: "\"SYSTEM\""),
      Case(
        from: #""buffers": ["#, to: #""buffers": 3, "x": ["#, field: "devices[2].buffers", fragment: "expected a list"),
    ]

    @Test(arguments: cases)
    func eachMistakeIsNamed(mistake: Case) throws {
      try #require(Self.base.contains(mistake.from), "the base document lacks \(mistake.from)")
      let text = Self.base.replacingOccurrences(of: mistake.from, with: mistake.to)
      let failure = try #require(ScenarioSchemaTests.failure(Data(text.utf8)))
      #expect(failure.field == mistake.field, "\(failure.message)")
      #expect(failure.message.contains(mistake.fragment), "\(failure.field): \(failure.message)")
      #expect(failure.message.contains("(line "), "messages carry the line")
    }

    @Test func documentThatIsNotAnObject() throws {
      let failure = try #require(ScenarioSchemaTests.failure(Data("[1, 2]".utf8)))
      #expect(failure.field == "(document)")
      #expect(failure.message.hasPrefix("expected an object"))
    }
  }
}
