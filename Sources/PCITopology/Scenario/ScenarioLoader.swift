import Foundation

/// A scenario file's own words about itself, next to the machine it describes.
public struct Scenario: Sendable {
  /// Short identifier (`teaching-workstation`), also the built-in name.
  public var name: String
  /// One line for lists and the status bar.
  public var title: String
  /// A paragraph (or several) saying what the machine teaches; may be empty.
  public var description: String
  public var topology: Topology
}

/// Loads the project's own scenario files (JSON; the schema is documented, field by field, in
/// `assets/topologies/README.md`).
///
/// The reader is strict on purpose: unknown keys, out-of-range numbers and contradictions
/// (a bridge without bus numbers, an ACS control bit the capability lacks) are errors naming the
/// field path, because a scenario is typed by a person and a silently ignored typo would make the
/// verdict wrong without anyone noticing.
public enum ScenarioLoader {
  public static let schemaName = "dmabuf-explorer/scenario"
  public static let supportedVersion = 1
  /// Path prefix used for built-in scenarios (`builtin:teaching-workstation`).
  public static let builtinPathPrefix = "builtin:"

  /// Loads a scenario and returns only its topology.
  public static func load(data: Data, path: String) throws -> Topology {
    try loadScenario(data: data, path: path).topology
  }

  /// Loads a scenario file from disk.
  public static func load(fileAt path: String) throws -> Topology {
    let bytes = try BoundedRead.readFile(path: path, limit: TopologyLoader.inputLimit)
    return try load(data: Data(bytes), path: path)
  }

  /// Loads a scenario with its name, title and description.
  public static func loadScenario(data: Data, path: String) throws(TopologyError) -> Scenario {
    let document: JSONValue
    do {
      document = try JSONParser.parse([UInt8](data))
    } catch {
      let place = error.column > 0 ? "at column \(error.column)" : "at the end of the line"
      throw TopologyError.malformed(
        path: path, line: error.line, message: "JSON syntax error \(place): \(error.message)")
    }
    var root = try ScenarioObject(document, path: path, fieldPath: "")
    guard let schema = try root.string("schema") else {
      throw root.failure("schema", "missing; expected \"\(schemaName)\" (is this a scenario file?)")
    }
    guard schema == schemaName else {
      throw root.failure("schema", "expected \"\(schemaName)\", got \"\(JSONValue.printable(schema))\"")
    }
    guard let version = try root.integer("version", range: Int64.min...Int64.max, what: "a schema version number")
    else { throw root.failure("version", "missing; expected \(supportedVersion)") }
    guard version == Int64(supportedVersion) else {
      throw root.failure(
        "version", "version \(version) is not supported; this program reads version \(supportedVersion)")
    }
    let name = try root.requiredString("name")
    guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }) else {
      throw root.failure(
        "name",
        "expected lower-case letters, digits and '-' (like \"switch-local-p2p\"), got \"\(JSONValue.printable(name))\"")
    }
    let title = try root.requiredString("title")
    guard !title.isEmpty, !title.contains(where: \.isNewline) else {
      throw root.failure("title", "expected one non-empty line")
    }
    let description = try root.string("description") ?? ""
    let platform = try root.object("platform").map { object throws(TopologyError) in try parsePlatform(object) }
    guard let deviceValues = try root.array("devices") else {
      throw root.failure("devices", "missing; expected a list of PCI functions")
    }
    guard !deviceValues.isEmpty else { throw root.failure("devices", "empty; expected at least one PCI function") }
    try root.rejectUnknownKeys()

    var functions: [PCIFunction] = []
    functions.reserveCapacity(deviceValues.count)
    var firstIndexByBDF: [BDF: Int] = [:]
    var bridgeBySecondary: [BusID: Int] = [:]
    for (index, value) in deviceValues.enumerated() {
      let fieldPath = "devices[\(index)]"
      let function = try parseDevice(value, path: path, fieldPath: fieldPath)
      if let earlier = firstIndexByBDF[function.bdf] {
        var bdfLine = value.line
        if case .object(let members) = value.kind, let member = members.first(where: { $0.key == "bdf" }) {
          bdfLine = member.value.line
        }
        throw ScenarioObject.failure(
          path: path, field: "\(fieldPath).bdf", line: bdfLine,
          "duplicate BDF \(function.bdf); devices[\(earlier)] already has it")
      }
      firstIndexByBDF[function.bdf] = index
      if let secondary = function.secondaryBus {
        let bus = BusID(domain: function.bdf.domain, bus: secondary)
        if let earlier = bridgeBySecondary[bus] {
          throw ScenarioObject.failure(
            path: path, field: "\(fieldPath).bridge.secondary", line: value.line,
            "bus \(bus) is already the secondary bus of devices[\(earlier)]; each bus has one bridge above it")
        }
        bridgeBySecondary[bus] = index
      }
      functions.append(function)
    }
    // The multi-function bit follows from the data: more than one function in a slot.
    func slot(of bdf: BDF) -> BDF { BDF(domain: bdf.domain, bus: bdf.bus, device: bdf.device, function: 0) }
    var functionsPerSlot: [BDF: Int] = [:]
    for function in functions { functionsPerSlot[slot(of: function.bdf), default: 0] += 1 }
    for index in functions.indices {
      functions[index].isMultiFunction = (functionsPerSlot[slot(of: functions[index].bdf)] ?? 0) > 1
    }
    let warnings = consistencyWarnings(functions, platform: platform, path: path)
    let kind: TopologySource.Kind = path.hasPrefix(builtinPathPrefix) ? .builtin : .scenario
    let topology = Topology(
      functions: functions, source: TopologySource(kind: kind, location: path, title: title),
      platform: platform ?? PlatformInfo(), warnings: warnings)
    return Scenario(name: name, title: title, description: description, topology: topology)
  }

  /// Facts that are legal one by one but contradict each other; the machine still loads, and
  /// the user is told, because the contradiction usually means a mistake in the file.
  static func consistencyWarnings(_ functions: [PCIFunction], platform: PlatformInfo?, path: String) -> [LoadWarning] {
    guard platform?.iommu == .off else { return [] }
    var warnings: [LoadWarning] = []
    let grouped = functions.indices.filter { functions[$0].iommuGroup != nil }
    if let first = grouped.first {
      warnings.append(
        LoadWarning(
          "devices[\(first)].iommu_group: \(grouped.count) function(s) have an IOMMU group but platform.iommu is "
            + "\"off\"; without an IOMMU the kernel creates no groups", file: path))
    }
    if let vfio = functions.indices.first(where: { functions[$0].driver == "vfio-pci" }) {
      warnings.append(
        LoadWarning(
          "devices[\(vfio)].driver: vfio-pci needs an IOMMU, but platform.iommu is \"off\"", file: path))
    }
    return warnings
  }

  // MARK: - Sections

  private static func parsePlatform(_ object: ScenarioObject) throws(TopologyError) -> PlatformInfo {
    var object = object
    var platform = PlatformInfo()
    if let vendor = try object.choice("cpu_vendor", from: CPUVendor.allCases.map(\.rawValue)) {
      platform.cpuVendor = CPUVendor(rawValue: vendor)
    }
    if let family = try object.integer("cpu_family", range: 0...0xfff, what: "an x86 family number like 25 or \"0x19\"")
    {
      platform.cpuFamily = Int(family)
    }
    platform.cpuModelName = try object.string("cpu_model")
    if let iommu = try object.choice("iommu", from: IOMMUMode.allCases.map(\.rawValue)) {
      platform.iommu = IOMMUMode(rawValue: iommu)
    }
    platform.kernel = try object.string("kernel")
    try object.rejectUnknownKeys()
    return platform
  }

  private static let portTypeWords = PCIePortType.allCases.map(\.shortName)

  private static func parseDevice(_ value: JSONValue, path: String, fieldPath: String) throws(TopologyError)
    -> PCIFunction
  {
    var object = try ScenarioObject(value, path: path, fieldPath: fieldPath)
    let bdfText = try object.requiredString("bdf")
    guard let bdf = BDF(bdfText) else {
      throw object.failure(
        "bdf",
        "expected a PCI address like \"0000:1a:00.0\" (hex bus ≤ ff, device ≤ 1f, function ≤ 7), got \"\(JSONValue.printable(bdfText))\""
      )
    }
    guard let vendorID = try object.hexID("vendor_id", maxDigits: 4, what: "a vendor ID") else {
      throw object.failure("vendor_id", "missing; expected a vendor ID as a hex string like \"1002\"")
    }
    guard let deviceID = try object.hexID("device_id", maxDigits: 4, what: "a device ID") else {
      throw object.failure("device_id", "missing; expected a device ID as a hex string like \"744c\"")
    }
    guard let classValue = object.value("class") else {
      throw object.failure("class", "missing; expected a class code like \"0300\" or \"030000\"")
    }
    let classCode = try parseClassCode(classValue, object: object)
    var function = PCIFunction(bdf: bdf, vendorID: UInt16(vendorID), deviceID: UInt16(deviceID), classCode: classCode)
    if let revision = try object.hexID("revision", maxDigits: 2, what: "a revision") {
      function.revision = UInt8(revision)
    }
    if let subsystemVendor = try object.hexID("subsystem_vendor_id", maxDigits: 4, what: "a subsystem vendor ID") {
      function.subsystemVendorID = UInt16(subsystemVendor)
    }
    if let subsystemDevice = try object.hexID("subsystem_device_id", maxDigits: 4, what: "a subsystem device ID") {
      function.subsystemDeviceID = UInt16(subsystemDevice)
    }
    function.name = try object.string("name")
    function.vendorName = try object.string("vendor_name")
    if let portWord = try object.choice("port_type", from: portTypeWords) {
      function.portType = PCIePortType.allCases.first { $0.shortName == portWord }
    }

    // Header type: explicit, or implied by a `bridge` object.
    let explicitHeader = try object.integer("header_type", range: 0...2, what: "a header type 0, 1 or 2")
    if var bridge = try object.object("bridge") {
      let busRange: ClosedRange<Int64> = 0...255
      let what = "a bus number 0...255 (a number, or a hex string like \"0x1a\")"
      guard let secondary = try bridge.integer("secondary", range: busRange, what: what) else {
        throw bridge.failure("secondary", "missing; expected \(what)")
      }
      guard let subordinate = try bridge.integer("subordinate", range: busRange, what: what) else {
        throw bridge.failure("subordinate", "missing; expected \(what)")
      }
      try bridge.rejectUnknownKeys()
      guard secondary > Int64(bdf.bus) else {
        throw bridge.failure(
          "secondary",
          "bus \(secondary) must be greater than the bridge's own bus \(bdf.bus) (0x\(hex(bdf.bus, width: 2)))")
      }
      guard subordinate >= secondary else {
        throw bridge.failure("subordinate", "bus \(subordinate) is below the secondary bus \(secondary)")
      }
      if let explicitHeader, explicitHeader == 0 {
        throw object.failure("header_type", "header type 0 is a normal function; a 'bridge' needs header type 1 or 2")
      }
      function.headerType = UInt8(explicitHeader ?? 1)
      function.primaryBus = bdf.bus
      function.secondaryBus = UInt8(secondary)
      function.subordinateBus = UInt8(subordinate)
    } else {
      if let explicitHeader, explicitHeader != 0 {
        throw object.failure(
          "bridge",
          "missing; header type \(explicitHeader) is a bridge and needs {\"secondary\": N, \"subordinate\": N}")
      }
      if let port = function.portType, [.rootPort, .downstreamPort, .upstreamPort, .pcieToPCIBridge].contains(port) {
        throw object.failure(
          "bridge", "missing; a \(port.shortName) is a bridge and needs {\"secondary\": N, \"subordinate\": N}")
      }
    }
    if function.isBridge, let port = function.portType,
      [.endpoint, .legacyEndpoint, .rootComplexIntegratedEndpoint].contains(port)
    {
      throw object.failure("port_type", "\(port.shortName) contradicts 'bridge'; endpoints have no secondary bus")
    }

    if let barValues = try object.array("bars") {
      function.bars = try parseBARs(barValues, path: path, fieldPath: object.field("bars"))
    }
    if let acsValue = object.value("acs") {
      function.acs = try parseACS(acsValue, path: path, fieldPath: object.field("acs"))
    }
    if let group = try object.integer("iommu_group", range: 0...Int64(Int32.max), what: "an IOMMU group number") {
      function.iommuGroup = Int(group)
    }
    function.driver = try object.string("driver")
    function.isPoweredOff = try object.bool("powered_off") ?? false

    var extras = DeviceExtras()
    extras.driverProfile = try object.string("driver_profile")
    extras.vramSize = try object.size("vram_size")
    extras.visibleVRAMSize = try object.size("visible_vram_size")
    if let visible = extras.visibleVRAMSize, let total = extras.vramSize, visible > total {
      throw object.failure(
        "visible_vram_size",
        "\(ScenarioNumbers.formatSize(visible)) is more than vram_size \(ScenarioNumbers.formatSize(total))")
    }
    if let bits = try object.integer(
      "dma_mask_bits", range: 12...64, what: "a DMA mask width in bits (32, 40, 44, 48, 64...)")
    {
      extras.dmaMaskBits = Int(bits)
    }
    if let bufferValues = try object.array("buffers") {
      extras.buffers = try parseBuffers(
        bufferValues, vramSize: extras.vramSize, path: path, fieldPath: object.field("buffers"))
    }
    extras.note = try object.string("note")
    function.extras = extras
    try object.rejectUnknownKeys()
    return function
  }

  /// `"0300"` (base class + subclass; prog-if 00) or `"030000"` (all three bytes).
  private static func parseClassCode(_ value: JSONValue, object: ScenarioObject) throws(TopologyError) -> UInt32 {
    let expected = "a class code as a hex string like \"0300\" or \"030000\""
    guard case .string(let text) = value.kind else {
      throw object.failure("class", "expected \(expected), got \(value.typeDescription)", line: value.line)
    }
    var digits = text.trimmingSpaces
    if digits.lowercased().hasPrefix("0x") { digits = String(digits.dropFirst(2)) }
    guard digits.count == 4 || digits.count == 6, let parsed = UInt32(hexDigits: digits, maxLength: 6) else {
      throw object.failure("class", "expected \(expected), got \(value.typeDescription)", line: value.line)
    }
    return digits.count == 4 ? parsed << 8 : parsed
  }

  private static func parseBARs(_ values: [JSONValue], path: String, fieldPath: String) throws(TopologyError) -> [BAR] {
    var bars: [BAR] = []
    var usedSlots: [Int: Int] = [:]  // BAR register slot → list index that uses it
    for (listIndex, value) in values.enumerated() {
      var object = try ScenarioObject(value, path: path, fieldPath: "\(fieldPath)[\(listIndex)]")
      guard let index = try object.integer("index", range: 0...5, what: "a BAR number 0...5") else {
        throw object.failure("index", "missing; expected a BAR number 0...5")
      }
      let address = try object.address("address") ?? 0
      let size = try object.size("size")
      let is64Bit = try object.bool("64bit") ?? true
      let isPrefetchable = try object.bool("prefetchable") ?? is64Bit
      let isIO = try object.bool("io") ?? false
      let busOffset =
        try object.integer(
          "bus_offset", range: Int64.min...Int64.max, what: "a bus − CPU address offset like \"0x0\" or \"-0x80000000\""
        ) ?? 0
      try object.rejectUnknownKeys()
      if is64Bit && index == 5 {
        throw object.failure("64bit", "a 64-bit BAR uses two registers, so it cannot start at BAR 5")
      }
      if isIO && (is64Bit || isPrefetchable) {
        throw object.failure(
          "io", "an I/O BAR is neither 64-bit nor prefetchable; set \"64bit\": false, \"prefetchable\": false")
      }
      for slot in is64Bit ? [Int(index), Int(index) + 1] : [Int(index)] {
        if let earlier = usedSlots[slot] {
          throw object.failure("index", "BAR register \(slot) is already used by \(fieldPath)[\(earlier)]")
        }
        usedSlots[slot] = listIndex
      }
      if let size {
        guard size & (size - 1) == 0 else {
          throw object.failure("size", "\(size) is not a power of two; BAR sizes always are")
        }
        if address != 0 {
          guard address % size == 0 else {
            throw object.failure(
              "address",
              "0x\(hex(address, width: 1)) is not aligned to the BAR size \(ScenarioNumbers.formatSize(size))")
          }
          let (_, overflow) = address.addingReportingOverflow(size)
          guard !overflow else { throw object.failure("size", "address + size is beyond 2^64") }
        }
      }
      // The 4 GiB limit of a 32-bit BAR applies to the address the device decodes, i.e. the bus
      // address; with a host-bridge offset (POWER, some ARM) the CPU address may be far higher.
      let busAddress = UInt64(bitPattern: Int64(bitPattern: address) &+ busOffset)
      if !is64Bit && address != 0 && busAddress &+ (size ?? 1) > 1 << 32 {
        throw object.failure(
          "address",
          "a 32-bit BAR must sit below 4 GiB on the bus (bus address 0x\(hex(busAddress, width: 1))); set \"64bit\": true, move it, or give its bus_offset"
        )
      }
      bars.append(
        BAR(
          index: Int(index), address: address, size: size, is64Bit: is64Bit, isPrefetchable: isPrefetchable, isIO: isIO,
          busOffset: busOffset))
    }
    return bars.sorted { $0.index < $1.index }
  }

  private static func parseACS(_ value: JSONValue, path: String, fieldPath: String) throws(TopologyError) -> ACSState {
    switch value.kind {
    case .string("absent"): return .absent
    case .string("unknown"): return .unknown(reason: "the scenario does not say whether this function has ACS")
    case .object:
      var object = try ScenarioObject(value, path: path, fieldPath: fieldPath)
      let controlValue = object.value("control")
      let capabilityValue = object.value("capability")
      try object.rejectUnknownKeys()
      guard let controlValue else {
        throw object.failure(
          "control", "missing; expected the ACS Control register, like \"0x001d\" or [\"SV\", \"RR\", \"CR\", \"UF\"]")
      }
      let control = try parseACSBits(controlValue, object: object, key: "control")
      let capability =
        try capabilityValue.map { value throws(TopologyError) in
          try parseACSBits(value, object: object, key: "capability")
        } ?? control
      let unsupported = control.subtracting(capability)
      guard unsupported.isEmpty else {
        throw object.failure(
          "control",
          "enables \(unsupported.shortNames), which the capability register does not offer (\(capability.shortNames))")
      }
      return .present(capability: capability, control: control)
    default:
      throw ScenarioObject.failure(
        path: path, field: fieldPath, line: value.line,
        "expected \"absent\", \"unknown\" or {\"capability\": ..., \"control\": ...}, got \(value.typeDescription)")
    }
  }

  /// `"0x5f"` or a list of names (`SV`, `RR`... or lspci's `ReqRedir`...).
  private static func parseACSBits(_ value: JSONValue, object: ScenarioObject, key: String) throws(TopologyError)
    -> ACSBits
  {
    let validNames = ACSBits.named.map(\.short).joined(separator: ", ")
    switch value.kind {
    case .string(let text):
      guard let raw = ScenarioNumbers.parseHex(text, maxDigits: 4), raw <= 0x7f else {
        throw object.failure(
          key,
          "expected ACS bits as hex ≤ 0x7f like \"0x1d\" or a list like [\"SV\", \"RR\"], got \(value.typeDescription)",
          line: value.line)
      }
      return ACSBits(rawValue: UInt16(raw))
    case .array(let names):
      var bits: ACSBits = []
      for (offset, element) in names.enumerated() {
        guard case .string(let name) = element.kind,
          let entry = ACSBits.named.first(where: {
            $0.short.caseInsensitiveCompare(name) == .orderedSame
              || $0.lspci.caseInsensitiveCompare(name) == .orderedSame
          })
        else {
          throw ScenarioObject.failure(
            path: object.path, field: "\(object.field(key))[\(offset)]", line: element.line,
            "expected one of \(validNames), got \(element.typeDescription)")
        }
        bits.insert(entry.bit)
      }
      return bits
    default:
      throw object.failure(
        key, "expected ACS bits as hex like \"0x1d\" or a list like [\"SV\", \"RR\"], got \(value.typeDescription)",
        line: value.line)
    }
  }

  private static func parseBuffers(
    _ values: [JSONValue], vramSize: UInt64?, path: String, fieldPath: String
  ) throws(TopologyError) -> [BufferSpec] {
    var buffers: [BufferSpec] = []
    var names = Set<String>()
    for (listIndex, value) in values.enumerated() {
      var object = try ScenarioObject(value, path: path, fieldPath: "\(fieldPath)[\(listIndex)]")
      let name = try object.requiredString("name")
      guard !name.isEmpty else { throw object.failure("name", "expected a non-empty name") }
      guard names.insert(name).inserted else {
        throw object.failure("name", "another buffer of this device is already named \"\(JSONValue.printable(name))\"")
      }
      guard let size = try object.size("size") else {
        throw object.failure("size", "missing; expected a size in bytes like 268435456, \"256M\" or \"16G\"")
      }
      let placementWord = try object.choice("placement_preference", from: ["VRAM", "SYSTEM"]) ?? "VRAM"
      let vramOffset = try object.size("vram_offset", allowZero: true)
      let dcc = try object.bool("dcc_compressed") ?? false
      let migratable = try object.bool("migratable") ?? true
      try object.rejectUnknownKeys()
      if let vramOffset, let vramSize {
        let (end, overflow) = vramOffset.addingReportingOverflow(size)
        guard !overflow, end <= vramSize else {
          throw object.failure(
            "vram_offset",
            "offset \(ScenarioNumbers.formatSize(vramOffset)) + size \(ScenarioNumbers.formatSize(size)) runs past vram_size \(ScenarioNumbers.formatSize(vramSize))"
          )
        }
      }
      if placementWord == "VRAM", let vramSize, size > vramSize {
        throw object.failure(
          "size",
          "\(ScenarioNumbers.formatSize(size)) does not fit in vram_size \(ScenarioNumbers.formatSize(vramSize))")
      }
      buffers.append(
        BufferSpec(
          name: name, size: size, preferredPlacement: placementWord == "VRAM" ? .vram : .system, vramOffset: vramOffset,
          dccCompressed: dcc, migratable: migratable))
    }
    return buffers
  }
}
