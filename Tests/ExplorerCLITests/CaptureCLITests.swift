import Foundation
import Testing

/// Every real capture in `../shared/data/real` through the real binary: `tree`, `tree --format
/// json`, `matrix --format summary`, and `simulate` (IOMMU off and on) for whatever `tree`
/// accepts; a clear one-line rejection for what it does not. Plus the `lspci -F FILE -t` oracle
/// for every hex dump. Skipped, with a note, when the captures are not next to the checkout.
@Suite("CLI on every real capture")
struct CaptureCLITests {
  /// Every file in the data folder (INDEX.md included: it must be rejected cleanly too).
  static let captures: [String] = {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: CLI.realDirectory.path)) ?? []
    return names.filter { !$0.hasPrefix(".") }.sorted()
  }()

  /// Captures with `XX: hex` config rows: what `lspci -F` reads.
  static let hexDumps: [String] = captures.filter { name in
    guard let data = FileManager.default.contents(atPath: CLI.realCapture(name)) else { return false }
    return String(decoding: data, as: UTF8.self).split(separator: "\n").contains(where: isHexRow)
  }

  /// `XX: hh hh ... hh` (16 bytes), as `lspci -x` prints config space. Plain string checks:
  /// a regex over every line of every capture is slow in debug builds.
  static func isHexRow(_ line: Substring) -> Bool {
    let parts = line.split(separator: " ", omittingEmptySubsequences: false)
    guard parts.count == 17, let offset = parts.first, offset.hasSuffix(":"), (3...4).contains(offset.count),
      offset.dropLast().allSatisfy(\.isHexDigit)
    else { return false }
    return parts.dropFirst().allSatisfy { $0.count == 2 && $0.allSatisfy(\.isHexDigit) }
  }

  /// lspci output of one kind or another: these must load.
  static func mustLoad(_ name: String) -> Bool { name.contains("_lspci") }

  @Test func capturesArePresentOrSkipped() {
    if !CLI.realCapturesAvailable {
      print("note: CaptureCLITests: \(CLI.realDirectory.path) not found; every real-capture test is skipped")
      return
    }
    #expect(Self.captures.count >= 20, "INDEX.md lists about 30 files")
    #expect(Self.hexDumps.count >= 7, "INDEX.md lists 7 hex dumps plus the MALFORMED one")
  }

  @Test(.enabled(if: CLI.realCapturesAvailable, "../shared/data/real not found"), arguments: captures)
  func everyCapture(name: String) throws {
    let path = CLI.realCapture(name)
    let tree = try runCLI(["tree", "--topology", path])
    expectNoCrashText(tree)
    if Self.mustLoad(name) {
      #expect(tree.status == 0, "an lspci capture must load\n\(tree)")
    }
    guard tree.status == 0 else {
      // Not PCI data (NCCL XML, dma-buf bufinfo, nvidia-smi topo -m, rocminfo, the index):
      // one line naming the file.
      expectInputError(tree, mentions: [path, "unrecognised format"])
      print("capture \(name): rejected: \(tree.stderr.trimmingCharacters(in: .newlines))")
      return
    }
    #expect(tree.stdout.hasPrefix("-"), "tree text starts like lspci -tv\n\(tree)")
    let warnings = tree.stderrLines
    #expect(warnings.allSatisfy { $0.hasPrefix("dmabuf-explorer: warning: ") }, "\(tree)")
    #expect(warnings.count <= 51, "warnings are capped at 50 plus a count")

    // tree --format json: every parent is a listed device.
    let json = try runCLI(["tree", "--topology", path, "--format", "json"])
    #expect(json.status == 0, "\(json)")
    let devices = try JSONShape.object(json.stdout)["devices"] as? [[String: Any]] ?? []
    #expect(!devices.isEmpty)
    let bdfs = Set(devices.compactMap { $0["bdf"] as? String })
    #expect(bdfs.count == devices.count, "duplicate or missing bdf")
    for device in devices {
      if let parent = device["parent"] as? String { #expect(bdfs.contains(parent), "parent \(parent) not listed") }
    }

    // matrix --format summary: the counts add up to N(N-1).
    let matrix = try runCLI(["matrix", "--topology", path, "--format", "summary"])
    expectNoCrashText(matrix)
    #expect(matrix.status == 0, "\(matrix)")
    let summary = try Self.parseSummary(matrix.stdout)
    #expect(summary.pairs == summary.endpoints * max(0, summary.endpoints - 1), "\(matrix.stdout)")
    #expect(summary.counts.reduce(0, +) == summary.pairs, "\(matrix.stdout)")

    try Self.simulate(name: name, path: path, devices: devices)
  }

  /// Issue 3: simulate runs on every capture. The exporter is the first display-class function
  /// (else the first endpoint); importers are up to two other endpoints, devices that import
  /// dma-bufs (GPUs, NICs, NVMe, accelerators) first.
  static func simulate(name: String, path: String, devices: [[String: Any]]) throws {
    func isEndpoint(_ device: [String: Any]) -> Bool {
      (JSONShape.int(device["header_type"]).map { $0 & 0x7f == 0 } ?? false) && device["class"] as? String != "0600"
        && device["powered_off"] as? Bool != true && JSONShape.isNull(device["secondary_bus"])
    }
    let endpoints = devices.filter(isEndpoint)
    func classOf(_ device: [String: Any]) -> String { device["class"] as? String ?? "" }
    guard let exporter = endpoints.first(where: { classOf($0).hasPrefix("03") }) ?? endpoints.first,
      let exporterBDF = exporter["bdf"] as? String
    else {
      // Only bridges (the PLX-only section of the nvidia-bug-report): nothing can share a
      // buffer. Whatever simulate says about two bridges must still be an answer, not a crash.
      let bridges = devices.compactMap { $0["bdf"] as? String }
      print("note: capture \(name): no endpoint, only \(bridges.count) bridges; simulate has no exporter to use")
      if bridges.count >= 2 {
        let result = try runCLI(["simulate", "--topology", path, "--exporter", bridges[0], "--importer", bridges[1]])
        expectNoCrashText(result)
        #expect(result.status == 0 || result.stderrLines.count == 1, "\(result)")
      }
      return
    }
    let preferred = ["03", "02", "0108", "12", "0b40", "0302", "0380"]
    let others = endpoints.filter { $0["bdf"] as? String != exporterBDF }
    let ranked =
      others.filter { device in preferred.contains { classOf(device).hasPrefix($0) } }
      + others.filter { device in !preferred.contains { classOf(device).hasPrefix($0) } }
    let importers = Array(ranked.compactMap { $0["bdf"] as? String }.prefix(2))
    guard !importers.isEmpty else {
      print("note: capture \(name): only one endpoint (\(exporterBDF)); simulate needs an importer")
      return
    }
    for iommu in ["off", "on"] {
      let result = try runCLI(
        ["simulate", "--topology", path, "--exporter", exporterBDF, "--iommu", iommu, "--format", "json"]
          + importers.flatMap { ["--importer", $0] })
      expectNoCrashText(result)
      #expect(result.status == 0, "simulate must run on every capture\n\(result)")
      guard result.status == 0 else { continue }
      let (_, attachments) = try CLIJSONShapeTests.checkSimulateShape(result.stdout, importers: importers)
      for attachment in attachments {
        guard let table = attachment["sg_table"] as? [String: Any], let nents = JSONShape.int(table["nents"]),
          let orig = JSONShape.int(table["orig_nents"])
        else { continue }
        if iommu == "off" && ["SYSTEM", "GTT"].contains(attachment["placement"] as? String ?? "") {
          #expect(nents == orig, "dma-direct maps every CPU entry 1:1 (\(name))")
        }
        if orig > 0 { #expect(nents <= orig, "merging never adds entries (\(name))") }
      }
      print(
        "capture \(name): simulate \(exporterBDF) -> \(importers.joined(separator: ",")) iommu \(iommu): "
          + attachments.map { "\($0["placement"] as? String ?? "?")/\($0["error"] as? String ?? "ok")" }.joined(
            separator: " "))
    }
  }

  struct Summary {
    var endpoints: Int
    var pairs: Int
    var counts: [Int]
  }

  /// `endpoints: N   ordered pairs: M ...` and one `TYPE  count  share%` line per map type.
  static func parseSummary(_ text: String) throws -> Summary {
    let lines = text.split(separator: "\n").map(String.init)
    guard let header = lines.first(where: { $0.hasPrefix("endpoints: ") }),
      let match = header.firstMatch(of: /endpoints: (\d+)\s+ordered pairs: (\d+)/),
      let endpoints = Int(match.1), let pairs = Int(match.2)
    else { throw CLITestError("no summary header in:\n\(text)") }
    var counts: [Int] = []
    for type in ["BUS_ADDR", "THRU_HOST_BRIDGE", "NOT_SUPPORTED"] {
      guard let line = lines.first(where: { $0.hasPrefix(type + " ") }),
        let count = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
      else { throw CLITestError("no \(type) line in:\n\(text)") }
      counts.append(count)
    }
    // Partial inputs add an UNKNOWN line (pairs that depend on bridges the input lacks).
    if let line = lines.first(where: { $0.hasPrefix("UNKNOWN ") }),
      let count = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
    {
      counts.append(count)
    }
    return Summary(endpoints: endpoints, pairs: pairs, counts: counts)
  }

  // MARK: - Two captures of one machine draw one tree

  /// Different captures of the same machine give the same structure: a plain `lspci -nn` listing
  /// (hierarchy inferred from bus numbers) and that machine's own `lspci -t`; `lspci -tv` and the
  /// report it was cut from; `lspci` and `lspci -k`.
  @Test(
    .enabled(if: CLI.realCapturesAvailable, "../shared/data/real not found"),
    arguments: [
      (
        "server-gpu8-xeon-e5-4x-gtx1080ti-2x-pex8747_nvbugreport_lspci-nn.txt",
        "server-gpu8-xeon-e5-4x-gtx1080ti-2x-pex8747_nvbugreport_lspci-t.txt"
      ),
      (
        "server-asus-esc8000a-e12-2s-genoa-4x-rtx6000ada_lspci-tv.txt",
        "server-asus-esc8000a-e12-2s-genoa-4x-rtx6000ada_report.md"
      ),
      (
        "workstation-puget-wrx90-tr-pro-2x-rtx6000ada_lspci-tv.txt",
        "workstation-puget-wrx90-tr-pro-2x-rtx6000ada_report.md"
      ),
      (
        "server-gigabyte-epyc7551p-8x-vega20-4x-pex8747_lspci.txt",
        "server-gigabyte-epyc7551p-8x-vega20-4x-pex8747_lspci-k.txt"
      ),
    ])
  func sameMachineSameTree(first: String, second: String) throws {
    let one = try runCLI(["tree", "--topology", CLI.realCapture(first)])
    let two = try runCLI(["tree", "--topology", CLI.realCapture(second)])
    #expect(one.status == 0 && two.status == 0, "\(one)\n\(two)")
    #expect(!one.stdout.isEmpty)
    #expect(
      TreeText.stripNames(one.stdout) == TreeText.stripNames(two.stdout), "\(first) and \(second) draw different trees")
  }

  /// A complete `lspci -t`/`-tv` listing whose root buses are in lspci -F's order is drawn back
  /// byte for byte, names included.
  @Test(
    .enabled(if: CLI.realCapturesAvailable, "../shared/data/real not found"),
    arguments: [
      "server-asus-esc8000a-e12-2s-genoa-4x-rtx6000ada_lspci-tv.txt",
      "workstation-puget-wrx90-tr-pro-2x-rtx6000ada_lspci-tv.txt",
      "embedded-amd-ryzen-v1000-picasso+pericom-switch_lspci-t.txt",
    ])
  func treeListingRoundTrips(name: String) throws {
    let original = try String(contentsOfFile: CLI.realCapture(name), encoding: .utf8)
    let result = try runCLI(["tree", "--topology", CLI.realCapture(name)])
    #expect(result.status == 0, "\(result)")
    #expect(result.stdout == original, "tree of \(name) is not the listing itself")
  }

  // MARK: - lspci oracle

  /// Issue 2: for every hex dump, `tree` draws the same structure as `lspci -F FILE -t`. The
  /// MALFORMED capture, which lspci refuses, is compared with lspci's tree of a copy with the
  /// stray pcilib line removed.
  @Test(
    .enabled(if: CLI.realCapturesAvailable && CLI.lspciAvailable, "needs ../shared/data/real and /usr/bin/lspci"),
    arguments: hexDumps)
  func treeMatchesLspci(name: String) throws {
    let path = CLI.realCapture(name)
    var lspciInput = path
    let directory = try CLI.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    if name.contains("MALFORMED") {
      let text = try String(contentsOfFile: path, encoding: .utf8)
      // Drop each "pcilib: ...\n" so the cut hex row joins its continuation again.
      var repaired = text
      while let start = repaired.range(of: "pcilib: "),
        let end = repaired.range(of: "\n", range: start.upperBound..<repaired.endIndex)
      {
        repaired.removeSubrange(start.lowerBound..<end.upperBound)
      }
      #expect(repaired != text)
      let copy = directory.appendingPathComponent("repaired.txt")
      try Data(repaired.utf8).write(to: copy)
      lspciInput = copy.path
    }
    try Self.compareWithLspci(ours: path, lspciInput: lspciInput)
  }

  /// The two nvidia-bug-report hex sections concatenated (root ports missing: orphan roots).
  @Test(.enabled(if: CLI.realCapturesAvailable && CLI.lspciAvailable, "needs ../shared/data/real and /usr/bin/lspci"))
  func concatenatedSectionsMatchLspci() throws {
    let prefix = "server-gpu8-xeon-e5-4x-gtx1080ti-2x-pex8747_nvbugreport_lspci-"
    let parts = try ["d10de-v-xxx.txt", "d10b5-v-xxx.txt"].map {
      try String(contentsOfFile: CLI.realCapture(prefix + $0), encoding: .utf8)
    }
    let directory = try CLI.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("both.txt")
    try Data(parts.joined(separator: "\n").utf8).write(to: file)
    try Self.compareWithLspci(ours: file.path, lspciInput: file.path)
  }

  /// A synthetic machine from `generate` (switches, several domains) draws as lspci draws it.
  @Test(.enabled(if: CLI.lspciAvailable, "needs /usr/bin/lspci"), arguments: [(300, 7), (1200, 3)])
  func generatedDumpMatchesLspci(functions: Int, seed: Int) throws {
    let directory = try CLI.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("generated.dump")
    let generated = try runCLI(["generate", "--functions", "\(functions)", "--seed", "\(seed)", "--output", file.path])
    #expect(generated.status == 0, "\(generated)")
    try Self.compareWithLspci(ours: file.path, lspciInput: file.path)
  }

  static func compareWithLspci(ours: String, lspciInput: String, sourceLocation: SourceLocation = #_sourceLocation)
    throws
  {
    let lspci = try CLI.run(executable: CLI.lspciPath, ["-F", lspciInput, "-t"])
    #expect(lspci.status == 0, "lspci -F \(lspciInput) -t failed: \(lspci.stderr)", sourceLocation: sourceLocation)
    let tree = try runCLI(["tree", "--topology", ours])
    #expect(tree.status == 0, "\(tree)", sourceLocation: sourceLocation)
    let drawn = TreeText.stripNames(tree.stdout)
    if drawn != lspci.stdout {
      let ourLines = drawn.split(separator: "\n", omittingEmptySubsequences: false)
      let theirLines = lspci.stdout.split(separator: "\n", omittingEmptySubsequences: false)
      let first =
        zip(ourLines, theirLines).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        ?? min(ourLines.count, theirLines.count)
      Issue.record(
        """
        tree of \(ours) differs from lspci -F -t at line \(first + 1):
          ours:  \(first < ourLines.count ? String(ourLines[first]) : "<end>")
          lspci: \(first < theirLines.count ? String(theirLines[first]) : "<end>")
        """, sourceLocation: sourceLocation)
    }
  }
}
