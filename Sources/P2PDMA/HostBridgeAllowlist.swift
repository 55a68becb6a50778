import PCITopology

/// One row of the kernel's `pci_p2pdma_whitelist[]`: a root-bus device ID that may forward
/// peer-to-peer TLPs between its root ports.
public struct P2PAllowlistEntry: Sendable, Equatable, Hashable {
  /// How far the entry has travelled towards a release, for labels in explanations.
  public enum Status: String, Sendable, Codable {
    /// In mainline releases.
    case mainline
    /// Added in 2026 (Intel accelerator root-bus devices, Nvidia Vera Rubin).
    case added2026 = "2026"
    /// In the PCI tree, queued after v7.3-rc1 (Zhaoxin).
    case queued = "queued after v7.3-rc1"
  }

  public var vendorID: UInt16
  /// nil stands for `PCI_ANY_ID`: every device of the vendor matches.
  public var deviceID: UInt16?
  /// `REQ_SAME_HOST_BRIDGE`: only allowed when both devices share this host bridge.
  public var requiresSameHostBridge: Bool
  /// What the device is.
  public var what: String
  /// Commit or era that added it.
  public var since: String
  public var status: Status

  public init(
    vendorID: UInt16, deviceID: UInt16?, requiresSameHostBridge: Bool = false, what: String,
    since: String, status: Status = .mainline
  ) {
    self.vendorID = vendorID
    self.deviceID = deviceID
    self.requiresSameHostBridge = requiresSameHostBridge
    self.what = what
    self.since = since
    self.status = status
  }

  /// Vendor must be equal; device must be equal unless the entry says any device.
  public func matches(vendorID: UInt16, deviceID: UInt16) -> Bool {
    self.vendorID == vendorID && (self.deviceID == nil || self.deviceID == deviceID)
  }

  /// `8086:09a2`, or `1ae0:*` for an any-device entry.
  public var idPattern: String {
    "\(hex(vendorID, width: 4)):\(deviceID.map { hex($0, width: 4) } ?? "*")"
  }

  /// `8086:09a2 (Ice Lake and later Xeon Scalable; feaea1fe8b36)`, with the REQ_SAME_HOST_BRIDGE
  /// flag and a status note when not plain mainline.
  public var label: String {
    var notes = [what, since]
    if requiresSameHostBridge { notes.append("REQ_SAME_HOST_BRIDGE") }
    if status == .queued { notes.append("queued after v7.3-rc1") }
    return "\(idPattern) (\(notes.joined(separator: "; ")))"
  }
}

/// The host-bridge allowlist of `drivers/pci/p2pdma.c`, in table order (pci-tree@cd2698d7).
public enum P2PAllowlist {
  static let intel: UInt16 = 0x8086
  static let google: UInt16 = 0x1ae0
  static let nvidia: UInt16 = 0x10de
  static let zhaoxin: UInt16 = 0x1d17

  /// Every entry, in the order the kernel scans them.
  public static let entries: [P2PAllowlistEntry] = {
    var rows: [P2PAllowlistEntry] = [
      .init(
        vendorID: intel, deviceID: 0x3c00, requiresSameHostBridge: true,
        what: "Sandy Bridge-E host bridge, Xeon E5 / Core i7", since: "≈v5.4, 494d63b0d5d0"),
      .init(
        vendorID: intel, deviceID: 0x3c01, requiresSameHostBridge: true,
        what: "Sandy Bridge-E host bridge", since: "≈v5.4"),
      .init(
        vendorID: intel, deviceID: 0x2f00, requiresSameHostBridge: true,
        what: "Haswell-E host bridge, Xeon E5/E7 v3 and Core i7", since: "≈v5.4"),
      .init(
        vendorID: intel, deviceID: 0x2f01, requiresSameHostBridge: true,
        what: "Haswell-E host bridge", since: "≈v5.4"),
      .init(vendorID: intel, deviceID: 0x2030, what: "Skylake-E root port A", since: "bc123a515cb7"),
      .init(vendorID: intel, deviceID: 0x2031, what: "Skylake-E root port B", since: "7b94b53db34f"),
      .init(vendorID: intel, deviceID: 0x2032, what: "Skylake-E root port C", since: "7b94b53db34f"),
      .init(vendorID: intel, deviceID: 0x2033, what: "Skylake-E root port D", since: "7b94b53db34f"),
      .init(vendorID: intel, deviceID: 0x2020, what: "Skylake-E", since: "commit unverified"),
      .init(
        vendorID: intel, deviceID: 0x09a2,
        what: "Ice Lake and later Xeon Scalable, the first device on ICX/SPR/EMR/GNR/SRF/CWF/DMR root buses",
        since: "feaea1fe8b36, 2021"),
    ]
    let accelerators: [(UInt16, String)] = [
      (0x0b25, "DSA, Sapphire Rapids"), (0x0cfe, "IAX, Sapphire Rapids"),
      (0x11fb, "DSA, Granite Rapids-D"), (0x1212, "DSA, Diamond Rapids"),
      (0x1216, "IAA, Diamond Rapids"), (0x4940, "QAT 4xxx"), (0x4942, "QAT 401xx"),
      (0x4944, "QAT 402xx"), (0x4946, "QAT 420xx"), (0x4948, "QAT 6xxx"),
    ]
    for (device, what) in accelerators {
      rows.append(
        .init(
          vendorID: intel, deviceID: device,
          what: "Intel accelerator that is the first device on its own root bus: \(what)",
          since: "2026, Lukas Wunner", status: .added2026))
    }
    rows.append(.init(vendorID: google, deviceID: nil, what: "Google SoCs, any device ID", since: "before 2026"))
    for device: UInt16 in [0x2f95, 0x2f96, 0x2f97, 0x2f98] {
      rows.append(
        .init(
          vendorID: nvidia, deviceID: device, what: "Nvidia CPU, Vera Rubin",
          since: "894a78088fc3, 2026", status: .added2026))
    }
    let zhaoxinSameBridge: [(UInt16, String)] = [
      (0x1003, "KX-6000"), (0x1005, "KH-40000"), (0x1006, "KX-6000G"), (0x1007, "KX-7000"),
    ]
    for (device, what) in zhaoxinSameBridge {
      rows.append(
        .init(
          vendorID: zhaoxin, deviceID: device, requiresSameHostBridge: true,
          what: "Zhaoxin \(what)", since: "f7c220404700", status: .queued))
    }
    rows.append(
      .init(
        vendorID: zhaoxin, deviceID: 0x1008, what: "Zhaoxin KH-50000", since: "f7c220404700",
        status: .queued))
    return rows
  }()

  /// The first entry matching a device, as `__host_bridge_whitelist()` scans: first match wins.
  public static func firstMatch(
    vendorID: UInt16, deviceID: UInt16, includeQueued: Bool = true
  ) -> P2PAllowlistEntry? {
    entries.first { entry in
      (includeQueued || entry.status != .queued)
        && entry.matches(vendorID: vendorID, deviceID: deviceID)
    }
  }
}
