import Foundation

/// `dmabuf-explorer capture`: one file that carries what a verdict and a share depend on, so
/// that the person helping can replay the user's machine.
///
/// The file is an `lspci -xxxx`-style dump (every function's config space as sysfs gave it, so
/// `lspci -F FILE` reads it) with `lspci -v`-style lines per function that lspci ignores but the
/// loader reads (driver, IOMMU group, BAR sizes, NUMA node), after a header block of `# ` lines:
/// how the live run named its input, the platform facts the live loader derived (CPU vendor and
/// family, IOMMU mode), and for people the kernel release, config options, boot command line,
/// CPU model, IOMMU group types and bufinfo. Loading the file restores the same source and
/// platform, so `matrix` gives the same output as on the live machine.
///
/// Only reads; never writes to sysfs or procfs. What it cannot read is listed in the header.
public enum MachineCapture {
  public static let magic = "# dmabuf-explorer capture 1"

  /// Kernel options that change what the model answers.
  static let configOptions = [
    "CONFIG_PCI_P2PDMA", "CONFIG_DMABUF_MOVE_NOTIFY", "CONFIG_DMA_SHARED_BUFFER", "CONFIG_HSA_AMD_P2P",
    "CONFIG_IOMMU_DEFAULT_PASSTHROUGH", "CONFIG_IOMMU_DEFAULT_DMA_LAZY", "CONFIG_IOMMU_DEFAULT_DMA_STRICT",
    "CONFIG_DMABUF_HEAPS", "CONFIG_PCI_ATS",
  ]

  public struct Result: Sendable {
    public var text: String
    /// Files that could not be read, with why (also in the header).
    public var unreadable: [String]
    public var functionCount: Int
  }

  /// Captures the machine under `root` ("/" for the live machine).
  /// `gunzip` unpacks a gzip file (`ROOT/proc/config.gz`) to text, nil when it cannot; the live
  /// run reads the kernel config from there first, so the capture does too.
  public static func capture(
    root: String, includeSerials: Bool, now: Date = Date(), gunzip: (String) -> String? = { _ in nil }
  ) throws -> Result {
    let live = root == "/"
    let topology = try SysfsLoader.load(root: live ? nil : root)
    var unreadable: [String] = []
    func path(_ relative: String) -> String { (root as NSString).appendingPathComponent(relative) }
    func read(_ relative: String) -> String? {
      let file = path(relative)
      guard access(file, F_OK) == 0 else {
        // debugfs is mode 0700: to a non-root reader its files look absent (EACCES, not ENOENT).
        unreadable.append(errno == EACCES ? "\(file): permission denied (run as root)" : "\(file): not present")
        return nil
      }
      guard let data = FileManager.default.contents(atPath: file) else {
        unreadable.append("\(file): permission denied (run as root)")
        return nil
      }
      return String(decoding: data, as: UTF8.self)
    }
    var header: [String] = [magic]
    header.append(
      "# Replay: dmabuf-explorer matrix --topology THIS_FILE (lspci -F THIS_FILE -vv reads the config space)")
    header.append("# taken: \(ISO8601DateFormatter().string(from: now))")
    header.append("# source.title: \(topology.source.title)")
    header.append("# source.location: \(topology.source.location)")
    let platform = topology.platform
    header.append("# platform.cpu.vendor: \(platform.cpuVendor?.rawValue ?? "unknown")")
    header.append("# platform.cpu.family: \(platform.cpuFamily.map(String.init) ?? "unknown")")
    header.append("# platform.cpu.model_name: \(platform.cpuModelName ?? "unknown")")
    header.append("# platform.iommu: \(platform.iommu?.rawValue ?? "unknown")")
    let release = read("proc/sys/kernel/osrelease")?.trimmingCharacters(in: .whitespacesAndNewlines)
    header.append("# kernel.release: \(release ?? "unknown")")
    if let cmdline = read("proc/cmdline")?.trimmingCharacters(in: .whitespacesAndNewlines) {
      header.append("# kernel.cmdline: \(cmdline)")
    }
    let procConfig = path("proc/config.gz")
    let packedConfig = FileManager.default.isReadableFile(atPath: procConfig) ? gunzip(procConfig) : nil
    if let release, let config = packedConfig ?? read("boot/config-\(release)") {
      for line in config.split(separator: "\n") {
        let text = String(line)
        for option in configOptions where text.hasPrefix(option + "=") || text == "# \(option) is not set" {
          header.append("# kernel.config: \(text.hasPrefix("#") ? "\(option)=n" : text)")
        }
      }
    }
    if let cpuinfo = read("proc/cpuinfo") {
      for line in cpuinfo.split(separator: "\n") {
        let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        if parts.count == 2, parts[0] == "model" {
          header.append("# cpu.model: \(parts[1])")
          break
        }
      }
    }
    let groupsDirectory = path("sys/kernel/iommu_groups")
    if let groups = try? FileManager.default.contentsOfDirectory(atPath: groupsDirectory) {
      for group in groups.sorted(by: { (Int($0) ?? 0) < (Int($1) ?? 0) }) {
        let type = read("sys/kernel/iommu_groups/\(group)/type")?.trimmingCharacters(in: .whitespacesAndNewlines)
        header.append("# iommu.group: \(group) \(type ?? "type-unreadable")")
      }
    }
    let shortConfig = topology.functions.filter { ($0.config?.count ?? 0) < 256 && !$0.isPoweredOff }.count
    if shortConfig > 0 {
      unreadable.append(
        "config space of \(shortConfig) function(s): only the first 64 bytes (non-root reader; ACS and port types unknown)"
      )
    }
    var bufinfoLines: [String] = []
    if let bufinfo = read("sys/kernel/debug/dma_buf/bufinfo") {
      bufinfoLines = bufinfo.split(separator: "\n", omittingEmptySubsequences: false).map { "# bufinfo| \($0)" }
    }
    for entry in unreadable { header.append("# unreadable: \(entry)") }
    header += bufinfoLines

    // pciutils' dump reader refuses lines of 256 bytes or more ("line too long"): long values
    // (the boot command line) continue on further lines with the same key.
    var text = header.flatMap(Self.wrapped).joined(separator: "\n") + "\n\n"
    let devices = topology.source.location
    for function in topology.functions {
      text +=
        "\(function.bdf) \(HexDumpWriter.className(function.classCode)): "
        + (function.name ?? "Device \(function.idPair)") + "\n"
      if let driver = function.driver { text += "\tKernel driver in use: \(driver)\n" }
      if let group = function.iommuGroup { text += "\tIOMMU group: \(group)\n" }
      let numa = FileManager.default.contents(atPath: "\(devices)/\(function.bdf)/numa_node")
        .map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
      if let numa, !numa.isEmpty { text += "\tNUMA node: \(numa)\n" }
      for bar in function.bars {
        let kind =
          bar.isIO
          ? "I/O ports at \(hex(bar.address, width: 1))"
          : "Memory at \(hex(bar.address, width: 1)) (\(bar.is64Bit ? "64-bit" : "32-bit"), "
            + "\(bar.isPrefetchable ? "prefetchable" : "non-prefetchable"))"
        text += "\tRegion \(bar.index): \(kind)" + (bar.size.map { " [size=\($0)]" } ?? "") + "\n"
      }
      var bytes = function.config?.bytes ?? []
      if !includeSerials { maskSerialNumber(&bytes) }
      var offset = 0
      while offset + 16 <= bytes.count {
        text += hex(offset, width: 2) + ":"
        for byte in bytes[offset..<offset + 16] { text += " " + hex(byte, width: 2) }
        text += "\n"
        offset += 16
      }
      text += "\n"
    }
    return Result(text: text, unreadable: unreadable, functionCount: topology.count)
  }

  /// Longest header line written; pciutils reads dump lines into a 256-byte buffer.
  static let maximumLineLength = 200

  /// A `# key: value` line cut into lines of at most `maximumLineLength` bytes, each `# key: part`.
  static func wrapped(_ line: String) -> [String] {
    guard line.utf8.count > maximumLineLength, let colon = line.range(of: ": ") else { return [line] }
    let key = String(line[..<colon.upperBound])
    var rest = Substring(line[colon.upperBound...])
    var lines: [String] = []
    let room = max(maximumLineLength - key.utf8.count, 16)
    while !rest.isEmpty {
      var part = rest.prefix(room)
      while part.utf8.count > room { part = part.dropLast() }
      lines.append(key + part)
      rest = rest.dropFirst(part.count)
    }
    return lines
  }

  /// Zeroes the serial number of the Device Serial Number extended capability (ID 0x0003; the
  /// 8 bytes after its header), which identifies the user's hardware.
  static func maskSerialNumber(_ bytes: inout [UInt8]) {
    var offset = 0x100
    var visited = 0
    while offset >= 0x100, offset + 12 <= bytes.count, visited < 512 {
      let header =
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
        | UInt32(bytes[offset + 3]) << 24
      if header == 0 || header == 0xffff_ffff { return }
      if header & 0xffff == 0x0003 {
        for index in offset + 4..<offset + 12 { bytes[index] = 0 }
      }
      offset = Int(header >> 20) & 0xffc
      visited += 1
    }
  }

  /// What a capture's header restores: the live run's source and platform.
  struct Header {
    var source: TopologySource
    var platform: PlatformInfo
  }

  /// The header of a capture file, nil for any other input.
  static func parseHeader(_ bytes: [UInt8], path: String = "") -> Header? {
    let prefix = Array(magic.utf8)
    guard bytes.count > prefix.count, Array(bytes.prefix(prefix.count)) == prefix else { return nil }
    var values: [String: String] = [:]
    var moveNotify: Bool?
    for line in LineSequence(bytes) {
      guard line.count > 2, bytes[line.start] == 0x23 else {
        if !line.isEmpty { break }
        continue
      }
      let text = bytes.text(line.start + 2, line.end)
      guard let colon = text.range(of: ": ") else { continue }
      let key = String(text[..<colon.lowerBound])
      let value = String(text[colon.upperBound...])
      if key == "kernel.config", value.hasPrefix("CONFIG_DMABUF_MOVE_NOTIFY=") {
        moveNotify = value == "CONFIG_DMABUF_MOVE_NOTIFY=y"
      }
      if values[key] == nil { values[key] = value }
    }
    guard let location = values["source.location"], let title = values["source.title"] else { return nil }
    var platform = PlatformInfo()
    platform.cpuVendor = values["platform.cpu.vendor"].flatMap(CPUVendor.init(rawValue:))
    platform.cpuFamily = values["platform.cpu.family"].flatMap { Int($0) }
    platform.cpuModelName = values["platform.cpu.model_name"].flatMap { $0 == "unknown" ? nil : $0 }
    platform.iommu = values["platform.iommu"].flatMap(IOMMUMode.init(rawValue:))
    platform.recordedKernel = RecordedKernel(
      release: values["kernel.release"].flatMap { $0 == "unknown" || $0.isEmpty ? nil : $0 },
      dmabufMoveNotify: moveNotify, file: path)
    return Header(source: TopologySource(kind: .sysfs, location: location, title: title), platform: platform)
  }
}
