import PCITopology

/// One row of the kernel's `pci_p2pdma_whitelist[]`: a root-bus device ID that may forward
/// peer-to-peer TLPs between its root ports.
public struct P2PAllowlistEntry: Sendable, Equatable, Hashable {
  /// How far the entry has travelled towards a release, for labels in explanations.
  public enum Status: String, Sendable {
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
  /// The change of `KernelChanges` that added the entry: the release it landed in and its source.
  public var addedBy: KernelChange
  /// The change that removed it again (AMD entries, replaced by the CPU rule in 5.9); nil when the
  /// entry is still in mainline.
  public var removedBy: KernelChange?

  public init(
    vendorID: UInt16, deviceID: UInt16?, requiresSameHostBridge: Bool = false, what: String,
    since: String, status: Status = .mainline, addedBy: KernelChange, removedBy: KernelChange? = nil
  ) {
    self.vendorID = vendorID
    self.deviceID = deviceID
    self.requiresSameHostBridge = requiresSameHostBridge
    self.what = what
    self.since = since
    self.status = status
    self.addedBy = addedBy
    self.removedBy = removedBy
  }

  /// The first release with the entry (`KernelChanges`).
  public var landedIn: KernelRelease { addedBy.entry.landedIn }

  /// Whether the entry is in the whitelist of a release.
  public func isPresent(in release: KernelRelease) -> Bool {
    release.has(addedBy) && !(removedBy.map(release.has) ?? false)
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
  static let amd: UInt16 = 0x1022
  static let intel: UInt16 = 0x8086
  static let google: UInt16 = 0x1ae0
  static let nvidia: UInt16 = 0x10de
  static let zhaoxin: UInt16 = 0x1d17

  /// Every entry of mainline's table, in the order the kernel scans them.
  public static let entries: [P2PAllowlistEntry] = allEntries.filter { $0.removedBy == nil }

  /// Every entry any release had, including the AMD entries removed in 5.9, in table order (a
  /// release's table is `entries(in:)`).
  public static let allEntries: [P2PAllowlistEntry] = {
    // 5.4–5.8 only: AMD entries, replaced by cpu_supports_p2pdma() in 5.9 (dea286bb71ba).
    var rows: [P2PAllowlistEntry] = [
      .init(
        vendorID: amd, deviceID: 0x1450, what: "AMD Zen (Family 17h) root complex", since: "≈v5.4, removed in v5.9",
        addedBy: .allowlistAMDTable, removedBy: .allowlistAMDEntriesRemoved),
      .init(
        vendorID: amd, deviceID: 0x15d0, what: "AMD Raven root complex", since: "7d5b10fcb81e, removed in v5.9",
        addedBy: .allowlistAMDRavenRenoir, removedBy: .allowlistAMDEntriesRemoved),
      .init(
        vendorID: amd, deviceID: 0x1630, what: "AMD Renoir root complex", since: "7d5b10fcb81e, removed in v5.9",
        addedBy: .allowlistAMDRavenRenoir, removedBy: .allowlistAMDEntriesRemoved),
      .init(
        vendorID: intel, deviceID: 0x3c00, requiresSameHostBridge: true,
        what: "Sandy Bridge-E host bridge, Xeon E5 / Core i7", since: "≈v5.4, 494d63b0d5d0",
        addedBy: .allowlistIntelSandyHaswell),
      .init(
        vendorID: intel, deviceID: 0x3c01, requiresSameHostBridge: true,
        what: "Sandy Bridge-E host bridge", since: "≈v5.4", addedBy: .allowlistIntelSandyHaswell),
      .init(
        vendorID: intel, deviceID: 0x2f00, requiresSameHostBridge: true,
        what: "Haswell-E host bridge, Xeon E5/E7 v3 and Core i7", since: "≈v5.4", addedBy: .allowlistIntelSandyHaswell),
      .init(
        vendorID: intel, deviceID: 0x2f01, requiresSameHostBridge: true,
        what: "Haswell-E host bridge", since: "≈v5.4", addedBy: .allowlistIntelSandyHaswell),
      .init(
        vendorID: intel, deviceID: 0x2030, what: "Skylake-E root port A", since: "bc123a515cb7",
        addedBy: .allowlistSkylakeE),
      .init(
        vendorID: intel, deviceID: 0x2031, what: "Skylake-E root port B", since: "7b94b53db34f",
        addedBy: .allowlistSkylakeE),
      .init(
        vendorID: intel, deviceID: 0x2032, what: "Skylake-E root port C", since: "7b94b53db34f",
        addedBy: .allowlistSkylakeE),
      .init(
        vendorID: intel, deviceID: 0x2033, what: "Skylake-E root port D", since: "7b94b53db34f",
        addedBy: .allowlistSkylakeE),
      .init(vendorID: intel, deviceID: 0x2020, what: "Skylake-E", since: "bc123a515cb7", addedBy: .allowlistSkylakeE),
      .init(
        vendorID: intel, deviceID: 0x09a2,
        what: "Ice Lake and later Xeon Scalable, the first device on ICX/SPR/EMR/GNR/SRF/CWF/DMR root buses",
        since: "feaea1fe8b36, v5.18", addedBy: .allowlistIntel09a2),
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
          since: "2026, Lukas Wunner, v7.2 and 7.1.y", status: .added2026, addedBy: .allowlistIntelAccelerators))
    }
    rows.append(
      .init(
        vendorID: google, deviceID: nil, what: "Google SoCs, any device ID", since: "70cf146a674c, v7.1",
        addedBy: .allowlistGoogleWildcard))
    for device: UInt16 in [0x2f95, 0x2f96, 0x2f97, 0x2f98] {
      rows.append(
        .init(
          vendorID: nvidia, deviceID: device, what: "Nvidia CPU, Vera Rubin",
          since: "894a78088fc3, 2026", status: .added2026, addedBy: .allowlistNvidiaVeraRubin))
    }
    let zhaoxinSameBridge: [(UInt16, String)] = [
      (0x1003, "KX-6000"), (0x1005, "KH-40000"), (0x1006, "KX-6000G"), (0x1007, "KX-7000"),
    ]
    for (device, what) in zhaoxinSameBridge {
      rows.append(
        .init(
          vendorID: zhaoxin, deviceID: device, requiresSameHostBridge: true,
          what: "Zhaoxin \(what)", since: "f7c220404700", status: .queued, addedBy: .allowlistZhaoxin))
    }
    rows.append(
      .init(
        vendorID: zhaoxin, deviceID: 0x1008, what: "Zhaoxin KH-50000", since: "f7c220404700",
        status: .queued, addedBy: .allowlistZhaoxin))
    return rows
  }()

  /// The whitelist of one release, in table order (`pci_p2pdma_whitelist[]`; empty before 5.4,
  /// where 5.2–5.3 had only the root-complex function for AMD 1450).
  public static func entries(in release: KernelRelease) -> [P2PAllowlistEntry] {
    guard release.has(.noCommonBridgeThroughHostBridge) else { return [] }
    return allEntries.filter { $0.isPresent(in: release) }
  }

  /// The first entry matching a device, as `__host_bridge_whitelist()` scans: first match wins.
  public static func firstMatch(
    vendorID: UInt16, deviceID: UInt16, includeQueued: Bool = true, release: KernelRelease = .mainline
  ) -> P2PAllowlistEntry? {
    allEntries.first { entry in
      entry.isPresent(in: release) && (includeQueued || entry.status != .queued)
        && entry.matches(vendorID: vendorID, deviceID: deviceID)
    }
  }
}
