import Foundation
import P2PDMA
import PCITopology
import Testing

@testable import DMABufSim

@Suite struct ReportTests {
  static func multiImporter() throws -> ShareSimulation {
    try SimFixtures.simulate(
      SimFixtures.topology(exporter: SimFixtures.gpu(buffers: [SimFixtures.framebuffer])),
      importers: [SimFixtures.switchImporter, SimFixtures.rootPortImporter])
  }

  @Test func jsonHasTheIssueShape() throws {
    let simulation = try SimFixtures.simulate(
      SimFixtures.topology(exporter: SimFixtures.gpu(buffers: [SimFixtures.framebuffer])),
      importers: [SimFixtures.switchImporter])
    let text = try SimulationReport.json(simulation)
    let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    let buffer = try #require(object["buffer"] as? [String: Any])
    #expect(buffer["name"] as? String == "fb")
    #expect(buffer["size"] as? Int == 8 << 20)
    #expect(buffer["placement_preference"] as? String == "VRAM")
    let steps = try #require(object["steps"] as? [[String: Any]])
    #expect(steps.count == simulation.steps.count)
    #expect(steps.contains { ($0["p2p"] as? [String: Any])?["map_type"] as? String == "BUS_ADDR" })
    let attachment = try #require((object["attachments"] as? [[String: Any]])?.first)
    #expect(attachment["importer"] as? String == "0000:04:00.0")
    #expect(attachment["allow_peer2peer"] as? Bool == true)
    #expect(attachment["peer2peer"] as? Bool == true)
    #expect(attachment["map_type"] as? String == "BUS_ADDR")
    #expect(attachment["distance"] as? Int == 4)
    #expect(attachment["placement"] as? String == "VRAM")
    #expect(attachment["error"] is NSNull)
    let table = try #require(attachment["sg_table"] as? [String: Any])
    #expect(table["nents"] as? Int == 4 && table["orig_nents"] as? Int == 4)
    let entry = try #require((table["entries"] as? [[String: Any]])?.first)
    #expect(entry["dma_address"] as? String == "0xc000100000")
    #expect(entry["dma_len"] as? Int == 1 << 20)
    #expect(entry["page"] is NSNull)
    #expect(entry["target"] as? String == "BAR0 of 0000:03:00.0 +0x100000")
  }

  @Test func jsonPagesAndLimitsAndErrors() throws {
    let simulation = try Self.multiImporter()
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(try SimulationReport.json(simulation, maxEntries: 2).utf8))
        as? [String: Any])
    let attachments = try #require(object["attachments"] as? [[String: Any]])
    let table = try #require(attachments[1]["sg_table"] as? [String: Any])
    let entries = try #require(table["entries"] as? [[String: Any]])
    #expect(entries.count == 2)
    #expect((entries[0]["page"] as? String)?.hasPrefix("pfn:0x") == true)
    #expect(entries[0]["target"] as? String == "system RAM")
    #expect(attachments[1]["placement"] as? String == "GTT")
    #expect(attachments[0]["invalidations"] as? Int == 1)
  }

  /// The sg entries write their own bytes (JSONDirectWritable); their Encodable form, which
  /// Foundation's encoder uses, must say the same thing (VRAM entries and page-backed ones).
  @Test func sgEntriesDirectBytesMatchTheirEncodableForm() throws {
    let vram = try SimFixtures.simulate(
      SimFixtures.topology(exporter: SimFixtures.gpu(buffers: [SimFixtures.framebuffer])),
      importers: [SimFixtures.switchImporter])
    let tables = try (vram.attachments + Self.multiImporter().attachments).compactMap(\.sgTable)
    #expect(tables.count == 3)
    var texts = ""
    for table in tables {
      let entries = SGEntriesJSON(table: table, count: table.nents)
      let direct = try JSONOutputEncoder().encode(entries)
      texts += direct
      let foundation = try JSONEncoder().encode(entries)
      let directObjects = try #require(try JSONSerialization.jsonObject(with: Data(direct.utf8)) as? NSArray)
      let foundationObjects = try #require(try JSONSerialization.jsonObject(with: foundation) as? NSArray)
      #expect(directObjects.count == table.nents)
      #expect(directObjects == foundationObjects)
    }
    #expect(texts.contains("\"page\":null") && texts.contains("\"page\":\"pfn:0x"))
  }

  @Test func jsonStreamsInChunks() throws {
    let simulation = try Self.multiImporter()
    var chunks: [String] = []
    try SimulationReport.writeJSON(simulation, maxEntries: nil) { chunks.append($0) }
    #expect(try chunks.joined() == SimulationReport.json(simulation))
    #expect(chunks.allSatisfy { $0.utf8.count < 128 * 1024 })
  }

  @Test func textTraceNamesFunctionsAndTheTradeoff() throws {
    let simulation = try Self.multiImporter()
    let text = SimulationReport.text(simulation, maxEntries: 3)
    #expect(text.contains("dma_buf_invalidate_mappings"))
    #expect(text.contains("amdgpu_dma_buf_pin"))
    #expect(text.contains("more entries (--max-entries)"))
    #expect(text.contains("Struct pages (the 2018 trade-off)"))
    #expect(text.contains("32 GiB -> 512 MiB"))
    #expect(jsonStringLiteral("a\"b\\c\n\u{1}") == "\"a\\\"b\\\\c\\n\\u0001\"")
  }
}
