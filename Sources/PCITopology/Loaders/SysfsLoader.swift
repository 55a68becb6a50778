import Foundation

/// Reads the live machine (or a copied tree) from sysfs: `/sys/bus/pci/devices/DDDD:BB:DD.F/`.
/// Only reads; never writes anything (no rescans, no `enable`).
///
/// Per function: `config` (64 bytes for non-root readers, 256/4096 for root), `resource`
/// (`start end flags` per line, CPU addresses), the `iommu_group` and `driver` symlinks, and the
/// `vendor`/`device`/`class` files when `config` is unreadable.
public enum SysfsLoader {
  public static let liveDevicesDirectory = "/sys/bus/pci/devices"

  /// `IORESOURCE_*` flag bits of `resource` lines (`include/linux/ioport.h`).
  enum ResourceFlag {
    static let io: UInt64 = 0x100
    static let memory: UInt64 = 0x200
    static let prefetch: UInt64 = 0x2000
    static let memory64: UInt64 = 0x10_0000
  }

  /// `root == nil`: the live `/sys/bus/pci/devices`. Otherwise `ROOT/sys/bus/pci/devices` when it
  /// exists, else `ROOT` itself is taken as the devices directory.
  public static func load(root: String?) throws -> Topology {
    let fileManager = FileManager.default
    let devicesDirectory: String
    if let root {
      let nested = (root as NSString).appendingPathComponent("sys/bus/pci/devices")
      var isDirectory: ObjCBool = false
      if fileManager.fileExists(atPath: nested, isDirectory: &isDirectory), isDirectory.boolValue {
        devicesDirectory = nested
      } else {
        devicesDirectory = root
      }
    } else {
      devicesDirectory = liveDevicesDirectory
    }
    var isDirectory: ObjCBool = false
    if fileManager.fileExists(atPath: devicesDirectory, isDirectory: &isDirectory), !isDirectory.boolValue {
      throw TopologyError.unreadable(
        path: devicesDirectory,
        reason: "is not a directory ('sysfs:DIR' wants a copied sysfs tree or its bus/pci/devices directory)")
    }
    let entries: [String]
    do {
      entries = try fileManager.contentsOfDirectory(atPath: devicesDirectory)
    } catch {
      throw TopologyError.unreadable(
        path: devicesDirectory, reason: "cannot list the PCI devices directory (\(describe(error)))")
    }
    let database = PCIIDDatabase.system
    var functions: [PCIFunction] = []
    var warnings: [LoadWarning] = []
    var sawShortConfig = false
    let linkedBuses = busRangesFromLinks(devicesDirectory: devicesDirectory, entries: entries)
    for entry in entries.sorted() {
      guard let bdf = BDF(entry) else { continue }
      let directory = (devicesDirectory as NSString).appendingPathComponent(entry)
      if var function = loadFunction(
        bdf: bdf, directory: directory, database: database, warnings: &warnings, sawShortConfig: &sawShortConfig)
      {
        if function.isBridge, function.secondaryBus == nil {
          if let range = linkedBuses[bdf] {
            // The device links (`devices/DDDD:BB:DD.F -> ../../../devices/pci0000:00/<bridge>/<child>`)
            // say which functions sit below the bridge even when its config is unreadable.
            function.primaryBus = bdf.bus
            function.secondaryBus = range.secondary
            function.subordinateBus = range.subordinate
          } else {
            warnings.append(
              LoadWarning(
                "\(bdf): bridge whose bus numbers are unreadable (no readable config, pci_bus entry or device "
                  + "link): functions below it show as a separate root bus", file: directory))
          }
        }
        functions.append(function)
      }
    }
    guard !functions.isEmpty else { throw TopologyError.empty(path: devicesDirectory) }
    if sawShortConfig {
      warnings.append(
        LoadWarning(
          "sysfs config is 64 bytes for non-root readers: ACS and PCIe port types are unknown; run as root or load a dump",
          file: devicesDirectory))
    }
    let title = root == nil ? "this machine (sysfs)" : "sysfs copy at \(root ?? "")"
    // The CPU and IOMMU facts the kernel decides with: /proc/cpuinfo and the IOMMU groups of the
    // live machine, or of a copied tree when it kept them (ROOT/proc, ROOT/sys/kernel).
    let platform = LivePlatform.read(root: root ?? "/")
    return Topology(
      functions: functions, source: TopologySource(kind: .sysfs, location: devicesDirectory, title: title),
      platform: platform, warnings: warnings)
  }

  static func loadFunction(
    bdf: BDF, directory: String, database: PCIIDDatabase?, warnings: inout [LoadWarning],
    sawShortConfig: inout Bool
  ) -> PCIFunction? {
    var function = PCIFunction(bdf: bdf, vendorID: 0, deviceID: 0, classCode: 0)
    let configBytes = BoundedRead.readSmallRegularFile(path: directory + "/config")
    let config = configBytes.flatMap { $0.count >= 16 ? ConfigSpace(bytes: Array($0.prefix(4096))) : nil }
    if let config {
      function.config = config
      function.vendorID = config.vendorID ?? 0
      function.deviceID = config.deviceID ?? 0
      function.revision = config.revision ?? 0
      function.classCode = config.classCode24 ?? 0
      function.isPoweredOff = config.readsAllOnes
      if let (type, multiFunction) = config.headerTypeAndMultiFunction, !function.isPoweredOff {
        function.headerType = type
        function.isMultiFunction = multiFunction
      }
    } else {
      // No config (unreadable): the text attribute files still say who it is.
      guard let vendor = readHex(directory + "/vendor"), let device = readHex(directory + "/device") else {
        warnings.append(LoadWarning("\(bdf): neither config nor vendor/device readable; skipped", file: directory))
        return nil
      }
      function.vendorID = UInt16(truncatingIfNeeded: vendor)
      function.deviceID = UInt16(truncatingIfNeeded: device)
      function.classCode = UInt32(truncatingIfNeeded: readHex(directory + "/class") ?? 0)
      if function.classCode >> 8 == 0x0604 { function.headerType = 1 }
    }
    if function.isPoweredOff {
      function.acs = .unknown(reason: "config space reads all ones: the function is powered off (D3cold) or gone")
    } else if let config {
      if function.isBridge, let buses = config.bridgeBusNumbers {
        function.primaryBus = buses.primary
        function.secondaryBus = buses.secondary
        function.subordinateBus = buses.subordinate
      }
      if function.headerType == 0, config.count >= 0x30, let subsystem = config.subsystemIDs {
        function.subsystemVendorID = subsystem.vendor
        function.subsystemDeviceID = subsystem.device
      }
      if config.hasCapabilityArea { function.portType = config.pcieType }
      if let acs = config.acsFromExtendedSpace {
        function.acs = acs
        if case .unknown(let reason) = acs {
          warnings.append(LoadWarning("\(bdf): ACS unknown: \(reason)", file: directory + "/config"))
        }
      } else if config.count == 256 {
        // A root reader gets the whole config; 256 bytes means the function has no extended
        // space (conventional PCI), so no ACS.
        function.acs = .absent
      } else if config.count == 64 {
        sawShortConfig = true
        function.acs = .unknown(
          reason: "ACS unknown — run as root or load a dump (sysfs config is 64 bytes for non-root)")
      } else {
        let reason = "sysfs config is \(config.count) bytes (neither 64, 256 nor 4096: cut copy?); ACS unknown"
        function.acs = .unknown(reason: reason)
        warnings.append(LoadWarning("\(bdf): \(reason)", file: directory + "/config"))
      }
    } else {
      function.acs = .unknown(reason: "sysfs config is unreadable")
    }
    if function.isBridge, function.secondaryBus == nil, let secondary = readSecondaryFromChildren(directory) {
      function.secondaryBus = secondary
      function.subordinateBus = secondary
      function.primaryBus = bdf.bus
    }
    function.bars = readResources(directory + "/resource", headerType: function.headerType, config: config)
    if let group = symlinkBasename(directory + "/iommu_group") {
      if let number = Int32(group), number >= 0 {
        function.iommuGroup = Int(number)
      } else {
        warnings.append(
          LoadWarning(
            "\(bdf): IOMMU group \"\(group)\" is not a group number; ignored", file: directory + "/iommu_group"))
      }
    }
    function.driver = symlinkBasename(directory + "/driver")
    return LspciOutputLoader.finishNames(function, database: database)
  }

  /// BARs from the `resource` file: line N is BAR N as `start end flags` (CPU addresses). The
  /// bus offset is the difference to the address in the config register when both are known.
  static func readResources(_ path: String, headerType: UInt8, config: ConfigSpace?) -> [BAR] {
    guard let bytes = BoundedRead.readSmallRegularFile(path: path) else { return [] }
    let slots = headerType == 0 ? 6 : headerType == 1 ? 2 : 0
    let registerBARs = config?.decodeBARs(headerType: headerType) ?? []
    var bars: [BAR] = []
    for line in LineSequence(bytes) where line.number <= slots {
      let fields = bytes.text(line.start, line.end).split(separator: " ")
      guard fields.count >= 3, let start = parseHex(fields[0]), let end = parseHex(fields[1]),
        let flags = parseHex(fields[2])
      else { continue }
      guard flags & (ResourceFlag.io | ResourceFlag.memory) != 0, end > start || start != 0 else { continue }
      let index = line.number - 1
      // `end - start + 1` would overflow for a 0...2^64-1 range (a crafted copy): size unknown.
      var size: UInt64?
      if end >= start, end != 0 {
        let (span, overflow) = (end - start).addingReportingOverflow(1)
        size = overflow ? nil : span
      }
      var bar = BAR(
        index: index, address: start, size: size,
        is64Bit: flags & ResourceFlag.memory64 != 0, isPrefetchable: flags & ResourceFlag.prefetch != 0,
        isIO: flags & ResourceFlag.io != 0)
      if let register = registerBARs.first(where: { $0.index == index }), register.address != 0, start != 0 {
        bar.busOffset = Int64(bitPattern: register.address &- start)
      }
      bars.append(bar)
    }
    return bars
  }

  /// Bus ranges below each bridge from the device symlinks, which point into the
  /// `/sys/devices/pci0000:00/...` hierarchy: the secondary bus is the lowest bus of the
  /// functions directly below, the subordinate the highest bus of any function below.
  static func busRangesFromLinks(devicesDirectory: String, entries: [String]) -> [BDF: (
    secondary: UInt8, subordinate: UInt8
  )] {
    var ranges: [BDF: (secondary: UInt8, subordinate: UInt8)] = [:]
    for entry in entries {
      guard let bdf = BDF(entry),
        let destination = try? FileManager.default.destinationOfSymbolicLink(
          atPath: (devicesDirectory as NSString).appendingPathComponent(entry))
      else { continue }
      let ancestors = destination.split(separator: "/").dropLast().compactMap { BDF(String($0)) }
      for (position, ancestor) in ancestors.enumerated() {
        let isDirectParent = position == ancestors.count - 1
        var range = ranges[ancestor] ?? (secondary: 0xff, subordinate: 0)
        if isDirectParent { range.secondary = min(range.secondary, bdf.bus) }
        range.subordinate = max(range.subordinate, bdf.bus)
        ranges[ancestor] = range
      }
    }
    return ranges.filter { $0.value.secondary != 0xff && $0.value.subordinate >= $0.value.secondary }
  }

  /// For a bridge without readable config: the bus of its children directories (`pci_bus` links
  /// such as `0000:01`), when present.
  static func readSecondaryFromChildren(_ directory: String) -> UInt8? {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory + "/pci_bus") else {
      return nil
    }
    for entry in entries.sorted() {
      let parts = entry.split(separator: ":")
      if parts.count == 2, let bus = UInt8(hexDigits: parts[1], maxLength: 2) { return bus }
    }
    return nil
  }

  static func symlinkBasename(_ path: String) -> String? {
    guard let destination = try? FileManager.default.destinationOfSymbolicLink(atPath: path) else { return nil }
    let name = (destination as NSString).lastPathComponent
    return name.isEmpty ? nil : name
  }

  static func readHex(_ path: String) -> UInt64? {
    guard let bytes = BoundedRead.readSmallRegularFile(path: path) else { return nil }
    return parseHex(Substring(String(decoding: bytes, as: UTF8.self).trimmed(of: "\n")))
  }

  static func parseHex(_ text: Substring) -> UInt64? {
    var digits = text
    if digits.hasPrefix("0x") || digits.hasPrefix("0X") { digits = digits.dropFirst(2) }
    return UInt64(hexDigits: digits, maxLength: 16)
  }

  /// In plain words: what the C library says for the path, else Foundation's text.
  static func describe(_ error: Error) -> String {
    let nsError = error as NSError
    if let posix = (nsError.userInfo[NSUnderlyingErrorKey] as? NSError), posix.domain == NSPOSIXErrorDomain {
      return BoundedRead.describe(errno: Int32(posix.code))
    }
    switch nsError.code {
    case NSFileReadNoSuchFileError: return "no such directory"
    case NSFileReadNoPermissionError: return "permission denied"
    default: return describeFoundation(error)
    }
  }

  static func describeFoundation(_ error: Error) -> String {
    let nsError = error as NSError
    if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError {
      return underlying.localizedDescription
    }
    return nsError.localizedDescription
  }
}
