/// Writes a topology as a scenario file that `ScenarioLoader` reads back to the same functions
/// (config bytes aside: scenario files describe devices, not register dumps). Used by the
/// generator and handy for turning a loaded dump into an editable scenario.
public enum ScenarioWriter {
  public static func write(
    _ functions: [PCIFunction], name: String, title: String, description: String = "", platform: PlatformInfo
  ) -> String {
    var out = "{\n"
    out += "  \"schema\": \(quoted(ScenarioLoader.schemaName)),\n"
    out += "  \"version\": \(ScenarioLoader.supportedVersion),\n"
    out += "  \"name\": \(quoted(name)),\n"
    out += "  \"title\": \(quoted(title)),\n"
    out += "  \"description\": \(quoted(description)),\n"
    var platformFields: [String] = []
    if let vendor = platform.cpuVendor { platformFields.append("\"cpu_vendor\": \(quoted(vendor.rawValue))") }
    if let family = platform.cpuFamily { platformFields.append("\"cpu_family\": \"0x\(hex(family, width: 2))\"") }
    if let model = platform.cpuModelName { platformFields.append("\"cpu_model\": \(quoted(model))") }
    if let iommu = platform.iommu { platformFields.append("\"iommu\": \(quoted(iommu.rawValue))") }
    if let kernel = platform.kernel { platformFields.append("\"kernel\": \(quoted(kernel))") }
    out += "  \"platform\": { \(platformFields.joined(separator: ", ")) },\n"
    out += "  \"devices\": [\n"
    let sorted = functions.sorted { $0.bdf < $1.bdf }
    for (offset, function) in sorted.enumerated() {
      out += "    " + device(function) + (offset + 1 < sorted.count ? ",\n" : "\n")
    }
    out += "  ]\n}\n"
    return out
  }

  /// One device object on one line.
  static func device(_ function: PCIFunction) -> String {
    var fields = [
      "\"bdf\": \(quoted(function.bdf.description))",
      "\"vendor_id\": \"\(hex(function.vendorID, width: 4))\"",
      "\"device_id\": \"\(hex(function.deviceID, width: 4))\"",
      "\"class\": \"\(hex(function.classCode, width: 6))\"",
    ]
    if function.revision != 0 { fields.append("\"revision\": \"\(hex(function.revision, width: 2))\"") }
    if let value = function.subsystemVendorID { fields.append("\"subsystem_vendor_id\": \"\(hex(value, width: 4))\"") }
    if let value = function.subsystemDeviceID { fields.append("\"subsystem_device_id\": \"\(hex(value, width: 4))\"") }
    if let name = function.name { fields.append("\"name\": \(quoted(name))") }
    if let vendorName = function.vendorName { fields.append("\"vendor_name\": \(quoted(vendorName))") }
    if let portType = function.portType { fields.append("\"port_type\": \(quoted(portType.shortName))") }
    if function.isBridge, let secondary = function.secondaryBus, let subordinate = function.subordinateBus {
      if function.headerType != 1 { fields.append("\"header_type\": \(function.headerType)") }
      fields.append("\"bridge\": { \"secondary\": \(secondary), \"subordinate\": \(subordinate) }")
    }
    if !function.bars.isEmpty {
      fields.append("\"bars\": [ " + function.bars.map(bar).joined(separator: ", ") + " ]")
    }
    switch function.acs {
    case .absent: fields.append("\"acs\": \"absent\"")
    case .unknown: fields.append("\"acs\": \"unknown\"")
    case .present(let capability, let control):
      fields.append(
        "\"acs\": { \"capability\": \"0x\(hex(capability.rawValue, width: 2))\", \"control\": \"0x\(hex(control.rawValue, width: 2))\" }"
      )
    }
    if let group = function.iommuGroup { fields.append("\"iommu_group\": \(group)") }
    if let driver = function.driver { fields.append("\"driver\": \(quoted(driver))") }
    if function.isPoweredOff { fields.append("\"powered_off\": true") }
    let extras = function.extras
    if let profile = extras.driverProfile { fields.append("\"driver_profile\": \(quoted(profile))") }
    if let size = extras.vramSize { fields.append("\"vram_size\": \(quoted(ScenarioNumbers.formatSize(size)))") }
    if let size = extras.visibleVRAMSize {
      fields.append("\"visible_vram_size\": \(quoted(ScenarioNumbers.formatSize(size)))")
    }
    if let bits = extras.dmaMaskBits { fields.append("\"dma_mask_bits\": \(bits)") }
    if !extras.buffers.isEmpty {
      fields.append("\"buffers\": [ " + extras.buffers.map(buffer).joined(separator: ", ") + " ]")
    }
    if let note = extras.note { fields.append("\"note\": \(quoted(note))") }
    return "{ " + fields.joined(separator: ", ") + " }"
  }

  static func bar(_ bar: BAR) -> String {
    var fields = ["\"index\": \(bar.index)", "\"address\": \"0x\(hex(bar.address, width: 1))\""]
    if let size = bar.size { fields.append("\"size\": \(quoted(ScenarioNumbers.formatSize(size)))") }
    fields.append("\"64bit\": \(bar.is64Bit)")
    fields.append("\"prefetchable\": \(bar.isPrefetchable)")
    if bar.isIO { fields.append("\"io\": true") }
    if bar.busOffset != 0 {
      let magnitude = bar.busOffset.magnitude
      fields.append("\"bus_offset\": \"\(bar.busOffset < 0 ? "-" : "")0x\(hex(magnitude, width: 1))\"")
    }
    return "{ " + fields.joined(separator: ", ") + " }"
  }

  static func buffer(_ buffer: BufferSpec) -> String {
    var fields = [
      "\"name\": \(quoted(buffer.name))", "\"size\": \(quoted(ScenarioNumbers.formatSize(buffer.size)))",
      "\"placement_preference\": \(quoted(buffer.preferredPlacement.rawValue))",
    ]
    if let offset = buffer.vramOffset {
      fields.append("\"vram_offset\": \(quoted(ScenarioNumbers.formatSize(offset)))")
    }
    if buffer.dccCompressed { fields.append("\"dcc_compressed\": true") }
    if !buffer.migratable { fields.append("\"migratable\": false") }
    return "{ " + fields.joined(separator: ", ") + " }"
  }

  /// A JSON string literal.
  public static func quoted(_ text: String) -> String {
    jsonStringLiteral(text)
  }
}
