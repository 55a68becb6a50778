import Foundation
import Testing

/// Issue 10 item 4: `--iommu on` on an input that was not captured live also applies the
/// kernel's ACS enable, and says so; captures keep their ACS bits.
@Suite struct CLIIOMMUWhatIfTests {
  static let share = [
    "simulate", "--topology", "teaching-workstation", "--exporter", "0000:03:00.0", "--importer", "0000:05:00.0",
    "--format", "summary",
  ]

  @Test func iommuOnForABuiltinEnablesACSAndSaysSo() throws {
    let result = try runCLI(Self.share + ["--iommu", "on"])
    #expect(result.status == 0, "\(result)")
    #expect(result.stdout.contains("0000:05:00.0 mlx5: peer2peer true, THRU_HOST_BRIDGE, VRAM"), "\(result)")
    #expect(result.stderr.contains("also applies the kernel's ACS enable"), "\(result)")
    let kept = try runCLI(Self.share + ["--iommu", "on", "--no-kernel-acs-enable"])
    #expect(kept.stdout.contains("0000:05:00.0 mlx5: peer2peer true, BUS_ADDR, VRAM"), "\(kept)")
    #expect(!kept.stderr.contains("also applies the kernel's ACS enable"), "\(kept)")
    let off = try runCLI(Self.share)
    #expect(off.stdout.contains("BUS_ADDR") && !off.stderr.contains("ACS enable"), "\(off)")
  }

  @Test func matrixHeaderShowsTheImpliedWhatIf() throws {
    let result = try runCLI(["matrix", "--topology", "teaching-workstation", "--iommu", "on"])
    #expect(result.status == 0, "\(result)")
    #expect(result.stdout.contains("what-if: the kernel's ACS enable"), "\(result)")
  }

  @Test(.enabled(if: CLI.realCapturesAvailable, "../shared/data/real not found"))
  func capturesKeepTheirACSBits() throws {
    let path = CLI.realCapture("laptop-asus-alderlake-irisxe+rtx3070ti_lspci-vvvxxxx.txt")
    let result = try runCLI(["matrix", "--topology", path, "--iommu", "on", "--format", "summary"])
    #expect(result.status == 0, "\(result)")
    #expect(!result.stderr.contains("also applies the kernel's ACS enable"), "\(result)")
  }
}
