import Foundation

/// One dma-buf as `/sys/kernel/debug/dma_buf/bufinfo` lists it (`dma_buf_debug_show()`).
public struct BufinfoBuffer: Sendable, Equatable {
  public var size: UInt64
  public var flags: UInt32
  public var mode: UInt32
  /// File reference count.
  public var count: Int
  /// `exp_name`: the exporting module (`drm`, `amdgpu`, `i915`, `udmabuf`...).
  public var exporter: String
  /// Inode number (kernels since v5.3 print it).
  public var inode: UInt64?
  /// Name set with `DMA_BUF_SET_NAME` (nil when the kernel does not print one or it is empty).
  public var name: String?
  /// Fence lines as printed, without the leading tab (`read fence:radeon radeon.gfx seq 6580 signalled`,
  /// `Exclusive fence: etnaviv 134000.gpu signalled`).
  public var fences: [String]
  /// `dev_name()` of each attached device: a PCI address for PCI devices, else a platform name.
  public var attachedDevices: [String]
  /// Line of the buffer's row in the file.
  public var line: Int
}

/// What a bufinfo file holds.
public struct Bufinfo: Sendable, Equatable {
  public var buffers: [BufinfoBuffer]
  /// The `Total N objects, B bytes` line, when present.
  public var totalObjects: Int?
  public var totalBytes: UInt64?
  /// `five-column` (v4.x: size flags mode count exp_name) or `with-inode` (v5.3+: ... ino name).
  public var layout: String
}

/// Parses every layout the kernel has printed: the old five columns, the later `ino` and `name`
/// columns, fences as `Exclusive/Shared fence:` (v4.x) or `read/write/kernel/bookkeep fence:`
/// (dma_resv_describe, v5.19+), attachments, and files wrapped by mailers (a row's `ino` on the
/// next line, tabs turned into spaces). Anything else inside the listing is an error naming the
/// file and line.
public enum BufinfoParser {
  public static let livePath = "/sys/kernel/debug/dma_buf/bufinfo"

  public static func parse(_ text: String, path: String) throws -> Bufinfo {
    var buffers: [BufinfoBuffer] = []
    var sawHeader = false
    var sawInodeColumn = false
    var current: BufinfoBuffer?
    var inAttachments = false
    var expectWrappedInode = false
    var totals: (Int, UInt64)?
    func fail(_ line: Int, _ message: String) -> TopologyError {
      .malformed(path: path, line: line, message: "bufinfo: \(message)")
    }
    func finish(_ lineNumber: Int, declared: Int?) throws {
      guard var buffer = current else { return }
      if let declared, declared != buffer.attachedDevices.count {
        throw fail(
          lineNumber,
          "'Total \(declared) devices attached' but \(buffer.attachedDevices.count) device line(s) listed")
      }
      if buffer.name?.isEmpty == true { buffer.name = nil }
      buffers.append(buffer)
      current = nil
      inAttachments = false
      expectWrappedInode = false
    }
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    for (offset, rawLine) in lines.enumerated() {
      let number = offset + 1
      let line = rawLine.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r")))
      if !sawHeader {
        if line == "Dma-buf Objects:" { sawHeader = true }
        continue  // a preamble such as '# cat .../bufinfo'
      }
      if totals != nil {
        if line.isEmpty { continue }
        throw fail(number, "unexpected text after the 'Total ... objects' line: '\(String(line.prefix(60)))'")
      }
      if line.isEmpty { continue }
      let tokens = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
      if tokens.first == "size" {
        sawInodeColumn = tokens.contains("ino")
        continue
      }
      // The header's wrapped tail (`ino`, `ino name`, `name`).
      if tokens.allSatisfy({ $0 == "ino" || $0 == "name" || $0 == "buf" }) {
        if tokens.contains("ino") { sawInodeColumn = true }
        continue
      }
      if expectWrappedInode, current != nil, let inode = UInt64(tokens[0]), tokens[0].count >= 8 {
        current?.inode = inode
        let rest = tokens.dropFirst().joined(separator: " ")
        current?.name = rest.isEmpty ? nil : rest
        expectWrappedInode = false
        sawInodeColumn = true
        continue
      }
      expectWrappedInode = false
      if line.hasPrefix("Total "), line.hasSuffix("devices attached") {
        guard current != nil else { throw fail(number, "'\(line)' outside a buffer") }
        guard tokens.count >= 2, let declared = Int(tokens[1]) else { throw fail(number, "cannot read '\(line)'") }
        try finish(number, declared: declared)
        continue
      }
      if line.hasPrefix("Total "), line.contains("objects") {
        try finish(number, declared: nil)
        guard tokens.count >= 5, let objects = Int(tokens[1]),
          let bytes = UInt64(tokens[3].trimmingCharacters(in: CharacterSet(charactersIn: ",")))
        else { throw fail(number, "cannot read '\(line)'") }
        if objects != buffers.count {
          throw fail(number, "'Total \(objects) objects' but \(buffers.count) buffer row(s) listed")
        }
        totals = (objects, bytes)
        continue
      }
      if line == "Attached Devices:" {
        guard current != nil else { throw fail(number, "'Attached Devices:' outside a buffer") }
        inAttachments = true
        continue
      }
      if line.contains("fence:") || line.hasPrefix("Exclusive fence") || line.hasPrefix("Shared fence") {
        guard current != nil, !inAttachments else { throw fail(number, "fence line outside a buffer's fence list") }
        current?.fences.append(line)
        continue
      }
      if let row = bufferRow(tokens, number: number) {
        try finish(number, declared: nil)
        current = row
        // A mail client may have moved the row's `ino` to the next line.
        expectWrappedInode = row.inode == nil && sawInodeColumn
        continue
      }
      if inAttachments, current != nil, tokens.count == 1 {
        current?.attachedDevices.append(tokens[0])
        continue
      }
      throw fail(number, "not a bufinfo line: '\(String(line.prefix(60)))'")
    }
    guard sawHeader else {
      throw TopologyError.unrecognizedFormat(
        path: path, detail: "no 'Dma-buf Objects:' header; expected /sys/kernel/debug/dma_buf/bufinfo")
    }
    try finish(lines.count, declared: nil)
    let layout = sawInodeColumn || buffers.contains { $0.inode != nil } ? "with-inode" : "five-column"
    return Bufinfo(buffers: buffers, totalObjects: totals?.0, totalBytes: totals?.1, layout: layout)
  }

  /// `%08zu %08x %08x %08ld %s [%08lu [%s]]`: size, flags, mode, count, exp_name, inode, name.
  static func bufferRow(_ tokens: [String], number: Int) -> BufinfoBuffer? {
    guard tokens.count >= 5, tokens[0].count >= 8, let size = UInt64(tokens[0]),
      let flags = UInt32(tokens[1], radix: 16), let mode = UInt32(tokens[2], radix: 16),
      let count = Int(tokens[3])
    else { return nil }
    var buffer = BufinfoBuffer(
      size: size, flags: flags, mode: mode, count: count, exporter: tokens[4], inode: nil, name: nil, fences: [],
      attachedDevices: [], line: number)
    if tokens.count >= 6, let inode = UInt64(tokens[5]) {
      buffer.inode = inode
      let rest = tokens.dropFirst(6).joined(separator: " ")
      buffer.name = rest.isEmpty ? nil : rest
    }
    return buffer
  }

  /// The function a `dev_name()` stands for: a PCI address that is in the topology (or any PCI
  /// address when there is no topology), else nil (platform devices such as `gpu-subsystem`).
  public static func function(forDevice device: String, in topology: Topology?) -> BDF? {
    guard device.contains(":"), let bdf = BDF(device) else { return nil }
    guard let topology else { return bdf }
    return topology.index(of: bdf) != nil ? bdf : nil
  }

  /// The function that exported a buffer: the only function bound to a driver named like the
  /// exporter (`amdgpu`, `i915`...); nil for generic names (`drm`) or when several match.
  public static func exporterFunction(_ exporter: String, in topology: Topology?) -> BDF? {
    guard let topology else { return nil }
    let bound = topology.functions.filter { $0.driver == exporter }
    return bound.count == 1 ? bound[0].bdf : nil
  }
}
