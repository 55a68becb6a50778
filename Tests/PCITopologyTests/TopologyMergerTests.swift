import Foundation
import Testing

@testable import PCITopology

/// Several lspci views of one machine merged: sections of one file, or several files.
@Suite struct TopologyMergerTests {
  static let prefix = "server-gpu8-xeon-e5-4x-gtx1080ti-2x-pex8747_nvbugreport_lspci-"
  static var gpu8Available: Bool {
    ["d10de-v-xxx.txt", "d10b5-v-xxx.txt", "t.txt", "nn.txt"].allSatisfy {
      FileManager.default.fileExists(atPath: RealCaptures.path(prefix + $0))
    }
  }

  /// A report: prose, an `lspci -nn` listing, a `-v` block with `Bus:` line, a tree.
  static let report = """
    Some report text that is not lspci output.
    /usr/bin/lspci -nn

    00:00.0 Host bridge [0600]: Intel Corporation Device [8086:6f00] (rev 01)
    00:01.0 PCI bridge [0604]: Intel Corporation Device [8086:6f02] (rev 01)
    01:00.0 VGA compatible controller [0300]: NVIDIA Corporation Device [10de:fffe] (rev a1)
    ____
    /usr/bin/lspci -v
    00:01.0 PCI bridge: Intel Corporation Device 6f02 (rev 01) (prog-if 00 [Normal decode])
    \tBus: primary=00, secondary=01, subordinate=01, sec-latency=0
    \tCapabilities: [90] Express Root Port (Slot-), MSI 00

    ____
    /usr/bin/lspci -t
    -[0000:00]-+-00.0
               \\-01.0-[01]----00.0

    """

  @Test func sectionsAreFoundByLayout() {
    let bytes = Array(Self.report.utf8)
    let sections = LspciSections.split(bytes)
    #expect(sections.map(\.layout) == [.blocks, .blocks, .tree])
    #expect(sections.map(\.isPlainListing) == [true, false, true])
    #expect(sections[0].headers.count == 3)
    #expect(LspciSections.needsMerging(sections))
  }

  @Test func oneFileWithSeveralSectionsIsMerged() throws {
    let topology = try TopologyLoader.load(data: Data(Self.report.utf8), path: "report.txt")
    #expect(topology.source.kind == .merged)
    #expect(topology.count == 3)
    let port = try #require(topology.function(BDF("00:01.0")!))
    #expect(port.portType == .rootPort)
    #expect(port.secondaryBus == 1)
    let gpu = try #require(topology.index(of: BDF("01:00.0")!))
    #expect(topology[gpu].idPair == "10de:fffe")
    #expect(topology[gpu].name == "NVIDIA Corporation Device fffe")
    #expect(topology.pathToRoot(from: gpu).map { topology[$0].bdf.description } == ["0000:01:00.0", "0000:00:01.0"])
    #expect(!topology.warnings.contains { $0.message.hasPrefix("conflict") }, "\(topology.warnings)")
    // The listing's note about inferring the hierarchy is moot next to the tree.
    #expect(!topology.warnings.contains { $0.message.contains("bus numbers") }, "\(topology.warnings)")
  }

  @Test func conflictsAreReportedNotResolvedSilently() throws {
    let text = Self.report.replacingOccurrences(of: "-[01]----00.0", with: "-[01-02]----00.0")
    let topology = try TopologyLoader.load(data: Data(text.utf8), path: "report.txt")
    let conflicts = topology.warnings.map(\.message).filter { $0.hasPrefix("conflict: ") }
    #expect(conflicts.count == 1, "\(conflicts)")
    #expect(
      conflicts.contains {
        $0.hasPrefix(
          "conflict: bridge 0000:00:01.0 leads to buses [01-01] in report.txt:9 but [01-02] in report.txt:15")
      }, "\(conflicts)")
    let mixed = Self.report + "02:00.0 VGA compatible controller [0300]: NVIDIA Corporation Device [10de:1b06]\n"
    let missing = try TopologyLoader.load(data: Data(mixed.utf8), path: "mixed.txt")
    #expect(
      missing.warnings.contains {
        $0.message.hasPrefix("conflict: 1 function(s) are not in the tree mixed.txt:15 (0000:02:00.0)")
      }, "\(missing.warnings)")
  }

  @Test func differentIDsInTwoFilesAreAConflict() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("merge-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let first = directory.appendingPathComponent("a.txt")
    let second = directory.appendingPathComponent("b.txt")
    try Data("01:00.0 VGA compatible controller [0300]: NVIDIA Corporation Device [10de:1b06]\n".utf8).write(to: first)
    try Data("01:00.0 VGA compatible controller [0300]: NVIDIA Corporation Device [10de:1b80]\n".utf8).write(to: second)
    let topology = try TopologyMerger.load(paths: [first.path, second.path])
    #expect(topology.count == 1)
    #expect(topology[0].idPair == "10de:1b06")
    #expect(
      topology.warnings.contains {
        $0.message == "conflict: 0000:01:00.0 is 10de:1b06 in \(first.path) but 10de:1b80 in \(second.path); "
          + "keeping 10de:1b06 (lspci listing)"
      }, "\(topology.warnings)")
  }

  @Test func singleLayoutFilesLoadAsBefore() throws {
    let listing =
      "00:00.0 Host bridge: Intel Corporation Device 6f00\n00:01.0 PCI bridge: Intel Corporation Device 6f02\n"
    let topology = try TopologyLoader.load(data: Data(listing.utf8), path: "plain.txt")
    #expect(topology.source.kind == .lspciText)
  }

  @Test(.enabled(if: gpu8Available, "../shared/data/real not found"))
  func bugReportSectionsGiveTheFullHierarchy() throws {
    let paths = ["d10de-v-xxx.txt", "d10b5-v-xxx.txt", "t.txt"].map { RealCaptures.path(Self.prefix + $0) }
    let topology = try TopologyMerger.load(paths: paths)
    #expect(topology.source.kind == .merged)
    #expect(topology.partialInput.isEmpty)
    let gpu = try #require(topology.index(of: BDF("04:00.0")!))
    #expect(topology[gpu].config != nil, "config space from the hex dump")
    #expect(
      topology.pathToRoot(from: gpu).map { topology[$0].bdf.shortDescription } == [
        "04:00.0", "03:08.0", "02:00.0", "00:02.0",
      ])
    #expect(topology.count == 102)
    // One concatenated file gives the same machine.
    let sections = try paths.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
    let joined = sections.reduce(Data()) { $0 + Data("____\n".utf8) + $1 }
    let fromOneFile = try TopologyLoader.load(data: joined, path: "nvidia-bug-report.log")
    #expect(fromOneFile.functions.map(\.bdf) == topology.functions.map(\.bdf))
    #expect(fromOneFile.parentIndex == topology.parentIndex)
  }
}
