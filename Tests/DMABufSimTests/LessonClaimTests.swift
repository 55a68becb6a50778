import Assets
import P2PDMA
import PCITopology
import Testing

@testable import DMABufSim

private typealias F = SimFixtures

/// The claims the lessons and scenario descriptions make about shares, checked against the
/// simulator (issue 10: no claim the simulator or the sources contradict).
@Suite struct LessonClaimTests {
  static func share(
    _ scenario: String, exporter: String, buffer: String? = nil, importers: [String], iommu: IOMMUMode? = nil,
    kernelACSEnable: Bool = false
  ) throws -> ShareSimulation {
    let topology = try KernelAuditTests.builtin(scenario)
    var configuration = P2PConfiguration(inferringFrom: topology, iommu: iommu)
    configuration.simulateKernelACSEnable = kernelACSEnable
    return try DMABufSimulator.simulate(
      topology: topology,
      request: ShareRequest(
        exporter: BDF(exporter)!, bufferName: buffer, importers: importers.map { BDF($0)! },
        configuration: configuration))
  }

  /// teaching-workstation: "--iommu on" (which implies the kernel's ACS enable for a built-in)
  /// shows THRU_HOST_BRIDGE and IOVAs; "--no-kernel-acs-enable keeps these ACS bits and shows
  /// only the IOVAs". The CLI default itself is pinned in CLIIOMMUWhatIfTests.
  @Test func teachingWorkstationIOMMUHint() throws {
    let both = try Self.share(
      "teaching-workstation", exporter: "0000:03:00.0", importers: ["0000:05:00.0"], iommu: .on,
      kernelACSEnable: true)
    #expect(both.attachments[0].mapType == .thruHostBridge)
    #expect(both.attachments[0].sgTable?[0].addressKind == .iova)
    let iommuOnly = try Self.share(
      "teaching-workstation", exporter: "0000:03:00.0", importers: ["0000:05:00.0"], iommu: .on)
    #expect(iommuOnly.attachments[0].mapType == .busAddress)
    #expect(iommuOnly.attachments[0].sgTable?[0].addressKind == .iova)
  }

  /// start-here step 5: the capture card moves the buffer to system memory (GTT) for everyone and
  /// the NIC re-maps after invalidate_mappings.
  @Test func startHereCaptureCardMovesEveryoneToGTT() throws {
    let simulation = try Self.share(
      "teaching-workstation", exporter: "0000:03:00.0", importers: ["0000:05:00.0", "0000:07:00.0"])
    #expect(simulation.attachments.allSatisfy { $0.placement == .gtt })
    #expect(simulation.attachments[0].invalidations == 1)
    #expect(simulation.steps.contains { $0.function.hasPrefix("dma_buf_invalidate_mappings") })
  }

  /// small-bar: a buffer outside the visible window that fits moves within VRAM; one larger than
  /// the window ends in GTT.
  @Test func smallBarMovesIntoTheWindowOrToGTT() throws {
    let outside = BufferSpec(name: "outside", size: 8 << 20, preferredPlacement: .vram, vramOffset: 1 << 30)
    let huge = BufferSpec(name: "huge", size: 512 << 20, preferredPlacement: .vram, vramOffset: 0)
    let topology = F.topology(exporter: F.gpu(barSize: 256 << 20, visible: 256 << 20, buffers: [outside, huge]))
    let moved = try F.simulate(topology, importers: [F.switchImporter], buffer: "outside")
    #expect(moved.attachments[0].placement == .vram)
    #expect(moved.steps.contains { $0.function == "ttm_bo_validate -> amdgpu_bo_move (VRAM -> visible VRAM)" })
    let tooBig = try F.simulate(topology, importers: [F.switchImporter], buffer: "huge")
    #expect(tooBig.attachments[0].placement == .gtt)
    let big = try Self.share("small-bar", exporter: "0000:05:00.0", buffer: "big-tensor", importers: ["0000:04:00.0"])
    #expect(big.attachments[0].placement == .gtt)
    let small = try Self.share(
      "small-bar", exporter: "0000:05:00.0", buffer: "small-frame", importers: ["0000:04:00.0"])
    #expect(small.attachments[0].placement == .vram)
  }

  /// silent-failures / intel-desktop-refused: xe asks with verbose=false, so a refused pair
  /// without ACS prints nothing at attach.
  @Test func quietCallerPrintsNothingOnARefusal() throws {
    let simulation = try Self.share("intel-desktop-refused", exporter: "0000:01:00.0", importers: ["0000:03:00.0"])
    #expect(simulation.attachments[0].mapType == .notSupported)
    #expect(simulation.dmesg.isEmpty)
    let distance = try #require(simulation.steps.first { $0.actor == .pciP2PDMA })
    #expect(distance.inputs.contains("verbose=false"))
  }

  /// host-bridge-allowlist: a quiet caller prints only the host-bridge line, and only when ACS
  /// redirect sent the pair to the allowlist (the line hangs on acs_redirects, not on verbose);
  /// the line exists from 5.15 (xeon-acs-redirect, whose 8086:09a2 is allowlisted from 5.18).
  @Test func quietCallerPrintsOnlyTheHostBridgeLineInTheACSCase() throws {
    let topology = try KernelAuditTests.builtin("xeon-acs-redirect")
    func quiet(_ major: Int, _ minor: Int) throws -> [String] {
      var configuration = P2PConfiguration(inferringFrom: topology)
      configuration.kernel = KernelContext(release: KernelRelease(major: major, minor: minor), source: .given)
      let engine = P2PEngine(topology: topology, configuration: configuration)
      let verdict = try engine.verdict(provider: BDF("0000:19:00.0")!, client: BDF("0000:1a:00.0")!, verbose: false)
      #expect(verdict.mapType == .notSupported)
      return verdict.dmesg
    }
    #expect(try quiet(5, 10).isEmpty)
    #expect(try quiet(5, 15) == ["pci 0000:16:00.0: Host bridge not in P2PDMA whitelist: 8086:09a2"])
  }

  /// amd-cpu-rule: a redirected pair of one root port is THRU_HOST_BRIDGE on AMD Zen from 5.9 only;
  /// 5.3 refuses on ACS, 5.8 has no CPU rule and 1022:1480 was never allowlisted.
  @Test func amdCPURuleKeepsRedirectedPairsFrom5Point9() throws {
    let topology = try KernelAuditTests.builtin("amd-zen-root-ports")
    func mapType(_ minor: Int) throws -> MapType {
      var configuration = P2PConfiguration(inferringFrom: topology)
      configuration.kernel = KernelContext(release: KernelRelease(major: 5, minor: minor), source: .given)
      return try P2PEngine(topology: topology, configuration: configuration)
        .verdict(provider: BDF("0000:01:00.0")!, client: BDF("0000:01:00.1")!).mapType
    }
    #expect(try mapType(3) == .notSupported)
    #expect(try mapType(8) == .notSupported)
    #expect(try mapType(9) == .thruHostBridge)
  }

  /// xeon-acs-redirect description: the redirected GPU pair and the GPU-to-NVMe pair pass the
  /// 8086:09a2 allowlist entry from 5.18 only.
  @Test func xeonACSRedirectPassesThe09a2EntryFrom5Point18() throws {
    let topology = try KernelAuditTests.builtin("xeon-acs-redirect")
    func mapType(_ minor: Int, client: String) throws -> MapType {
      var configuration = P2PConfiguration(inferringFrom: topology)
      configuration.kernel = KernelContext(release: KernelRelease(major: 5, minor: minor), source: .given)
      return try P2PEngine(topology: topology, configuration: configuration)
        .verdict(provider: BDF("0000:19:00.0")!, client: BDF(client)!).mapType
    }
    for client in ["0000:1a:00.0", "0000:31:00.0"] {
      #expect(try mapType(17, client: client) == .notSupported)
      #expect(try mapType(18, client: client) == .thruHostBridge)
    }
  }
}
