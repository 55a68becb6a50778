import Foundation
import Testing

/// Known answers on the built-in scenarios, as the user sees them from the command line
/// (`matrix --format json`, `explain`, `--disable-acs-redir`, `--cpu`), and `simulate` on every
/// built-in scenario.
@Suite("CLI verdicts on built-in scenarios")
struct CLIBuiltinVerdictTests {
  /// One pair of `matrix --format json`.
  struct V: Equatable, CustomStringConvertible {
    var mapType: String
    var distance: Int
    var acsRedirect: [String]
    init(_ mapType: String, _ distance: Int, _ acsRedirect: [String]) {
      self.mapType = mapType
      self.distance = distance
      self.acsRedirect = acsRedirect
    }
    var description: String { "\(mapType) \(distance) \(acsRedirect)" }
  }

  /// `provider>client` → verdict, from `matrix --format json`.
  static func matrix(_ arguments: [String]) throws -> [String: V] {
    let result = try runCLI(["matrix", "--format", "json"] + arguments)
    #expect(result.status == 0, "\(result)")
    let pairs = try JSONShape.object(result.stdout)["pairs"] as? [[String: Any]] ?? []
    var verdicts: [String: V] = [:]
    for pair in pairs {
      guard let provider = pair["provider"] as? String, let client = pair["client"] as? String else { continue }
      verdicts["\(provider)>\(client)"] = V(
        pair["map_type"] as? String ?? "?", JSONShape.int(pair["distance"]) ?? -99,
        pair["acs_redirect"] as? [String] ?? ["?"])
    }
    return verdicts
  }

  /// The single verdict of `explain --format json`.
  static func explain(_ arguments: [String]) throws -> [String: Any] {
    let result = try runCLI(["explain", "--format", "json"] + arguments)
    #expect(result.status == 0, "\(result)")
    let verdicts = try JSONShape.object(result.stdout)["verdicts"] as? [[String: Any]] ?? []
    return try #require(verdicts.first, "no verdict\n\(result)")
  }

  @Test func teachingWorkstationSwitchLocalAndZenHostBridge() throws {
    let verdicts = try Self.matrix(["--topology", "teaching-workstation"])
    // GPU -> NIC and GPU -> GPU meet at the switch upstream port 01:00.0: BUS_ADDR, distance 4.
    #expect(verdicts["0000:03:00.0>0000:05:00.0"] == V("BUS_ADDR", 4, []))
    #expect(verdicts["0000:05:00.0>0000:03:00.0"] == V("BUS_ADDR", 4, []))
    #expect(verdicts["0000:03:00.0>0000:04:00.0"] == V("BUS_ADDR", 4, []))
    // The two ConnectX-7 functions are distance 2 apart.
    #expect(verdicts["0000:05:00.0>0000:05:00.1"] == V("BUS_ADDR", 2, []))
    // GPU -> NVMe crosses the host bridge, allowed by the AMD Zen CPU rule: 3 + 3 hops.
    #expect(verdicts["0000:03:00.0>0000:06:00.0"] == V("THRU_HOST_BRIDGE", 6, []))
    // The same answer with --cpu other is a refusal: the AMD host bridge is not in the allowlist.
    let other = try Self.matrix(["--topology", "teaching-workstation", "--cpu", "other"])
    #expect(other["0000:03:00.0>0000:06:00.0"] == V("NOT_SUPPORTED", -1, []))
    #expect(other["0000:03:00.0>0000:05:00.0"] == V("BUS_ADDR", 4, []), "switch-local pairs never ask the host bridge")
  }

  static let xeonFix = "pci=disable_acs_redir=0000:18:00.0;0000:18:01.0"

  @Test func xeonACSRedirectGoesThroughTheHostBridge() throws {
    let verdicts = try Self.matrix(["--topology", "xeon-acs-redirect"])
    #expect(verdicts["0000:19:00.0>0000:1a:00.0"] == V("THRU_HOST_BRIDGE", 4, ["0000:18:00.0", "0000:18:01.0"]))
    // Different root buses, both allowlisted 8086:09a2 without REQ_SAME_HOST_BRIDGE.
    #expect(verdicts["0000:19:00.0>0000:31:00.0"]?.mapType == "THRU_HOST_BRIDGE")

    let text = try runCLI([
      "explain", "--topology", "xeon-acs-redirect", "--provider", "0000:19:00.0", "--client", "0000:1a:00.0",
    ])
    #expect(text.status == 0, "\(text)")
    #expect(text.stdout.contains("Verdict: PCI_P2PDMA_MAP_THRU_HOST_BRIDGE, pci_p2pdma_distance() = 4"), "\(text)")
    #expect(
      text.stdout.contains("amdgpu 0000:1a:00.0: ACS redirect is set between the client and provider (0000:19:00.0)\n"))
    #expect(
      text.stdout.contains(
        "amdgpu 0000:1a:00.0: to disable ACS redirect for this path, add the kernel parameter: \(Self.xeonFix)\n"))
    #expect(text.stdout.contains("Direct route instead: \(Self.xeonFix)\n"), "\(text)")

    let json = try Self.explain([
      "--topology", "xeon-acs-redirect", "--provider", "0000:19:00.0", "--client", "0000:1a:00.0",
    ])
    #expect(json["kernel_parameter"] as? String == Self.xeonFix)
    #expect((json["dmesg_quiet"] as? [String]) == [], "amdgpu's quiet attach prints nothing on an allowed path")
  }

  /// The exact string explain prints, fed back with --disable-acs-redir, makes the pair BUS_ADDR.
  @Test(arguments: [xeonFix, "0000:18:00.0;0000:18:01.0", "18:00.0; 18:01.0"])
  func xeonFixTurnsTheVerdictIntoBusAddr(parameter: String) throws {
    let arguments = ["--topology", "xeon-acs-redirect", "--disable-acs-redir", parameter]
    let verdicts = try Self.matrix(arguments)
    #expect(verdicts["0000:19:00.0>0000:1a:00.0"] == V("BUS_ADDR", 4, []))
    #expect(verdicts["0000:1a:00.0>0000:19:00.0"] == V("BUS_ADDR", 4, []))
    let text = try runCLI(["explain", "--provider", "0000:19:00.0", "--client", "0000:1a:00.0"] + arguments)
    #expect(
      text.status == 0 && text.stdout.contains("Verdict: PCI_P2PDMA_MAP_BUS_ADDR, pci_p2pdma_distance() = 4"), "\(text)"
    )
    #expect(text.stdout.contains("what-if: pci=disable_acs_redir=0000:18:00.0;0000:18:01.0\n"), "\(text)")
  }

  /// Round trip: whatever kernel_parameter explain gives is accepted verbatim and fixes the pair.
  @Test func explainsOwnFixRoundTrips() throws {
    let verdict = try Self.explain([
      "--topology", "xeon-acs-redirect", "--provider", "0000:1b:00.0", "--client", "0000:19:00.0",
    ])
    #expect(verdict["map_type"] as? String == "THRU_HOST_BRIDGE")
    let fix = try #require(verdict["kernel_parameter"] as? String)
    let fixed = try Self.explain(
      [
        "--topology", "xeon-acs-redirect", "--provider", "0000:1b:00.0", "--client", "0000:19:00.0",
        "--disable-acs-redir", fix,
      ])
    #expect(fixed["map_type"] as? String == "BUS_ADDR")
    #expect(JSONShape.isNull(fixed["kernel_parameter"]))
  }

  @Test func intelDesktopIsRefusedWithoutAnAllowlistWarning() throws {
    let verdicts = try Self.matrix(["--topology", "intel-desktop-refused"])
    #expect(verdicts.count == 12)
    for (key, verdict) in verdicts {
      #expect(verdict.mapType == "NOT_SUPPORTED" && verdict.distance == -1, "\(key): \(verdict)")
    }
    let verdict = try Self.explain([
      "--topology", "intel-desktop-refused", "--provider", "0000:01:00.0", "--client", "0000:03:00.0",
    ])
    #expect(verdict["map_type"] as? String == "NOT_SUPPORTED")
    #expect(JSONShape.int(verdict["distance"]) == -1)
    // No common upstream device: the kernel never looks at ACS, so the allowlist lookup runs
    // with warn=false. Verbose callers get the "do not share" line, quiet ones nothing.
    #expect(
      verdict["dmesg_verbose"] as? [String] == [
        "xe 0000:03:00.0: cannot be used for peer-to-peer DMA as the client and provider (0000:01:00.0) do not share an upstream bridge or whitelisted host bridge"
      ])
    #expect(verdict["dmesg_quiet"] as? [String] == [])
    #expect(JSONShape.isNull(verdict["kernel_parameter"]), "no kernel parameter helps here")
    // Disabling ACS redirect cannot help: there is no switch.
    let whatIf = try Self.explain(
      [
        "--topology", "intel-desktop-refused", "--provider", "0000:01:00.0", "--client", "0000:03:00.0",
        "--disable-acs-redir", "0000:00:01.0;0000:00:1c.0",
      ])
    #expect(whatIf["map_type"] as? String == "NOT_SUPPORTED")
  }

  /// An ACS redirect under a host bridge that is not allowlisted: the "Host bridge not in P2PDMA
  /// whitelist" line is printed with warn = acs_redirects, so even the quiet caller sees it.
  @Test func redirectUnderUnlistedHostBridgeWarnsEvenWhenQuiet() throws {
    let asset = CLI.packageRoot.appendingPathComponent("assets/topologies/switch-local-p2p.json")
    let original = try String(contentsOf: asset, encoding: .utf8)
    // Both downstream ports of the PLX switch get RR and CR.
    let edited = original.replacingOccurrences(of: "\"control\": []", with: "\"control\": [\"RR\", \"CR\"]")
    #expect(edited.components(separatedBy: "[\"RR\", \"CR\"]").count == 3, "expected two downstream ports to edit")
    let directory = try CLI.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("plx-with-redirect.json")
    try Data(edited.utf8).write(to: file)

    let verdict = try Self.explain(["--topology", file.path, "--provider", "0000:03:00.0", "--client", "0000:04:00.0"])
    #expect(verdict["map_type"] as? String == "NOT_SUPPORTED")
    #expect(verdict["acs_redirect"] as? [String] == ["0000:02:08.0", "0000:02:10.0"])
    let whitelist = "pci 0000:00:00.0: Host bridge not in P2PDMA whitelist: 8086:4660"
    #expect(verdict["dmesg_quiet"] as? [String] == [whitelist])
    #expect(
      verdict["dmesg_verbose"] as? [String] == [
        "amdgpu 0000:04:00.0: ACS redirect is set between the client and provider (0000:03:00.0)",
        "amdgpu 0000:04:00.0: to disable ACS redirect for this path, add the kernel parameter: pci=disable_acs_redir=0000:02:08.0;0000:02:10.0",
        whitelist,
        "amdgpu 0000:04:00.0: cannot be used for peer-to-peer DMA as the client and provider (0000:03:00.0) do not share an upstream bridge or whitelisted host bridge",
      ])
    let fixed = try Self.explain(
      [
        "--topology", file.path, "--provider", "0000:03:00.0", "--client", "0000:04:00.0",
        "--disable-acs-redir", "pci=disable_acs_redir=0000:02:08.0;0000:02:10.0",
      ])
    #expect(fixed["map_type"] as? String == "BUS_ADDR")
    #expect(JSONShape.int(fixed["distance"]) == 4)
    #expect(fixed["dmesg_verbose"] as? [String] == [] && fixed["dmesg_quiet"] as? [String] == [])
  }

  @Test func amdZenRootPortsDependOnTheCPURule() throws {
    let zen = try Self.matrix(["--topology", "amd-zen-root-ports"])
    #expect(zen["0000:01:00.0>0000:02:00.0"] == V("THRU_HOST_BRIDGE", 4, []))
    let intel = try Self.matrix(["--topology", "amd-zen-root-ports", "--cpu", "intel"])
    #expect(intel["0000:01:00.0>0000:02:00.0"] == V("NOT_SUPPORTED", -1, []))
  }

  @Test func multiDomainInsideAndAcross() throws {
    let verdicts = try Self.matrix(["--topology", "multi-domain"])
    #expect(verdicts["0001:03:00.0>0001:04:00.0"] == V("BUS_ADDR", 4, []))
    #expect(verdicts["0001:03:00.0>0030:01:00.0"] == V("NOT_SUPPORTED", -1, []))
  }

  @Test func crossSocketRefusesEverything() throws {
    let result = try runCLI(["matrix", "--topology", "cross-socket", "--format", "summary"])
    #expect(result.status == 0, "\(result)")
    #expect(result.stdout.contains("endpoints: 4   ordered pairs: 12"), "\(result)")
    let lines = result.stdout.split(separator: "\n").map(String.init)
    #expect(lines.contains { $0.hasPrefix("NOT_SUPPORTED") && $0.contains(" 12 ") }, "\(result)")
  }

  // MARK: - matrix (fast path) and explain (the full walk) agree

  /// Every pair `matrix --format json` lists gets the same map type, distance and ACS list from
  /// `explain` (one run per provider with every other endpoint as a client).
  @Test(arguments: ["xeon-acs-redirect", "teaching-workstation", "multi-domain"])
  func matrixAgreesWithExplain(scenario: String) throws {
    let verdicts = try Self.matrix(["--topology", scenario])
    let endpoints = Set(verdicts.keys.map { String($0.split(separator: ">")[0]) }).sorted()
    #expect(endpoints.count >= 5)
    for provider in endpoints {
      let clients = endpoints.filter { $0 != provider }
      let result = try runCLI(
        ["explain", "--topology", scenario, "--provider", provider, "--format", "json"]
          + clients.flatMap { ["--client", $0] })
      #expect(result.status == 0, "\(result)")
      let explained = try JSONShape.object(result.stdout)["verdicts"] as? [[String: Any]] ?? []
      #expect(explained.count == clients.count)
      for verdict in explained {
        let client = verdict["client"] as? String ?? "?"
        let fromExplain = V(
          verdict["map_type"] as? String ?? "?", JSONShape.int(verdict["distance"]) ?? -99,
          verdict["acs_redirect"] as? [String] ?? ["?"])
        #expect(verdicts["\(provider)>\(client)"] == fromExplain, "\(provider) -> \(client)")
      }
    }
  }

  // MARK: - simulate on every built-in

  /// The built-in scenario names: one per file in assets/topologies.
  static let builtins: [String] = {
    let folder = CLI.packageRoot.appendingPathComponent("assets/topologies").path
    let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
    return files.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
  }()

  /// Issue 3: `simulate` runs on every built-in scenario: the first GPU exports to every other
  /// endpoint, IOMMU off and on.
  @Test(arguments: builtins)
  func simulateEveryBuiltin(scenario: String) throws {
    let tree = try JSONShape.object(try runCLI(["tree", "--topology", scenario, "--format", "json"]).stdout)
    let devices = tree["devices"] as? [[String: Any]] ?? []
    let endpoints = devices.filter {
      JSONShape.int($0["header_type"]).map { $0 & 0x7f == 0 } ?? false && $0["class"] as? String != "0600"
        && $0["powered_off"] as? Bool != true
    }
    let exporter = try #require(
      (endpoints.first { ($0["class"] as? String ?? "").hasPrefix("03") } ?? endpoints.first)?["bdf"] as? String)
    // Up to three importers: every kind of attachment shows up, and a 256 MiB buffer moved to
    // system memory is 10,000+ entries per importer, so more would only cost time.
    let importers = Array(endpoints.compactMap { $0["bdf"] as? String }.filter { $0 != exporter }.prefix(3))
    #expect(!importers.isEmpty)
    for iommu in ["off", "on"] {
      let result = try runCLI(
        ["simulate", "--topology", scenario, "--exporter", exporter, "--iommu", iommu, "--format", "json"]
          + importers.flatMap { ["--importer", $0] })
      expectNoCrashText(result)
      #expect(result.status == 0, "\(result)")
      guard result.status == 0 else { continue }
      try CLIJSONShapeTests.checkSimulateShape(result.stdout, importers: importers)
    }
  }
}
