import ArgumentParser
import Foundation
import P2PDMA
import PCITopology

/// `dmabuf-explorer kernels`: the table of behaviour changes by release (kernel-history.md §1–§5)
/// that every per-release answer is computed from.
public struct KernelsCommand: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "kernels",
    abstract: "List the P2PDMA and dma-buf behaviour changes by kernel release, with sources.",
    discussion: """
      One row per change: the release it landed in, the area (p2pdma, dma-buf core, amdgpu, xe, \
      i915, vfio, rdma), what changed, the source (repo@commit:path function, or a list archive \
      with the commit id) and whether the release is confirmed. With --kernel RELEASE (mainline, \
      X.Y, X.Y.Z or a 'uname -r' string), each row also says whether that release has the change \
      (UNCONFIRMED where the history cannot tell).
      """)

  @Option(name: .long, help: "Output format: text or json.")
  public var format: OutputFormat = .text

  /// Carries `--kernel RELEASE` (say for each change whether this release has it). The shared
  /// options are used because the root command's copy of `--kernel` would otherwise take the value;
  /// the other shared options are hidden and ignored here.
  @OptionGroup(visibility: .private) public var options: TopologyOptions

  @Option(name: .long, help: "Only this area: p2pdma, dma-buf core, amdgpu, xe, i915, vfio or rdma.")
  public var area: String?

  public init() {}

  public mutating func run() async throws {
    var release: KernelRelease?
    if let kernel = options.kernel {
      do {
        release = try KernelRelease(parsing: kernel)
      } catch let error as KernelReleaseError {
        throw CLIFailure("--kernel: \(error.reason) (got '\(error.text)')")
      }
    }
    var areaFilter: KernelChangeArea?
    if let area {
      guard let parsed = KernelChangeArea(rawValue: area.lowercased()) else {
        throw CLIFailure(
          "--area: '\(area)' is not one of \(KernelChangeArea.allCases.map(\.rawValue).joined(separator: ", "))")
      }
      areaFilter = parsed
    }
    print(Self.render(format: format, release: release, area: areaFilter), terminator: "")
  }

  /// `yes`, `no`, or `UNCONFIRMED (modelled yes|no)` for one change in one release.
  static func presence(_ entry: KernelChangeEntry, in release: KernelRelease) -> String {
    let has = release.has(entry.id)
    return entry.isInDoubt(for: release) ? "UNCONFIRMED (modelled \(has ? "yes" : "no"))" : (has ? "yes" : "no")
  }

  public static func render(format: OutputFormat, release: KernelRelease?, area: KernelChangeArea?) -> String {
    let entries = KernelChanges.all.filter { area == nil || $0.area == area }
    if format == .json {
      let document = KernelsJSON(
        changes: entries.map { entry in
          KernelsJSON.Change(
            area: entry.area.rawValue, change: entry.summary, confirmed: entry.confirmed, id: entry.id.rawValue,
            in_release: release.map { presence(entry, in: $0) }, note: entry.note, release: entry.landedIn.series,
            source: entry.source)
        },
        kernel: release?.description, p2pdma_dmesg: release.map { P2PDMADmesgStrings.templates(for: $0) })
      return (try? JSONOutputEncoder(layout: .pretty).encode(document)).map { $0 + "\n" } ?? "{}\n"
    }
    var text = "Behaviour changes by kernel release (kernel-history.md); 'mainline' = only in the 2026 PCI tree.\n"
    if let release {
      text += "Column 'in \(release.series)': whether kernel \(release) has the change.\n"
      for note in release.modelNotes { text += "note: \(note)\n" }
    }
    text += "\n"
    for entry in entries {
      var line =
        entry.landedIn.series.padding(toLength: 9, withPad: " ", startingAt: 0)
        + entry.area.rawValue.padding(toLength: 13, withPad: " ", startingAt: 0)
        + entry.confirmationLabel.padding(toLength: 12, withPad: " ", startingAt: 0)
        + entry.id.rawValue
      if let release { line += "  [in \(release.series): \(presence(entry, in: release))]" }
      text += line + "\n"
      text += "         \(entry.summary)\n"
      text += "         source: \(entry.source)\n"
      if let note = entry.note { text += "         note: \(note)\n" }
    }
    if let release {
      let templates = P2PDMADmesgStrings.templates(for: release)
      text += "\np2pdma.c dmesg strings of \(release.series) (printed only for verbose callers):\n"
      text += templates.isEmpty ? "  (none: no P2PDMA)\n" : templates.map { "  \($0)\n" }.joined()
    }
    return text
  }
}
