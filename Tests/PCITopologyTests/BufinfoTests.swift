import Foundation
import Testing

@testable import PCITopology

/// `/sys/kernel/debug/dma_buf/bufinfo` in every layout, mapped to functions, and its errors.
@Suite struct BufinfoTests {
  static let oldSample = "imx6-etnaviv_dma-buf-bufinfo_from-patch-description.txt"
  static let wrappedSample = "desktop-asus-p5ql-xeon-l5430-radeon-hd6570_dma-buf-bufinfo.txt"
  static var samplesAvailable: Bool {
    [oldSample, wrappedSample].allSatisfy { FileManager.default.fileExists(atPath: RealCaptures.path($0)) }
  }

  /// A current kernel's layout: tabs, inode and name columns, dma_resv_describe fences, PCI
  /// devices attached.
  static let current = """

    Dma-buf Objects:
    size\tflags\tmode\tcount\texp_name\tino\tname
    00262144\t00000002\t00080007\t00000004\tamdgpu\t00000412\tframebuffer 1
    \twrite fence:amdgpu gfx_0.0.0 seq 1234 signalled
    \tread fence:mlx5_ib mlx5_0 seq 7 unsignalled
    \tAttached Devices:
    \t0000:03:00.0
    \t0000:41:00.0
    Total 2 devices attached

    04194304\t00000002\t00080007\t00000002\tudmabuf\t00000413\t
    \tAttached Devices:
    Total 0 devices attached


    Total 2 objects, 4456448 bytes

    """

  static func topology() -> Topology {
    let gpu = PCIFunction(
      bdf: BDF("0000:03:00.0")!, vendorID: 0x1002, deviceID: 0x744c, classCode: 0x030000, driver: "amdgpu")
    let nic = PCIFunction(
      bdf: BDF("0000:41:00.0")!, vendorID: 0x15b3, deviceID: 0x1021, classCode: 0x020000, driver: "mlx5_core")
    return Topology(functions: [gpu, nic], source: TopologySource(kind: .generated, location: "test"))
  }

  @Test func currentLayoutWithAttachmentsAndFences() throws {
    let info = try BufinfoParser.parse(Self.current, path: "bufinfo")
    #expect(info.layout == "with-inode")
    #expect(info.buffers.count == 2)
    #expect(info.totalObjects == 2 && info.totalBytes == 4_456_448)
    let first = info.buffers[0]
    #expect(first.size == 262_144 && first.exporter == "amdgpu" && first.inode == 412)
    #expect(first.name == "framebuffer 1")
    #expect(
      first.fences == [
        "write fence:amdgpu gfx_0.0.0 seq 1234 signalled", "read fence:mlx5_ib mlx5_0 seq 7 unsignalled",
      ])
    #expect(first.attachedDevices == ["0000:03:00.0", "0000:41:00.0"])
    #expect(info.buffers[1].name == nil && info.buffers[1].attachedDevices.isEmpty)
    let machine = Self.topology()
    #expect(BufinfoParser.function(forDevice: "0000:41:00.0", in: machine) == BDF("0000:41:00.0"))
    #expect(BufinfoParser.function(forDevice: "0000:42:00.0", in: machine) == nil)
    #expect(BufinfoParser.function(forDevice: "gpu-subsystem", in: nil) == nil)
    #expect(BufinfoParser.exporterFunction("amdgpu", in: machine) == BDF("0000:03:00.0"))
    #expect(BufinfoParser.exporterFunction("drm", in: machine) == nil)
  }

  @Test(.enabled(if: samplesAvailable, "../shared/data/real not found"))
  func oldFiveColumnSample() throws {
    let text = try String(contentsOfFile: RealCaptures.path(Self.oldSample), encoding: .utf8)
    let info = try BufinfoParser.parse(text, path: Self.oldSample)
    #expect(info.layout == "five-column")
    #expect(info.buffers.count == 1)
    let buffer = try #require(info.buffers.first)
    #expect(buffer.size == 8_294_400 && buffer.count == 5 && buffer.mode == 5 && buffer.exporter == "drm")
    #expect(buffer.inode == nil)
    #expect(buffer.fences == ["Exclusive fence: etnaviv 134000.gpu signalled"])
    #expect(buffer.attachedDevices == ["gpu-subsystem"])
    #expect(info.totalObjects == 1 && info.totalBytes == 8_294_400)
  }

  @Test(.enabled(if: samplesAvailable, "../shared/data/real not found"))
  func mailerWrappedSample() throws {
    let text = try String(contentsOfFile: RealCaptures.path(Self.wrappedSample), encoding: .utf8)
    let info = try BufinfoParser.parse(text, path: Self.wrappedSample)
    #expect(info.buffers.count == 11)
    #expect(info.buffers.map(\.inode) == [110, 106, 105, 104, 103, 101, 84, 83, 72, 14, 11])
    #expect(info.buffers.reduce(0) { $0 + $1.size } == 59_682_816)
    #expect(info.totalBytes == 59_682_816)
    #expect(info.buffers[0].fences.count == 2)
    #expect(
      info.buffers[3].fences == [
        "write fence:radeon radeon.gfx seq 6576 signalled", "read fence:radeon radeon.gfx seq 5897 signalled",
      ])
    #expect(info.buffers.allSatisfy { $0.attachedDevices.isEmpty && $0.exporter == "drm" })
  }

  @Test(arguments: [
    (
      "Total 2 devices attached", "Total 3 devices attached",
      "bufinfo:10: bufinfo: 'Total 3 devices attached' but 2 device line(s) listed"
    ),
    (
      "\tAttached Devices:\n\t0000:03:00.0", "\tAttached Devices:\n\t0000:03:00.0 extra",
      "bufinfo:8: bufinfo: not a bufinfo line: '0000:03:00.0 extra'"
    ),
    ("Total 2 objects", "Total 5 objects", "bufinfo:17: bufinfo: 'Total 5 objects' but 2 buffer row(s) listed"),
    (
      "00262144\t00000002", "0026x144\t00000002",
      "bufinfo:4: bufinfo: not a bufinfo line: '0026x144\t00000002\t00080007\t00000004\tamdgpu\t00000412\tframebuf'"
    ),
  ])
  func malformedNamesFileAndLine(original: String, replacement: String, message: String) {
    let text = Self.current.replacingOccurrences(of: original, with: replacement)
    #expect(text != Self.current)
    do {
      _ = try BufinfoParser.parse(text, path: "bufinfo")
      Issue.record("no error for \(replacement)")
    } catch {
      #expect(String(describing: error) == message)
    }
  }

  @Test func notABufinfoFile() {
    #expect(throws: TopologyError.self) { try BufinfoParser.parse("00:00.0 Host bridge: Intel\n", path: "x.txt") }
  }
}

/// The Device Serial Number capability is zeroed in captures unless asked for.
@Suite struct CaptureSerialTests {
  @Test func serialNumberIsMaskedWhereverTheCapabilitySits() {
    var bytes = [UInt8](repeating: 0, count: 4096)
    // 0x100: AER (ID 0x0001, version 1, next 0x140); 0x140: DSN (ID 0x0003, next 0).
    bytes[0x100] = 0x01
    bytes[0x102] = 0x01
    bytes[0x103] = 0x14
    bytes[0x140] = 0x03
    bytes[0x142] = 0x01
    for index in 0x144..<0x14c { bytes[index] = 0xab }
    bytes[0x14c] = 0x77  // the next capability's first byte stays
    MachineCapture.maskSerialNumber(&bytes)
    #expect(bytes[0x144..<0x14c].allSatisfy { $0 == 0 })
    #expect(bytes[0x14c] == 0x77)
    #expect(bytes[0x100] == 0x01 && bytes[0x140] == 0x03)
    var short = [UInt8](repeating: 0xab, count: 64)
    MachineCapture.maskSerialNumber(&short)
    #expect(short.allSatisfy { $0 == 0xab })
  }
}
