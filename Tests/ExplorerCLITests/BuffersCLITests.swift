import Foundation
import Testing

/// `dmabuf-explorer buffers` through the binary.
@Suite("CLI buffers") struct BuffersCLITests {
  @Test(.enabled(if: CLI.realCapturesAvailable, "../shared/data/real not found"))
  func bothRealSamplesLoad() throws {
    for (name, count) in [
      ("imx6-etnaviv_dma-buf-bufinfo_from-patch-description.txt", 1),
      ("desktop-asus-p5ql-xeon-l5430-radeon-hd6570_dma-buf-bufinfo.txt", 11),
    ] {
      let result = try runCLI(["buffers", "--bufinfo", CLI.realCapture(name), "--format", "json"])
      #expect(result.status == 0, "\(result)")
      let buffers = try JSONShape.object(result.stdout)["buffers"] as? [[String: Any]] ?? []
      #expect(buffers.count == count, "\(name)")
      for buffer in buffers {
        #expect(buffer["exporter"] as? String == "drm")
        #expect(JSONShape.isInteger(buffer["size"]))
        #expect(buffer["name"] != nil)
        #expect(buffer["attachments"] is [[String: Any]])
      }
    }
    let old = try runCLI([
      "buffers", "--bufinfo", CLI.realCapture("imx6-etnaviv_dma-buf-bufinfo_from-patch-description.txt"), "--format",
      "json",
    ])
    let attachment =
      ((try JSONShape.object(old.stdout)["buffers"] as? [[String: Any]])?.first?["attachments"]
      as? [[String: Any]])?.first
    #expect(attachment?["device"] as? String == "gpu-subsystem")
    #expect(JSONShape.isNull(attachment?["function"]))
  }

  @Test func attachedPCIDevicesMapToTheTopology() throws {
    let directory = try CLI.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("bufinfo")
    try Data(
      """
      Dma-buf Objects:
      size\tflags\tmode\tcount\texp_name\tino\tname
      08388608\t00000002\t00080007\t00000003\tamdgpu\t00000077\t
      \tAttached Devices:
      \t0000:03:00.0
      \t0000:99:00.0
      Total 2 devices attached

      Total 1 objects, 8388608 bytes

      """.utf8
    ).write(to: file)
    let result = try runCLI([
      "buffers", "--bufinfo", file.path, "--topology", "teaching-workstation", "--format", "json",
    ])
    #expect(result.status == 0, "\(result)")
    let buffer = (try JSONShape.object(result.stdout)["buffers"] as? [[String: Any]])?.first
    let attachments = buffer?["attachments"] as? [[String: Any]] ?? []
    #expect(attachments.map { $0["device"] as? String } == ["0000:03:00.0", "0000:99:00.0"])
    #expect(attachments.first?["function"] as? String == "0000:03:00.0")
    #expect(JSONShape.isNull(attachments.last?["function"]), "0000:99:00.0 is not in the topology")
  }

  @Test func malformedBufinfoNamesFileAndLine() throws {
    let directory = try CLI.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("bufinfo")
    try Data("Dma-buf Objects:\nsize\tflags\tmode\tcount\texp_name\n08388608\tzz\n".utf8).write(to: file)
    let result = try runCLI(["buffers", "--bufinfo", file.path])
    #expect(result.status == 2)
    #expect(result.stderr.contains("\(file.path):3: bufinfo: not a bufinfo line"), "\(result)")
  }
}
