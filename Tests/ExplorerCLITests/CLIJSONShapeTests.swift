import Foundation
import Testing

/// The JSON documents the commands print, parsed with JSONSerialization and checked key by key
/// against the shapes issues 2 and 3 specify (extra keys are allowed; the specified ones must be
/// there with the specified types).
@Suite("CLI JSON shapes")
struct CLIJSONShapeTests {
  // MARK: - tree

  @Test(arguments: ["teaching-workstation", "multi-domain", "xeon-acs-redirect"])
  func treeJSON(scenario: String) throws {
    let result = try runCLI(["tree", "--topology", scenario, "--format", "json"])
    #expect(result.status == 0 && result.stderr.isEmpty, "\(result)")
    let document = try JSONShape.object(result.stdout)
    let devices = try #require(document["devices"] as? [[String: Any]], "devices[] missing")
    #expect(!devices.isEmpty)
    let bdfs = devices.compactMap { $0["bdf"] as? String }
    #expect(bdfs.count == devices.count, "every device has a string bdf")
    #expect(Set(bdfs).count == bdfs.count, "duplicate bdf")
    for device in devices {
      let bdf = device["bdf"] as? String ?? "?"
      #expect(JSONShape.bdfPattern(bdf), "bdf \(bdf)")
      #expect(device.keys.contains("parent"), "\(bdf): parent key missing")
      if let parent = device["parent"] as? String {
        #expect(bdfs.contains(parent), "\(bdf): parent \(parent) is not a listed device")
        #expect(parent != bdf)
      } else {
        #expect(JSONShape.isNull(device["parent"]), "\(bdf): parent is neither a BDF nor null")
      }
      let rootBus = try #require(device["root_bus"] as? String, "\(bdf): root_bus")
      #expect(JSONShape.busPattern(rootBus), "\(bdf): root_bus \(rootBus)")
      // The root bus is in the device's own domain.
      #expect(rootBus.prefix(4) == bdf.prefix(4), "\(bdf): root_bus \(rootBus)")
    }
  }

  @Test func treeJSONKnownParents() throws {
    let document = try JSONShape.object(
      try runCLI(["tree", "--topology", "xeon-acs-redirect", "--format", "json"]).stdout)
    let devices = try #require(document["devices"] as? [[String: Any]])
    func device(_ bdf: String) -> [String: Any]? { devices.first { $0["bdf"] as? String == bdf } }
    // GPU 1a:00.0 (issue 2's example BDF) sits under switch downstream port 18:01.0, root bus 16.
    #expect(device("0000:1a:00.0")?["parent"] as? String == "0000:18:01.0")
    #expect(device("0000:1a:00.0")?["root_bus"] as? String == "0000:16")
    #expect(device("0000:18:01.0")?["parent"] as? String == "0000:17:00.0")
    #expect(device("0000:17:00.0")?["parent"] as? String == "0000:16:02.0")
    #expect(JSONShape.isNull(device("0000:16:02.0")?["parent"]))
    #expect(device("0000:31:00.0")?["root_bus"] as? String == "0000:30")
  }

  // MARK: - matrix

  @Test(arguments: ["teaching-workstation", "xeon-acs-redirect", "intel-desktop-refused"])
  func matrixJSON(scenario: String) throws {
    let result = try runCLI(["matrix", "--topology", scenario, "--format", "json"])
    #expect(result.status == 0 && result.stderr.isEmpty, "\(result)")
    let document = try JSONShape.object(result.stdout)
    let pairs = try #require(document["pairs"] as? [[String: Any]], "pairs[] missing")
    let endpoints = try #require(document["endpoints"] as? [[String: Any]], "endpoints[] missing")
    #expect(pairs.count == endpoints.count * (endpoints.count - 1), "every ordered pair of distinct endpoints")
    var seen = Set<String>()
    for pair in pairs {
      let provider = try #require(pair["provider"] as? String)
      let client = try #require(pair["client"] as? String)
      #expect(JSONShape.bdfPattern(provider) && JSONShape.bdfPattern(client))
      #expect(provider != client)
      #expect(seen.insert("\(provider)>\(client)").inserted, "pair listed twice")
      let mapType = try #require(pair["map_type"] as? String)
      #expect(["BUS_ADDR", "THRU_HOST_BRIDGE", "NOT_SUPPORTED"].contains(mapType), "map_type \(mapType)")
      #expect(JSONShape.isInteger(pair["distance"]), "distance must be a number")
      let distance = try #require(JSONShape.int(pair["distance"]))
      #expect((mapType == "NOT_SUPPORTED") == (distance == -1), "\(provider)->\(client): \(mapType) \(distance)")
      if mapType != "NOT_SUPPORTED" { #expect(distance >= 0) }
      let redirect = try #require(pair["acs_redirect"] as? [Any], "acs_redirect must be a list")
      #expect(redirect.allSatisfy { ($0 as? String).map(JSONShape.bdfPattern) ?? false })
      if mapType == "BUS_ADDR" { #expect(redirect.isEmpty) }
    }
    // The summary agrees with the pairs.
    let summary = try #require(document["summary"] as? [String: Any])
    for type in ["BUS_ADDR", "THRU_HOST_BRIDGE", "NOT_SUPPORTED"] {
      #expect(JSONShape.int(summary[type]) == pairs.filter { $0["map_type"] as? String == type }.count, "\(type)")
    }
  }

  // MARK: - simulate

  /// Checks one simulate document against issue 3's shape; returns the attachments.
  @discardableResult
  static func checkSimulateShape(
    _ text: String, importers: [String], sourceLocation: SourceLocation = #_sourceLocation
  ) throws -> (buffer: [String: Any], attachments: [[String: Any]]) {
    let document = try JSONShape.object(text)
    let buffer = try #require(document["buffer"] as? [String: Any], "buffer", sourceLocation: sourceLocation)
    #expect(buffer["name"] is String, sourceLocation: sourceLocation)
    #expect(JSONShape.isInteger(buffer["size"]), "buffer.size", sourceLocation: sourceLocation)
    #expect(buffer["placement_preference"] is String, sourceLocation: sourceLocation)
    let size = JSONShape.int(buffer["size"]) ?? -1
    #expect(size > 0, sourceLocation: sourceLocation)

    let steps = try #require(document["steps"] as? [[String: Any]], "steps", sourceLocation: sourceLocation)
    #expect(!steps.isEmpty, sourceLocation: sourceLocation)
    for step in steps {
      #expect(
        (step["function"] as? String).map { !$0.isEmpty } ?? false, "every step names a kernel function",
        sourceLocation: sourceLocation)
      #expect(step["actor"] is String, sourceLocation: sourceLocation)
      let source = step["source"] as? [String: Any]
      #expect(
        source?["file"] is String && source?["function"] is String && source?["release"] is String
          && source?["confirmed"] is Bool, "every step has a source", sourceLocation: sourceLocation)
    }

    let attachments = try #require(
      document["attachments"] as? [[String: Any]], "attachments", sourceLocation: sourceLocation)
    #expect(attachments.compactMap { $0["importer"] as? String } == importers, sourceLocation: sourceLocation)
    for attachment in attachments {
      let importer = attachment["importer"] as? String ?? "?"
      #expect(
        JSONShape.isBool(attachment["allow_peer2peer"]), "\(importer) allow_peer2peer", sourceLocation: sourceLocation)
      #expect(JSONShape.isBool(attachment["peer2peer"]), "\(importer) peer2peer", sourceLocation: sourceLocation)
      let mapType = attachment["map_type"] as? String
      #expect(
        // UNKNOWN: a capture that lacks what the decision needs (bridges, host-bridge IDs).
        mapType.map { ["BUS_ADDR", "THRU_HOST_BRIDGE", "NOT_SUPPORTED", "UNKNOWN"].contains($0) }
          ?? JSONShape.isNull(attachment["map_type"]),
        "\(importer) map_type", sourceLocation: sourceLocation)
      // distance: what pci_p2pdma_distance() returned; null only when no P2P check ran (map_type null:
      // exporters that never ask, like udmabuf or i915).
      #expect(
        JSONShape.isInteger(attachment["distance"]) || (mapType == nil && JSONShape.isNull(attachment["distance"])),
        "\(importer) distance \(String(describing: attachment["distance"])) with map_type \(String(describing: mapType))",
        sourceLocation: sourceLocation)
      let placement = attachment["placement"] as? String
      #expect(
        placement == "VRAM" || placement == "SYSTEM" || placement == "GTT",
        "\(importer) placement \(String(describing: placement))",
        sourceLocation: sourceLocation)
      #expect(attachment.keys.contains("error") && attachment.keys.contains("sg_table"), sourceLocation: sourceLocation)
      if let error = attachment["error"] as? String {
        #expect(error.hasPrefix("-E"), "\(importer) error \(error)", sourceLocation: sourceLocation)
        #expect(
          JSONShape.isNull(attachment["sg_table"]), "a failed attachment has no sg table",
          sourceLocation: sourceLocation)
        continue
      }
      #expect(
        JSONShape.isNull(attachment["error"]), "\(importer) error is neither null nor a string",
        sourceLocation: sourceLocation)
      let table = try #require(
        attachment["sg_table"] as? [String: Any], "\(importer) sg_table", sourceLocation: sourceLocation)
      #expect(
        JSONShape.isInteger(table["nents"]) && JSONShape.isInteger(table["orig_nents"]), sourceLocation: sourceLocation)
      let nents = JSONShape.int(table["nents"]) ?? -1
      let entries = try #require(table["entries"] as? [[String: Any]], sourceLocation: sourceLocation)
      #expect(
        entries.count == nents, "\(importer): JSON is unlimited, so every DMA entry is listed",
        sourceLocation: sourceLocation)
      var total = 0
      var problems: [String] = []
      for (index, entry) in entries.enumerated() {
        total += JSONShape.int(entry["dma_len"]) ?? 0
        if problems.count < 5, let problem = Self.entryProblem(entry) { problems.append("entry \(index): \(problem)") }
      }
      #expect(problems.isEmpty, "\(importer): \(problems.joined(separator: "; "))", sourceLocation: sourceLocation)
      #expect(
        total == size, "\(importer): the DMA entries cover the buffer exactly (\(total) vs \(size))",
        sourceLocation: sourceLocation)
    }
    return (buffer, attachments)
  }

  /// What is wrong with one sg entry, or nil: `dma_address` "0x...", `dma_len` a positive number,
  /// `page` null or "pfn:0x...", `target` "system RAM" (with a page) or "BARn of BDF +0x..."
  /// (without one).
  static func entryProblem(_ entry: [String: Any]) -> String? {
    guard let address = entry["dma_address"] as? String, JSONShape.isHexLiteral(address) else {
      return "dma_address \(String(describing: entry["dma_address"]))"
    }
    guard JSONShape.isInteger(entry["dma_len"]), let length = JSONShape.int(entry["dma_len"]), length > 0 else {
      return "dma_len \(String(describing: entry["dma_len"]))"
    }
    guard entry.keys.contains("page") else { return "no page key" }
    let page = entry["page"] as? String
    if let page {
      guard page.hasPrefix("pfn:"), JSONShape.isHexLiteral(page.dropFirst(4)) else { return "page \(page)" }
    } else if !JSONShape.isNull(entry["page"]) {
      return "page is neither null nor a string"
    }
    guard let target = entry["target"] as? String else { return "no target" }
    if target == "system RAM" {
      return page == nil ? "a system RAM entry without a page" : nil
    }
    let words = target.split(separator: " ", omittingEmptySubsequences: false)
    guard words.count == 4, words[0].count == 4, words[0].hasPrefix("BAR"), let bar = Int(words[0].dropFirst(3)),
      bar <= 5,
      words[1] == "of", JSONShape.bdfPattern(words[2]), words[3].hasPrefix("+"),
      JSONShape.isHexLiteral(words[3].dropFirst())
    else { return "target \(target)" }
    return page == nil ? nil : "a BAR entry with a struct page"
  }

  /// VRAM export to a switch-local importer, IOMMU off: one entry inside the GPU's BAR at
  /// BAR0 (0x4000000000) + the buffer's vram_offset (1 GiB), as the scenario file says.
  @Test func simulateJSONVRAMEntries() throws {
    let result = try runCLI(
      [
        "simulate", "--topology", "teaching-workstation", "--exporter", "0000:03:00.0", "--importer", "0000:05:00.0",
        "--format", "json",
      ])
    #expect(result.status == 0 && result.stderr.isEmpty, "\(result)")
    let (buffer, attachments) = try Self.checkSimulateShape(result.stdout, importers: ["0000:05:00.0"])
    #expect(buffer["name"] as? String == "render-target")
    #expect(JSONShape.int(buffer["size"]) == 256 << 20)
    let attachment = try #require(attachments.first)
    #expect(attachment["map_type"] as? String == "BUS_ADDR")
    #expect(JSONShape.int(attachment["distance"]) == 4)
    #expect(attachment["placement"] as? String == "VRAM")
    #expect(attachment["peer2peer"] as? Bool == true)
    let table = try #require(attachment["sg_table"] as? [String: Any])
    let entries = try #require(table["entries"] as? [[String: Any]])
    #expect(entries.count == 1)
    #expect(entries.first?["dma_address"] as? String == "0x4040000000")
    #expect(entries.first?["target"] as? String == "BAR0 of 0000:03:00.0 +0x40000000")
    #expect(JSONShape.isNull(entries.first?["page"]))
  }

  /// The same share with the IOMMU on: the importer gets an IOVA, not the BAR address.
  @Test func simulateJSONWithIOMMUGivesIOVAs() throws {
    let result = try runCLI(
      [
        "simulate", "--topology", "teaching-workstation", "--exporter", "0000:03:00.0", "--importer", "0000:05:00.0",
        "--iommu", "on", "--format", "json",
      ])
    #expect(result.status == 0, "\(result)")
    let (_, attachments) = try Self.checkSimulateShape(result.stdout, importers: ["0000:05:00.0"])
    let entries = try #require((attachments.first?["sg_table"] as? [String: Any])?["entries"] as? [[String: Any]])
    #expect(!entries.isEmpty)
    #expect(entries.allSatisfy { $0["dma_address"] as? String != "0x4040000000" }, "an IOVA, not the CPU address")
    #expect(
      entries.allSatisfy {
        $0["target"] as? String == "BAR0 of 0000:03:00.0 +0x40000000"
          || ($0["target"] as? String ?? "").hasPrefix("BAR0 of 0000:03:00.0 +0x")
      })
  }

  /// A static importer drags the buffer to system memory for everyone: page-backed entries.
  @Test func simulateJSONStaticImporterMovesToSystem() throws {
    let result = try runCLI(
      [
        "simulate", "--topology", "teaching-workstation", "--exporter", "0000:03:00.0", "--importer", "0000:05:00.0",
        "--importer", "0000:07:00.0", "--format", "json",
      ])
    #expect(result.status == 0, "\(result)")
    let (_, attachments) = try Self.checkSimulateShape(result.stdout, importers: ["0000:05:00.0", "0000:07:00.0"])
    for attachment in attachments {
      #expect(attachment["placement"] as? String == "GTT", "amdgpu pins in GTT (TTM_PL_TT), not TTM SYSTEM")
      let entries = (attachment["sg_table"] as? [String: Any])?["entries"] as? [[String: Any]] ?? []
      #expect(
        !entries.isEmpty && entries.allSatisfy { $0["target"] as? String == "system RAM" && $0["page"] is String })
    }
    #expect(attachments.last?["allow_peer2peer"] as? Bool == false, "the capture card imports statically")
  }

  /// A refused VFIO map: error "-EINVAL" and no sg table.
  @Test func simulateJSONFailedAttachment() throws {
    let result = try runCLI(
      [
        "simulate", "--topology", "intel-desktop-refused", "--exporter", "0000:01:00.0", "--exporter-profile",
        "vfio-pci",
        "--importer", "0000:03:00.0", "--format", "json",
      ])
    #expect(result.status == 0, "a failed share is a result, not an input error\n\(result)")
    let (_, attachments) = try Self.checkSimulateShape(result.stdout, importers: ["0000:03:00.0"])
    #expect(attachments.first?["error"] as? String == "-EINVAL")
    #expect(attachments.first?["map_type"] as? String == "NOT_SUPPORTED")
    #expect(JSONShape.int(attachments.first?["distance"]) == -1)
  }

  // MARK: - scenarios

  @Test func scenariosJSON() throws {
    let result = try runCLI(["scenarios", "--format", "json"])
    #expect(result.status == 0 && result.stderr.isEmpty, "\(result)")
    let document = try JSONShape.object(result.stdout)
    let scenarios = try #require(document["scenarios"] as? [[String: Any]])
    for scenario in scenarios {
      #expect(scenario["name"] is String && scenario["title"] is String)
      #expect(JSONShape.isInteger(scenario["functions"]) && (JSONShape.int(scenario["functions"]) ?? 0) > 0)
      #expect(JSONShape.isBool(scenario["default"]))
    }
    #expect(scenarios.filter { $0["default"] as? Bool == true }.count == 1, "exactly one default")
    #expect(scenarios.first?["name"] as? String == "teaching-workstation")
    #expect(scenarios.first?["default"] as? Bool == true)
    // One entry per file in assets/topologies.
    let files = try FileManager.default.contentsOfDirectory(
      atPath: CLI.packageRoot.appendingPathComponent("assets/topologies").path)
    let fileNames = Set(files.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) })
    #expect(Set(scenarios.compactMap { $0["name"] as? String }) == fileNames)
    // The text listing has the same names, one line each.
    let text = try runCLI(["scenarios"])
    #expect(text.stdout.split(separator: "\n").count == scenarios.count)
  }

  @Test func scenarioDetailsJSON() throws {
    let result = try runCLI(["scenarios", "xeon-acs-redirect", "--format", "json"])
    #expect(result.status == 0, "\(result)")
    let document = try JSONShape.object(result.stdout)
    #expect(document["name"] as? String == "xeon-acs-redirect")
    #expect(document["title"] is String && document["description"] is String && document["platform"] is String)
    #expect(JSONShape.int(document["functions"]) == 15)
  }

  // MARK: - explain

  @Test func explainJSON() throws {
    let result = try runCLI(
      [
        "explain", "--topology", "xeon-acs-redirect", "--provider", "0000:19:00.0", "--client", "0000:1a:00.0",
        "--client", "0000:31:00.0", "--format", "json",
      ])
    #expect(result.status == 0 && result.stderr.isEmpty, "\(result)")
    let document = try JSONShape.object(result.stdout)
    #expect(document["provider"] as? String == "0000:19:00.0")
    let verdicts = try #require(document["verdicts"] as? [[String: Any]])
    #expect(verdicts.compactMap { $0["client"] as? String } == ["0000:1a:00.0", "0000:31:00.0"])
    for verdict in verdicts {
      #expect(verdict["provider"] as? String == "0000:19:00.0")
      #expect(["BUS_ADDR", "THRU_HOST_BRIDGE", "NOT_SUPPORTED"].contains(verdict["map_type"] as? String ?? ""))
      #expect(JSONShape.isInteger(verdict["distance"]))
      #expect(verdict["acs_redirect"] is [Any] && verdict["dmesg_verbose"] is [Any] && verdict["dmesg_quiet"] is [Any])
      #expect(verdict["reason"] is String)
      #expect(verdict["kernel_parameter"] is String || JSONShape.isNull(verdict["kernel_parameter"]))
      let walk = try #require(verdict["walk"] as? [[String: Any]])
      #expect(!walk.isEmpty && walk.allSatisfy { ($0["bdf"] as? String).map(JSONShape.bdfPattern) ?? false })
    }
    let many = try #require(document["distance_many"] as? [String: Any])
    for mode in ["verbose", "quiet"] {
      let entry = try #require(many[mode] as? [String: Any], "\(mode)")
      #expect(JSONShape.isInteger(entry["distance"]) && entry["dmesg"] is [Any])
    }
  }
}
