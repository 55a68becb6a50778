import Foundation
import Testing

/// Partial inputs through the binary: UNKNOWN with the reason in text and JSON, one warning on
/// stderr per load.
@Suite("CLI on partial inputs") struct PartialInputCLITests {
  static let gpuSection = "server-gpu8-xeon-e5-4x-gtx1080ti-2x-pex8747_nvbugreport_lspci-d10de-v-xxx.txt"

  @Test(.enabled(if: CLI.realCapturesAvailable, "../shared/data/real not found"))
  func explainSaysUnknownWithTheReason() throws {
    let path = CLI.realCapture(Self.gpuSection)
    let result = try runCLI([
      "explain", "--topology", path, "--provider", "04:00.0", "--client", "05:00.0", "--format", "json",
    ])
    #expect(result.status == 0, "\(result)")
    let object = try JSONShape.object(result.stdout)
    let verdict = try #require((object["verdicts"] as? [[String: Any]])?.first)
    #expect(verdict["map_type"] as? String == "UNKNOWN")
    #expect(JSONShape.isNull(verdict["distance"]))
    let reason = verdict["reason"] as? String ?? ""
    #expect(reason.contains("the bridges above 0000:04 and 0000:05 are not in the input — it looks filtered with -d"))
    let partial = object["partial_input"] as? [String: Any]
    #expect((partial?["buses"] as? [[String: Any]])?.count == 4)
    let cpu = object["cpu"] as? [String: Any]
    #expect((cpu?["source"] as? String)?.contains("10de") == false, "a GPU was taken for the host bridge")
    #expect(result.stderrLines.filter { $0.contains("partial input: ") }.count == 1, "\(result.stderr)")

    let text = try runCLI(["explain", "--topology", path, "--provider", "04:00.0", "--client", "05:00.0"])
    #expect(text.stdout.contains("Verdict: UNKNOWN"))
    #expect(text.stdout.contains("add `lspci -t` or a full dump"))
    #expect(!text.stdout.contains("PCI_P2PDMA_MAP_NOT_SUPPORTED"))
  }

  /// The nvidia-smi class of a pair whose bridges are missing is not known either: the GPU
  /// section alone once called every pair NODE ("between host bridges") and the two functions of
  /// one GPU PHB; with the switch section and the tree, the pair under one PEX 8747 is PIX.
  @Test(.enabled(if: CLI.realCapturesAvailable, "../shared/data/real not found"))
  func connectionClassIsUnknownWhereTheBridgesAreMissing() throws {
    let path = CLI.realCapture(Self.gpuSection)
    let json = try runCLI(["matrix", "--topology", path, "--format", "json"])
    let pairs = try JSONShape.object(json.stdout)["pairs"] as? [[String: Any]] ?? []
    #expect(pairs.count == 56)
    #expect(pairs.allSatisfy { $0["topo"] as? String == "?" }, "\(pairs.map { $0["topo"] ?? "" })")
    let text = try runCLI(["matrix", "--topology", path])
    #expect(!text.stdout.contains(" NODE "), "\(text.stdout)")
    #expect(text.stdout.contains("?  not known: the bridges above one of the devices are not in the input"))
    let full = try runCLI([
      "matrix", "--topology", path, "--topology",
      CLI.realCapture(Self.gpuSection.replacingOccurrences(of: "d10de", with: "d10b5")),
      "--topology", CLI.realCapture(Self.gpuSection.replacingOccurrences(of: "d10de-v-xxx", with: "t")), "--format",
      "json",
    ])
    let merged = try JSONShape.object(full.stdout)["pairs"] as? [[String: Any]] ?? []
    let gpus = try #require(
      merged.first { $0["provider"] as? String == "0000:04:00.0" && $0["client"] as? String == "0000:05:00.0" })
    #expect(gpus["topo"] as? String == "PIX")
  }

  @Test(.enabled(if: CLI.realCapturesAvailable, "../shared/data/real not found"))
  func matrixMarksEveryPairUnknown() throws {
    let path = CLI.realCapture(Self.gpuSection)
    let json = try runCLI(["matrix", "--topology", path, "--format", "json"])
    #expect(json.status == 0, "\(json)")
    let object = try JSONShape.object(json.stdout)
    let pairs = object["pairs"] as? [[String: Any]] ?? []
    #expect(pairs.count == 56)
    #expect(
      pairs.allSatisfy {
        $0["map_type"] as? String == "UNKNOWN" && ($0["reason"] as? String ?? "").contains("lspci -t")
      })
    let summary = object["summary"] as? [String: Any]
    #expect(JSONShape.int(summary?["UNKNOWN"]) == 56)
    let grid = try runCLI(["matrix", "--topology", path])
    #expect(grid.stdout.contains("UNK   UNKNOWN: the answer depends on bridges that are not in the input"))
    #expect(grid.stdout.contains("partial input: the bridges above 0000:04, 0000:05, 0000:08 and 0000:09"))
  }

  @Test(.enabled(if: CLI.realCapturesAvailable, "../shared/data/real not found"))
  func repeatedTopologyMergesOneMachine() throws {
    let prefix = "server-gpu8-xeon-e5-4x-gtx1080ti-2x-pex8747_nvbugreport_lspci-"
    let inputs = ["d10de-v-xxx.txt", "d10b5-v-xxx.txt", "t.txt"].flatMap {
      ["--topology", CLI.realCapture(prefix + $0)]
    }
    let result = try runCLI(
      ["explain"] + inputs + ["--provider", "04:00.0", "--client", "05:00.0", "--format", "summary"])
    #expect(result.status == 0, "\(result)")
    #expect(
      result.stdout.split(separator: "\n").dropFirst().first?.hasPrefix(
        "0000:04:00.0 -> 0000:05:00.0: BUS_ADDR distance 4") == true, "\(result)")
    #expect(!result.stderr.contains("partial input"), "\(result)")
    let refused = try runCLI(["tree", "--topology", CLI.realCapture(prefix + "t.txt"), "--topology", "sysfs"])
    #expect(refused.status == 2)
    #expect(
      refused.stderr.contains("only lspci files of one machine can be merged, and 'sysfs' is a live or copied sysfs"))
  }

  @Test(.enabled(if: CLI.realCapturesAvailable, "../shared/data/real not found"))
  func simulateSaysWhenItPlaysAnUnknownVerdict() throws {
    let result = try runCLI([
      "simulate", "--topology", CLI.realCapture(Self.gpuSection), "--exporter", "04:00.0", "--exporter-profile",
      "amdgpu", "--importer", "05:00.0", "--importer-profile", "05:00.0=amdgpu",
    ])
    #expect(result.status == 0, "\(result)")
    #expect(
      result.stderr.contains(
        "warning: the P2P verdict for 0000:05:00.0 is UNKNOWN (the input lacks what it depends on); the share below "
          + "plays it as a refusal (distance -1), which the real machine may not do"), "\(result.stderr)")
  }

  /// A tree without `-nn` where no pci.ids names the host bridge: host-bridge pairs are UNKNOWN,
  /// and the JSON summary counts them (the counts add up to the pairs).
  @Test func treeWithoutHostBridgeIDsCountsUnknownPairs() throws {
    let directory = try CLI.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("tree.txt")
    try Data("-[0000:00]-+-00.0\n           +-01.0-[01]----00.0\n           \\-02.0-[02]----00.0\n".utf8).write(
      to: file)
    let result = try runCLI(["matrix", "--topology", file.path, "--format", "json"])
    #expect(result.status == 0, "\(result)")
    let object = try JSONShape.object(result.stdout)
    let summary = object["summary"] as? [String: Any] ?? [:]
    let counted = ["BUS_ADDR", "THRU_HOST_BRIDGE", "NOT_SUPPORTED", "UNKNOWN"].compactMap { JSONShape.int(summary[$0]) }
    #expect(counted.count == 4, "\(summary)")
    #expect(counted.reduce(0, +) == JSONShape.int(summary["pairs"]))
    // 00:00.0 (no class in a bare tree), 01:00.0 and 02:00.0 meet only at the unnamed host bridge.
    #expect(JSONShape.int(summary["UNKNOWN"]) == 6)
  }
}
