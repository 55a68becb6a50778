import Foundation
import Testing

@testable import PCITopology

extension ScenarioTests {
  /// The scenario reader's promises: every field understood, every mistake named by its path.
  @Suite("Scenario schema")
  struct ScenarioSchemaTests {
    /// A small valid scenario; tests splice single mistakes into it.
    static func document(devices: String = validDevices, extraTop: String = "", version: String = "1") -> Data {
      Data(
        """
        {
          "schema": "dmabuf-explorer/scenario",
          "version": \(version),
          "name": "tiny",
          "title": "Tiny machine",\(extraTop)
          "platform": { "cpu_vendor": "intel", "cpu_family": 6, "iommu": "on", "kernel": "mainline" },
          "devices": [\(devices)]
        }
        """.utf8)
    }

    static let hostBridge = #"{ "bdf": "0000:00:00.0", "vendor_id": "8086", "device_id": "09a2", "class": "0880" }"#
    static let rootPort = """
      { "bdf": "00:01.0", "vendor_id": "8086", "device_id": "347a", "class": "0604", "port_type": "root-port",
        "bridge": { "secondary": 1, "subordinate": "0x01" },
        "acs": { "capability": ["SV", "RR", "CR", "UF"], "control": "0x1d" } }
      """
    static let gpu = """
      { "bdf": "01:00.0", "vendor_id": "0x1002", "device_id": "744c", "class": "030000", "port_type": "endpoint",
        "bars": [ { "index": 0, "address": "0x4000000000", "size": "256M" },
                  { "index": 5, "address": "0xf6a00000", "size": 1048576, "64bit": false } ],
        "driver_profile": "amdgpu", "vram_size": "16G", "visible_vram_size": "256M", "dma_mask_bits": 44,
        "buffers": [ { "name": "fb", "size": "1G", "vram_offset": "0" } ] }
      """
    static let validDevices = [hostBridge, rootPort, gpu].joined(separator: ",\n")

    static func load(_ data: Data) throws -> Topology { try ScenarioLoader.load(data: data, path: "test.json") }

    /// Runs the loader and returns the invalidScenario field and message (fails the test otherwise).
    static func failure(_ data: Data) -> (field: String, message: String)? {
      do {
        _ = try load(data)
        Issue.record("expected the scenario to be rejected")
      } catch let error as TopologyError {
        if case .invalidScenario(_, let field, let message) = error { return (field, message) }
        Issue.record("expected invalidScenario, got \(error)")
      } catch {
        Issue.record("unexpected error \(error)")
      }
      return nil
    }

    @Test func validDocumentLoadsEveryField() throws {
      let topology = try Self.load(Self.document())
      #expect(topology.count == 3)
      #expect(topology.warnings.isEmpty)
      #expect(topology.source.kind == .scenario)
      #expect(topology.source.title == "Tiny machine")
      #expect(topology.platform.cpuVendor == .intel)
      #expect(topology.platform.iommu == .on)
      let port = try #require(topology.function(BDF("0000:00:01.0")!))
      #expect(port.headerType == 1)
      #expect(port.secondaryBus == 1 && port.subordinateBus == 1 && port.primaryBus == 0)
      #expect(port.portType == .rootPort)
      #expect(
        port.acs
          == .present(
            capability: [.sourceValidation, .requestRedirect, .completionRedirect, .upstreamForwarding],
            control: ACSBits(rawValue: 0x1d)))
      let gpuIndex = try #require(topology.index(of: BDF("0000:01:00.0")!))
      let gpu = topology[gpuIndex]
      #expect(gpu.vendorID == 0x1002 && gpu.deviceID == 0x744c && gpu.classCode == 0x030000)
      #expect(gpu.bars.count == 2)
      #expect(gpu.bars[0].size == 256 << 20 && gpu.bars[0].address == 0x40_0000_0000 && gpu.bars[0].is64Bit)
      #expect(gpu.bars[0].isPrefetchable)
      #expect(gpu.bars[1].index == 5 && !gpu.bars[1].is64Bit && !gpu.bars[1].isPrefetchable)
      #expect(gpu.extras.vramSize == 16 << 30 && gpu.extras.visibleVRAMSize == 256 << 20)
      #expect(gpu.extras.dmaMaskBits == 44 && gpu.extras.driverProfile == "amdgpu")
      #expect(gpu.extras.buffers == [BufferSpec(name: "fb", size: 1 << 30, vramOffset: 0)])
      #expect(topology.upstreamBridge(of: gpuIndex) == topology.index(of: BDF("0000:00:01.0")!))
      let host = try #require(topology.function(BDF("0000:00:00.0")!))
      #expect(host.classCode == 0x088000 && host.acs == .absent && host.headerType == 0)
    }

    @Test func iommuGroupsWithoutIOMMUWarn() throws {
      let data = Data(
        String(decoding: Self.document(), as: UTF8.self)
          .replacingOccurrences(of: #""iommu": "on""#, with: #""iommu": "off""#)
          .replacingOccurrences(of: #""port_type": "endpoint","#, with: #""port_type": "endpoint", "iommu_group": 7,"#)
          .utf8)
      let topology = try Self.load(data)
      #expect(topology.warnings.count == 1)
      #expect(topology.warnings.first?.message.hasPrefix("devices[2].iommu_group:") == true)
      #expect(topology.warnings.first?.file == "test.json")
    }

    @Test func builtinPathGivesBuiltinKind() throws {
      let topology = try ScenarioLoader.load(data: Self.document(), path: "builtin:tiny")
      #expect(topology.source.kind == .builtin)
    }

    @Test func unknownKeyIsNamedWithSuggestion() {
      let devices = Self.validDevices.replacingOccurrences(
        of: #""size": "256M""#, with: #""size": "256M", "prefetchible": true"#)
      let failure = Self.failure(Self.document(devices: devices))
      #expect(failure?.field == "devices[2].bars[0].prefetchible")
      #expect(failure?.message.contains("did you mean \"prefetchable\"") == true)
    }

    @Test func unknownTopLevelKey() {
      let failure = Self.failure(Self.document(extraTop: #" "colour": "blue","#))
      #expect(failure?.field == "colour")
    }

    @Test func badHexIDNamesField() {
      let devices = Self.validDevices.replacingOccurrences(of: #""device_id": "744c""#, with: #""device_id": "74g4""#)
      let failure = Self.failure(Self.document(devices: devices))
      #expect(failure?.field == "devices[2].device_id")
      #expect(failure?.message.contains("hex") == true)
    }

    @Test(arguments: [#""256Q""#, #""-1M""#, "0", #""0""#, "18446744073709551616", #""16777216T""#, "true"])
    func badSizeNamesField(size: String) {
      let devices = Self.validDevices.replacingOccurrences(of: #""size": "256M""#, with: #""size": \#(size)"#)
      let failure = Self.failure(Self.document(devices: devices))
      #expect(failure?.field == "devices[2].bars[0].size")
    }

    @Test func sizeAboveTwoToThe63IsRefusedAsTooLarge() {
      let devices = Self.validDevices.replacingOccurrences(
        of: #""size": "256M""#, with: #""size": "0xffffffffffffffff""#)
      let failure = Self.failure(Self.document(devices: devices))
      #expect(failure?.field == "devices[2].bars[0].size")
      #expect(failure?.message.contains("2^63") == true)
    }

    @Test func sizeSuffixes() {
      #expect(ScenarioNumbers.parseSize("256M") == 256 << 20)
      #expect(ScenarioNumbers.parseSize("16G") == 16 << 30)
      #expect(ScenarioNumbers.parseSize("16GiB") == 16 << 30)
      #expect(ScenarioNumbers.parseSize("4K") == 4096)
      #expect(ScenarioNumbers.parseSize("2T") == 2 << 40)
      #expect(ScenarioNumbers.parseSize("0x1000") == 4096)
      #expect(ScenarioNumbers.parseSize("12") == 12)
      #expect(ScenarioNumbers.parseSize("M") == nil)
      #expect(ScenarioNumbers.parseSize("1.5G") == nil)
      #expect(ScenarioNumbers.parseSize("99999999999T") == nil)
      #expect(ScenarioNumbers.formatSize(256 << 20) == "256M")
      #expect(ScenarioNumbers.formatSize(16 << 30) == "16G")
      #expect(ScenarioNumbers.formatSize(1000) == "1000")
    }

    @Test func duplicateBDFIsRejected() {
      let devices = [Self.hostBridge, Self.rootPort, Self.gpu, Self.gpu].joined(separator: ",")
      let failure = Self.failure(Self.document(devices: devices))
      #expect(failure?.field == "devices[3].bdf")
      #expect(failure?.message.contains("devices[2]") == true)
    }

    @Test func missingFieldIsNamed() {
      let devices = Self.validDevices.replacingOccurrences(of: #""vendor_id": "0x1002", "#, with: "")
      let failure = Self.failure(Self.document(devices: devices))
      #expect(failure?.field == "devices[2].vendor_id")
      #expect(failure?.message.contains("missing") == true)
    }

    @Test func wrongVersionIsRejected() {
      let failure = Self.failure(Self.document(version: "2"))
      #expect(failure?.field == "version")
      #expect(failure?.message.contains("not supported") == true)
    }

    @Test func wrongSchemaIsRejected() {
      let data = Data(
        String(decoding: Self.document(), as: UTF8.self)
          .replacingOccurrences(of: "dmabuf-explorer/scenario", with: "something-else").utf8)
      #expect(Self.failure(data)?.field == "schema")
    }

    @Test func busNumberAbove255IsRejected() {
      let devices = Self.validDevices.replacingOccurrences(of: #""secondary": 1"#, with: #""secondary": 256"#)
      let failure = Self.failure(Self.document(devices: devices))
      #expect(failure?.field == "devices[1].bridge.secondary")
      #expect(failure?.message.contains("out of range") == true)
    }

    @Test func barIndexAbove5IsRejected() {
      let devices = Self.validDevices.replacingOccurrences(of: #""index": 5"#, with: #""index": 6"#)
      #expect(Self.failure(Self.document(devices: devices))?.field == "devices[2].bars[1].index")
    }

    @Test func sixtyFourBitBARAtIndex5IsRejected() {
      let devices = Self.validDevices.replacingOccurrences(
        of: #""size": 1048576, "64bit": false"#, with: #""size": 1048576"#)
      #expect(Self.failure(Self.document(devices: devices))?.field == "devices[2].bars[1].64bit")
    }

    @Test func nonPowerOfTwoBARIsRejected() {
      let devices = Self.validDevices.replacingOccurrences(of: #""size": "256M""#, with: #""size": "300M""#)
      let failure = Self.failure(Self.document(devices: devices))
      #expect(failure?.field == "devices[2].bars[0].size")
      #expect(failure?.message.contains("power of two") == true)
    }

    @Test func controlBitsOutsideCapabilityAreRejected() {
      let devices = Self.validDevices.replacingOccurrences(of: #""control": "0x1d""#, with: #""control": ["RR", "EC"]"#)
      let failure = Self.failure(Self.document(devices: devices))
      #expect(failure?.field == "devices[1].acs.control")
      #expect(failure?.message.contains("EC") == true)
    }

    @Test func unknownACSNameIsNamedByListIndex() {
      let devices = Self.validDevices.replacingOccurrences(of: #"["SV", "RR", "CR", "UF"]"#, with: #"["SV", "XX"]"#)
      #expect(Self.failure(Self.document(devices: devices))?.field == "devices[1].acs.capability[1]")
    }

    @Test func rootPortWithoutBridgeIsRejected() {
      let devices = Self.validDevices.replacingOccurrences(
        of: #""bridge": { "secondary": 1, "subordinate": "0x01" },"#, with: "")
      #expect(Self.failure(Self.document(devices: devices))?.field == "devices[1].bridge")
    }

    @Test func bufferOutsideVRAMIsRejected() {
      let devices = Self.validDevices.replacingOccurrences(of: #""vram_offset": "0""#, with: #""vram_offset": "16G""#)
      #expect(Self.failure(Self.document(devices: devices))?.field == "devices[2].buffers[0].vram_offset")
    }

    @Test func errorMessageCarriesLineNumber() {
      let devices = Self.validDevices.replacingOccurrences(of: #""device_id": "744c""#, with: #""device_id": 744"#)
      let failure = Self.failure(Self.document(devices: devices))
      // The GPU's device_id sits on the 11th line of the generated document.
      #expect(failure?.message.hasSuffix("(line 11)") == true, "\(failure?.message ?? "")")
    }

    @Test func syntaxErrorNamesTheLine() {
      let text = "{\n  \"schema\": \"dmabuf-explorer/scenario\",\n  \"version\": 1\n  \"name\": \"x\"\n}"
      do {
        _ = try Self.load(Data(text.utf8))
        Issue.record("expected a syntax error")
      } catch let error as TopologyError {
        guard case .malformed(let path, let line, let message) = error else {
          Issue.record("expected malformed, got \(error)")
          return
        }
        #expect(path == "test.json")
        #expect(line == 3)
        #expect(message.contains("missing comma"))
      } catch {
        Issue.record("unexpected \(error)")
      }
    }

    @Test(arguments: [
      "", "[", "{", "{\"a\":}", "nul", "\"abc", "{\"a\":1,}", "[1,]", "01", "{\"a\":1 \"b\":2}",
      String(repeating: "[", count: 5000), "\u{0}", "{\"a\":\"\\ud800\"}",
    ])
    func brokenJSONNeverTraps(text: String) {
      #expect(throws: TopologyError.self) { try Self.load(Data(text.utf8)) }
    }

    @Test func jsonParserKeepsNumbersExactAndLines() throws {
      let value = try JSONParser.parse(
        Array("{\n\"a\": 18446744073709551615,\n\"b\": [true, null, \"\\u00e9\\ud83d\\ude00\"]\n}".utf8))
      guard case .object(let members) = value.kind else {
        Issue.record("expected an object")
        return
      }
      #expect(members[0].value.kind == .number("18446744073709551615"))
      #expect(members[0].value.line == 2)
      #expect(members[1].value.line == 3)
      #expect(
        members[1].value.kind
          == .array([
            JSONValue(.bool(true), line: 3), JSONValue(.null, line: 3), JSONValue(.string("é😀"), line: 3),
          ]))
    }

    @Test func duplicateKeyIsASyntaxError() {
      #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(Array("{\"a\":1,\"a\":2}".utf8)) }
    }
  }
}
