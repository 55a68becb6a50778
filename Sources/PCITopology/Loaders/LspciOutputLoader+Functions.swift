import Foundation

/// Building a `PCIFunction` from what one block of lspci output said.
extension LspciOutputLoader {
  // MARK: Building functions

  static func makeFunction(
    _ record: Record, database: PCIIDDatabase?, fileShowsExtendedCapabilities: Bool,
    fileHasExtendedDumps: Bool, hexDump: Bool, path: String, warnings: inout [LoadWarning]
  ) -> PCIFunction {
    let header = record.header
    var function = PCIFunction(bdf: record.bdf, vendorID: 0, deviceID: 0, classCode: 0)
    function.name = header.name
    function.iommuGroup = record.iommuGroup
    function.driver = record.driver
    var configBytes = record.config
    if record.configLength < configBytes.count { configBytes.removeSubrange(record.configLength...) }
    let config =
      record.configLength > 0 ? ConfigSpace(bytes: configBytes, unreadRanges: record.configGaps) : nil

    if let config, config.count >= 0x10 {
      function.config = config
      if config.count < 64 {
        warnings.append(
          LoadWarning(
            "\(record.bdf) has only \(config.count) bytes of config space (truncated dump?)", file: path,
            line: record.line))
      }
      function.isPoweredOff = config.readsAllOnes
      function.vendorID = config.vendorID ?? 0
      function.deviceID = config.deviceID ?? 0
      function.revision = config.revision ?? 0
      function.classCode = config.classCode24 ?? 0
      if let (type, multiFunction) = config.headerTypeAndMultiFunction {
        function.headerType = type
        function.isMultiFunction = multiFunction
      }
      if function.isPoweredOff {
        // All ones: who it is comes from the header text (lspci took it from sysfs, which
        // cached the IDs before the device powered down): `-nn` IDs, else the name via pci.ids.
        if let ids = header.resolvedIDs(database: database) {
          function.vendorID = ids.vendor
          function.deviceID = ids.device
        }
        let textClass = header.classCode ?? header.className.flatMap { database?.classCode(named: $0) }
        function.classCode = textClass.map { UInt32($0) << 8 } ?? 0xff_ffff
        function.headerType = 0
        function.isMultiFunction = false
        function.acs = .unknown(reason: "config space reads all ones: the function is powered off (D3cold) or gone")
        return finishNames(function, database: database)
      }
      if function.isBridge, let buses = config.bridgeBusNumbers {
        function.primaryBus = buses.primary
        function.secondaryBus = buses.secondary
        function.subordinateBus = buses.subordinate
      } else if function.isBridge, let buses = record.busNumbers {
        // The dump stops before 0x18 but the `-v` text gave the bus numbers.
        function.primaryBus = buses.primary
        function.secondaryBus = buses.secondary
        function.subordinateBus = buses.subordinate
      } else if function.isBridge {
        warnings.append(
          LoadWarning(
            "\(record.bdf) is a bridge but its bus numbers (config 0x18...0x1a) are not in the dump: "
              + "functions below it show as a separate root bus", file: path, line: record.line))
      }
      if function.headerType == 0, let subsystem = config.subsystemIDs, config.count >= 0x30 {
        function.subsystemVendorID = subsystem.vendor
        function.subsystemDeviceID = subsystem.device
      }
      function.bars = config.decodeBARs(headerType: function.headerType).map { bar in
        var bar = bar
        guard let region = record.regions[bar.index] else { return bar }
        bar.size = region.size
        // The register holds the PCI bus address; `Region N:` prints the CPU address
        // (`pci_resource_start`, from sysfs). Where they differ (POWER9 PHBs, some Arm host
        // bridges) the text is the CPU address and the difference is the window offset.
        if region.address != 0, bar.address != 0, region.address != bar.address, region.isIO == bar.isIO {
          bar.busOffset = Int64(bitPattern: bar.address &- region.address)
          bar.address = region.address
        }
        return bar
      }
      function.portType = (config.hasCapabilityArea ? config.pcieType : nil) ?? record.portType
      // In a `-xxxx` file lspci prints exactly 256 bytes for a function without extended space.
      // Any other short length is a cut dump and decides nothing.
      if config.count == 256, config.unreadRanges.isEmpty, fileHasExtendedDumps, record.acsCapability == nil,
        record.acsControl == nil
      {
        function.acs = .absent
        return finishNames(function, database: database)
      }
      let fromBytes = config.acsFromExtendedSpace
      if let fromBytes, !fromBytes.isUnknown {
        function.acs = fromBytes
      } else {
        // The bytes do not decide: the `-vv` text may (ACSCap/ACSCtl lines), else stay unknown.
        var missing =
          "the dump has \(config.count) bytes of config space per function; ACS lives in the extended space (lspci -xxxx as root)"
        if case .unknown(let reason) = fromBytes { missing = reason }
        function.acs = acsFromText(
          record, fileShowsExtendedCapabilities: fileShowsExtendedCapabilities, missing: missing)
        if config.count > 256, function.acs.isUnknown {
          warnings.append(
            LoadWarning("\(record.bdf): ACS unknown: \(missing)", file: path, line: record.line))
        }
      }
      return finishNames(function, database: database)
    }

    if hexDump {
      warnings.append(LoadWarning("\(record.bdf) has no hex rows; built from its text", file: path, line: record.line))
    }
    // Text only.
    // Names resolved back to IDs only when unambiguous; otherwise 0 and the name is kept.
    if let ids = header.resolvedIDs(database: database) {
      function.vendorID = ids.vendor
      function.deviceID = ids.device
    }
    if let subsystem = record.subsystem {
      function.subsystemVendorID = subsystem.vendor
      function.subsystemDeviceID = subsystem.device
    }
    let classCode16 =
      header.classCode ?? header.className.flatMap { name in
        database?.classCode(named: name) ?? PCIClassNames.builtin[name]
      } ?? 0
    function.classCode = UInt32(classCode16) << 8 | UInt32(header.progIf ?? 0)
    function.revision = header.revision ?? 0
    if record.unknownHeaderType {
      function.isPoweredOff = true
      function.acs = .unknown(reason: "config space reads all ones: the function is powered off (D3cold) or gone")
      return finishNames(function, database: database)
    }
    if let buses = record.busNumbers {
      function.headerType = classCode16 == 0x0607 ? 2 : 1
      function.primaryBus = buses.primary
      function.secondaryBus = buses.secondary
      function.subordinateBus = buses.subordinate
    } else if classCode16 == 0x0604 || classCode16 == 0x0609 {
      function.headerType = 1
    } else if classCode16 == 0x0607 {
      function.headerType = 2
    }
    function.portType = record.portType
    function.bars = record.regions.keys.sorted().compactMap { index in
      guard let region = record.regions[index] else { return nil }
      return BAR(
        index: index, address: region.address, size: region.size, is64Bit: region.is64Bit,
        isPrefetchable: region.isPrefetchable, isIO: region.isIO)
    }
    function.acs = acsFromText(
      record, fileShowsExtendedCapabilities: fileShowsExtendedCapabilities,
      missing: record.sawCapabilities || record.accessDenied
        ? "lspci ran without root: extended capabilities not shown"
        : "the listing shows no capabilities (lspci -vvv as root shows ACS)")
    return finishNames(function, database: database)
  }

  /// ACS from `ACSCap:`/`ACSCtl:` lines; absent when lspci showed the extended capability list
  /// (it runs as root then) without ACS; unknown otherwise.
  static func acsFromText(_ record: Record, fileShowsExtendedCapabilities: Bool, missing: String) -> ACSState {
    if record.acsCapability != nil || record.acsControl != nil {
      return .present(capability: record.acsCapability ?? [], control: record.acsControl ?? [])
    }
    if record.sawACSCapabilityLine {
      return .unknown(
        reason: "lspci lists the ACS capability but not its registers (-v); lspci -vv prints ACSCap/ACSCtl")
    }
    if record.sawExtendedCapabilities { return .absent }
    // A root run shows extended capabilities for some function; a function without any
    // (conventional PCI, or PCIe with an empty list) then has no ACS either.
    if fileShowsExtendedCapabilities && !record.accessDenied && record.sawCapabilities { return .absent }
    return .unknown(reason: missing)
  }

  /// Fills `name`/`vendorName` from pci.ids where the input had none.
  static func finishNames(_ function: PCIFunction, database: PCIIDDatabase?) -> PCIFunction {
    var function = function
    function.name = NameWithIDs.keepingDeviceID(
      function.name, vendor: function.vendorID, device: function.deviceID,
      vendorName: database?.vendorName(function.vendorID))
    guard let database else { return function }
    if function.vendorName == nil, function.vendorID != 0, !function.isPoweredOff || function.vendorID != 0xffff {
      function.vendorName = database.vendorName(function.vendorID)
    }
    if function.name == nil, function.vendorID != 0, function.vendorID != 0xffff {
      function.name = database.displayName(vendor: function.vendorID, device: function.deviceID)
    } else if let name = function.name, function.vendorID != 0,
      name.hasSuffix(" Device \(hex(function.deviceID, width: 4))"),
      database.deviceName(vendor: function.vendorID, device: function.deviceID) != nil
    {
      // The capturing machine's pci.ids did not know the device; ours does.
      function.name = database.displayName(vendor: function.vendorID, device: function.deviceID)
    }
    return function
  }

  /// Text listings do not show the multi-function bit: a device with a function other than 0
  /// present is multi-function.
  static func inferMultiFunction(_ functions: inout [PCIFunction]) {
    var slotsWithMore = Set<UInt32>()
    for function in functions where function.bdf.function != 0 {
      slotsWithMore.insert(slotKey(function.bdf))
    }
    for index in functions.indices where slotsWithMore.contains(slotKey(functions[index].bdf)) {
      functions[index].isMultiFunction = true
    }
  }

  private static func slotKey(_ bdf: BDF) -> UInt32 {
    bdf.domain &* 0x2000 &+ UInt32(bdf.bus) << 5 | UInt32(bdf.device)
  }
}
