import PCITopology

/// The `tree --format json` document (README: Tree). Keys in the order the output always had
/// (alphabetical: it was written by JSONSerialization with sorted keys).
struct TreeJSON: Encodable {
  struct Source: Encodable {
    var kind: String
    var location: String
    var title: String
  }

  struct BARJSON: Encodable {
    var address: String
    var index: Int
    var io: Bool
    var is_64bit: Bool
    var prefetchable: Bool
    var size: UInt64?
  }

  struct Device: Encodable {
    var acs: ACSJSON
    /// Only when the ACS state is unknown (the key is absent otherwise).
    var acs_unknown_reason: String?
    var bars: [BARJSON]
    var bdf: String
    var `class`: String
    var device_id: String
    var driver: String?
    var header_type: Int
    var iommu_group: Int?
    var multifunction: Bool
    var name: String?
    var parent: String?
    var port_type: String?
    var powered_off: Bool
    var root_bus: String
    var secondary_bus: Int?
    var subordinate_bus: Int?
    var vendor_id: String
    var vendor_name: String?

    enum CodingKeys: String, CodingKey {
      case acs, acs_unknown_reason, bars, bdf, `class`, device_id, driver, header_type, iommu_group, multifunction
      case name, parent, port_type, powered_off, root_bus, secondary_bus, subordinate_bus, vendor_id, vendor_name
    }

    init(_ topology: Topology, _ index: Int) {
      let function = topology[index]
      acs = ACSJSON(function.acs)
      if case .unknown(let reason) = function.acs { acs_unknown_reason = reason }
      bars = function.bars.map {
        BARJSON(
          address: "0x" + String($0.address, radix: 16), index: $0.index, io: $0.isIO, is_64bit: $0.is64Bit,
          prefetchable: $0.isPrefetchable, size: $0.size)
      }
      bdf = function.bdf.description
      `class` = hex(function.classCode >> 8, width: 4)
      device_id = hex(function.deviceID, width: 4)
      driver = function.driver
      header_type = Int(function.headerType)
      iommu_group = function.iommuGroup
      multifunction = function.isMultiFunction
      name = function.name
      parent = topology.upstreamBridge(of: index).map { topology[$0].bdf.description }
      port_type = function.portType?.shortName
      powered_off = function.isPoweredOff
      root_bus = topology.rootBus(of: index).description
      secondary_bus = function.secondaryBus.map { Int($0) }
      subordinate_bus = function.subordinateBus.map { Int($0) }
      vendor_id = hex(function.vendorID, width: 4)
      vendor_name = function.vendorName
    }

    func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(acs, forKey: .acs)
      if let acs_unknown_reason { try container.encode(acs_unknown_reason, forKey: .acs_unknown_reason) }
      try container.encode(bars, forKey: .bars)
      try container.encode(bdf, forKey: .bdf)
      try container.encode(`class`, forKey: .class)
      try container.encode(device_id, forKey: .device_id)
      try container.encodeIfPresent(driver, forKey: .driver)
      try container.encode(header_type, forKey: .header_type)
      try container.encodeIfPresent(iommu_group, forKey: .iommu_group)
      try container.encode(multifunction, forKey: .multifunction)
      try container.encodeIfPresent(name, forKey: .name)
      try container.encodeIfPresent(parent, forKey: .parent)
      try container.encodeIfPresent(port_type, forKey: .port_type)
      try container.encode(powered_off, forKey: .powered_off)
      try container.encode(root_bus, forKey: .root_bus)
      try container.encodeIfPresent(secondary_bus, forKey: .secondary_bus)
      try container.encodeIfPresent(subordinate_bus, forKey: .subordinate_bus)
      try container.encode(vendor_id, forKey: .vendor_id)
      try container.encodeIfPresent(vendor_name, forKey: .vendor_name)
    }
  }

  var devices: [Device]
  var source: Source
  var warnings: [String]

  init(_ topology: Topology) {
    devices = (0..<topology.count).map { Device(topology, $0) }
    source = Source(
      kind: topology.source.kind.rawValue, location: topology.source.location, title: topology.source.title)
    warnings = topology.warnings.map(\.description)
  }
}

/// An ACS state as JSON: `"absent"`, `"unknown"`, or the capability and control registers in hex
/// (`tree` devices and `explain` walk steps).
enum ACSJSON: Encodable {
  case absent
  case unknown
  case present(capability: String, control: String)

  init(_ acs: ACSState) {
    switch acs {
    case .absent: self = .absent
    case .unknown: self = .unknown
    case .present(let capability, let control):
      self = .present(
        capability: "0x" + hex(capability.rawValue, width: 4), control: "0x" + hex(control.rawValue, width: 4))
    }
  }

  enum CodingKeys: String, CodingKey { case capability, control }

  func encode(to encoder: any Encoder) throws {
    switch self {
    case .absent:
      var container = encoder.singleValueContainer()
      try container.encode("absent")
    case .unknown:
      var container = encoder.singleValueContainer()
      try container.encode("unknown")
    case .present(let capability, let control):
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(capability, forKey: .capability)
      try container.encode(control, forKey: .control)
    }
  }
}
