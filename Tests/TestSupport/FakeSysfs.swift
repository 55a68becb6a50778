import Foundation
import PCITopology

/// Writes a fake sysfs tree into a temporary directory, from `PCIFunction`s, for the sysfs
/// loader's tests: `ROOT/sys/bus/pci/devices/DDDD:BB:DD.F/` with `config`, `resource`, `vendor`,
/// `device`, `class`, and `iommu_group`/`driver` symlinks into `ROOT/sys/kernel/iommu_groups/N`
/// and `ROOT/sys/bus/pci/drivers/NAME`, as the kernel lays them out.
///
/// Config bytes are the function's own `config` when it has one, else synthesised from its
/// fields (`ConfigSynthesizer`). `configReadLength` truncates what `config` holds, e.g. 64 to
/// look like a non-root reader's view.
public struct FakeSysfs {
  /// The fake root (pass `sysfs:\(root.path)` to the loader).
  public let root: URL
  /// `ROOT/sys/bus/pci/devices`.
  public let devicesDirectory: URL

  /// Layout of the tree: the whole `sys/...` hierarchy, or only the devices directory at the
  /// root (what `sysfs:DIR` accepts for a copied `devices` directory).
  public enum Layout: Sendable { case fullTree, devicesDirectoryOnly }

  public init(
    functions: [PCIFunction], configReadLength: Int = 4096, layout: Layout = .fullTree,
    hostBridgeWindowOffset: Int64 = 0
  ) throws {
    let fileManager = FileManager.default
    root = fileManager.temporaryDirectory.appendingPathComponent(
      "fake-sysfs-\(UUID().uuidString)", isDirectory: true)
    devicesDirectory =
      layout == .fullTree ? root.appendingPathComponent("sys/bus/pci/devices", isDirectory: true) : root
    try fileManager.createDirectory(at: devicesDirectory, withIntermediateDirectories: true)
    let groupsDirectory = root.appendingPathComponent("sys/kernel/iommu_groups", isDirectory: true)
    let driversDirectory = root.appendingPathComponent("sys/bus/pci/drivers", isDirectory: true)
    for function in functions {
      let directory = devicesDirectory.appendingPathComponent(function.bdf.description, isDirectory: true)
      try fileManager.createDirectory(at: directory, withIntermediateDirectories: true)
      var config = function.config?.bytes ?? ConfigSynthesizer.bytes(for: function)
      if config.count > configReadLength { config = Array(config.prefix(configReadLength)) }
      try Data(config).write(to: directory.appendingPathComponent("config"))
      try Data("0x\(hex(function.vendorID, width: 4))\n".utf8).write(to: directory.appendingPathComponent("vendor"))
      try Data("0x\(hex(function.deviceID, width: 4))\n".utf8).write(to: directory.appendingPathComponent("device"))
      try Data("0x\(hex(function.classCode, width: 6))\n".utf8).write(to: directory.appendingPathComponent("class"))
      try Data(Self.resourceFile(function, offset: hostBridgeWindowOffset).utf8)
        .write(to: directory.appendingPathComponent("resource"))
      if let group = function.iommuGroup {
        let target = groupsDirectory.appendingPathComponent(String(group), isDirectory: true)
        try fileManager.createDirectory(at: target, withIntermediateDirectories: true)
        try fileManager.createSymbolicLink(
          atPath: directory.appendingPathComponent("iommu_group").path, withDestinationPath: target.path)
      }
      if let driver = function.driver {
        let target = driversDirectory.appendingPathComponent(driver, isDirectory: true)
        try fileManager.createDirectory(at: target, withIntermediateDirectories: true)
        try fileManager.createSymbolicLink(
          atPath: directory.appendingPathComponent("driver").path, withDestinationPath: target.path)
      }
    }
  }

  /// Deletes the fake tree.
  public func remove() { try? FileManager.default.removeItem(at: root) }

  /// `resource`: one `start end flags` line per BAR slot (CPU addresses = bus address − offset),
  /// zeros for unused slots, then the ROM and bridge-window lines as zeros.
  static func resourceFile(_ function: PCIFunction, offset: Int64) -> String {
    var lines = [String](repeating: "0x0000000000000000 0x0000000000000000 0x0000000000000000", count: 13)
    for bar in function.bars where bar.index < 6 {
      let start = UInt64(bitPattern: Int64(bitPattern: bar.address) &- offset)
      let end = start &+ (bar.size ?? 1) &- 1
      var flags: UInt64 = bar.isIO ? 0x100 : 0x200
      if bar.isPrefetchable { flags |= 0x2000 }
      if bar.is64Bit { flags |= 0x10_0000 }
      lines[bar.index] = "0x\(hex(start, width: 16)) 0x\(hex(end, width: 16)) 0x\(hex(flags, width: 16))"
    }
    return lines.joined(separator: "\n") + "\n"
  }
}

/// Builds config space bytes from a `PCIFunction`'s fields: IDs, class, header type, bridge bus
/// numbers, BAR registers, an Express capability (port type) at 0x40, and an ACS extended
/// capability at 0x100 when ACS is present (4 KiB then; 256 bytes otherwise).
public enum ConfigSynthesizer {
  public static func bytes(for function: PCIFunction) -> [UInt8] {
    if function.isPoweredOff { return [UInt8](repeating: 0xff, count: 4096) }
    var bytes = [UInt8](repeating: 0, count: 4096)
    func put16(_ offset: Int, _ value: UInt16) {
      bytes[offset] = UInt8(truncatingIfNeeded: value)
      bytes[offset + 1] = UInt8(truncatingIfNeeded: value >> 8)
    }
    func put32(_ offset: Int, _ value: UInt32) {
      put16(offset, UInt16(truncatingIfNeeded: value))
      put16(offset + 2, UInt16(truncatingIfNeeded: value >> 16))
    }
    put16(0x00, function.vendorID)
    put16(0x02, function.deviceID)
    bytes[0x08] = function.revision
    bytes[0x09] = UInt8(truncatingIfNeeded: function.classCode)
    bytes[0x0a] = UInt8(truncatingIfNeeded: function.classCode >> 8)
    bytes[0x0b] = UInt8(truncatingIfNeeded: function.classCode >> 16)
    bytes[0x0e] = function.headerType | (function.isMultiFunction ? 0x80 : 0)
    if function.isBridge {
      bytes[0x18] = function.primaryBus ?? function.bdf.bus
      bytes[0x19] = function.secondaryBus ?? 0
      bytes[0x1a] = function.subordinateBus ?? function.secondaryBus ?? 0
    }
    for bar in function.bars where bar.index < (function.headerType == 0 ? 6 : 2) {
      let register = 0x10 + 4 * bar.index
      if bar.isIO {
        put32(register, UInt32(truncatingIfNeeded: bar.address) | 0x1)
        continue
      }
      var low = UInt32(truncatingIfNeeded: bar.address) & ~0xf
      if bar.isPrefetchable { low |= 0x8 }
      if bar.is64Bit, bar.index + 1 < (function.headerType == 0 ? 6 : 2) {
        low |= 0x4
        put32(register + 4, UInt32(truncatingIfNeeded: bar.address >> 32))
      }
      put32(register, low)
    }
    if let portType = function.portType {
      put16(0x06, 0x0010)  // status: capability list present
      bytes[0x34] = 0x40
      bytes[0x40] = 0x10  // Express
      bytes[0x41] = 0x00
      put16(0x42, UInt16(portType.rawValue) << 4 | 0x2)
    }
    switch function.acs {
    case .present(let capability, let control):
      put32(0x100, 0x0001_000d)  // ACS, version 1, next 0
      put16(0x104, capability.rawValue)
      put16(0x106, control.rawValue)
      return bytes
    case .absent:
      return bytes
    case .unknown:
      return Array(bytes.prefix(256))
    }
  }
}
