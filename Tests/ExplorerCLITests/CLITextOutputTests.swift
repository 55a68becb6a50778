import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The human-readable outputs (text grid, trace, summaries) and live sysfs as a non-root user.
@Suite("CLI text output")
struct CLITextOutputTests {
  @Test func matrixGridAndLegend() throws {
    let result = try runCLI(["matrix", "--topology", "teaching-workstation"])
    #expect(result.status == 0 && result.stderr.isEmpty, "\(result)")
    let lines = result.stdout.split(separator: "\n").map(String.init)
    // Row D0 is the first W7900: its audio function at 2, the other GPU and the NIC at 4, the
    // NVMe drive and the capture card through the host bridge at 6.
    #expect(
      lines.contains { $0.split(separator: " ") == ["D0", "X", "BUS2", "BUS4", "BUS4", "BUS4", "BUS4", "HB6", "HB6"] },
      "\(result)")
    #expect(result.stdout.contains("BUSn  BUS_ADDR at distance n"))
    #expect(result.stdout.contains("D0   0000:03:00.0  1002:7448"), "\(result)")
  }

  /// Above 40 endpoints the text format falls back to the summary, with a note saying so.
  @Test(.enabled(if: CLI.realCapturesAvailable, "../shared/data/real not found"))
  func matrixTextOnABigMachineShowsTheSummary() throws {
    let path = CLI.realCapture("server-dell-2s-icelake-sp-connectx5_lspci-vvv.txt")
    let result = try runCLI(["matrix", "--topology", path])
    #expect(result.status == 0, "\(result)")
    #expect(result.stdout.contains("too many for a readable grid"), "\(result)")
    let summary = try CaptureCLITests.parseSummary(result.stdout)
    #expect(summary.pairs == summary.endpoints * (summary.endpoints - 1))
    // The ConnectX-5 and the PERC hang from different Ice Lake root buses, both 8086:09a2.
    let explain = try runCLI(["explain", "--topology", path, "--provider", "0000:4b:00.0", "--client", "0000:65:00.0"])
    #expect(
      explain.stdout.contains("Verdict: PCI_P2PDMA_MAP_THRU_HOST_BRIDGE, pci_p2pdma_distance() = 4"), "\(explain)")
  }

  /// The trace names the kernel functions in order and shows the move_notify a static importer causes.
  @Test func simulateTrace() throws {
    let result = try runCLI(
      [
        "simulate", "--topology", "teaching-workstation", "--exporter", "03:00.0", "--importer", "05:00.0",
        "--importer", "07:00.0",
      ])
    #expect(result.status == 0 && result.stderr.isEmpty, "\(result)")
    let text = result.stdout
    let order = [
      "dma_buf_export", "dma_buf_dynamic_attach", "pci_p2pdma_distance", "dma_buf_map_attachment", "dma_buf_detach",
    ]
    var position = text.startIndex
    for name in order {
      guard let found = text.range(of: name, range: position..<text.endIndex) else {
        Issue.record("\(name) missing or out of order in the trace")
        break
      }
      position = found.upperBound
    }
    #expect(text.contains("move_notify"), "the static capture card forces a migration the NIC is told about")
    #expect(text.contains("#1 0000:07:00.0") && text.contains("static"), "\(text.prefix(3000))")

    let summary = try runCLI(
      [
        "simulate", "--topology", "teaching-workstation", "--exporter", "03:00.0", "--importer", "05:00.0", "--format",
        "summary",
      ])
    #expect(
      summary.stdout == """
        kernel: mainline (default), MOVE_NOTIFY always on (option removed in 7.1)
        0000:03:00.0 amdgpu render-target (256 MiB), IOMMU off
          0000:05:00.0 mlx5: peer2peer true, BUS_ADDR, VRAM, nents 1/orig 1
          by release 0000:05:00.0: 5.4 error not in 5.4 (RDMA dma-buf import arrived in 5.12) | 5.10 error not in 5.10 (RDMA dma-buf import arrived in 5.12) | 6.1 GTT peer2peer=true [UNCONFIRMED: dmabuf-resv-all-importers, amdgpu-attach-quiet] | 6.12 GTT peer2peer=true | mainline VRAM peer2peer=true (each with its default CONFIG_DMABUF_MOVE_NOTIFY)

        """, "\(summary)")
  }

  @Test func treeSummary() throws {
    let result = try runCLI(["tree", "--topology", "teaching-workstation", "--format", "summary"])
    #expect(result.status == 0, "\(result)")
    #expect(result.stdout.hasSuffix(": 17 functions, 1 root buses, 7 bridges (built-in scenario)\n"), "\(result)")
  }

  /// Issue 2: sysfs as a non-root user works, marks ACS unknown and says how to get it.
  static var hasPCIDevices: Bool {
    !((try? FileManager.default.contentsOfDirectory(atPath: "/sys/bus/pci/devices")) ?? []).isEmpty
  }

  @Test(
    .enabled(if: hasPCIDevices, "/sys/bus/pci/devices is empty here"),
    .enabled(if: geteuid() != 0 || CLI.canRunAsNobody, CLI.nobodyReason))
  func sysfsAsNonRoot() throws {
    let devices = try FileManager.default.contentsOfDirectory(atPath: "/sys/bus/pci/devices")
    let result: CLIResult
    if geteuid() == 0 {
      result = try runCLIAsNobody(["tree", "--topology", "sysfs", "--format", "json"])
      try #require(!result.stderr.contains("setpriv:"), "setpriv cannot drop privileges here: \(result.stderr)")
    } else {
      result = try runCLI(["tree", "--topology", "sysfs", "--format", "json"])
    }
    expectNoCrashText(result)
    #expect(result.status == 0, "\(result)")
    let document = try JSONShape.object(result.stdout)
    let listed = document["devices"] as? [[String: Any]] ?? []
    #expect(listed.count == devices.count, "every function in /sys/bus/pci/devices is listed")
    #expect(listed.allSatisfy { $0["acs"] as? String == "unknown" }, "non-root sees 64 bytes of config: ACS unknown")
    let warnings = document["warnings"] as? [String] ?? []
    #expect(warnings.contains { $0.contains("run as root or load a dump") }, "\(warnings)")
  }
}
