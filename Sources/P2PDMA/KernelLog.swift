import PCITopology

/// The dmesg lines `drivers/pci/p2pdma.c` prints, built from the mainline templates (§1.6 of the
/// kernel model). Lines carry the `dev_printk` prefix, without timestamp or trailing newline.
enum KernelLog {
  /// Size of the on-stack `seq_buf` that collects the ACS list in `calc_map_type_and_dist()`.
  static let acsListBufferSize = 128

  /// `dev_printk` prefix: `dev_driver_string()` (the bound driver's name, else the bus name
  /// `pci`) followed by `pci_name()`.
  static func prefix(for function: PCIFunction) -> String {
    "\(function.driver ?? "pci") \(function.bdf): "
  }

  static func acsRedirectIsSet(client: PCIFunction, provider: BDF) -> String {
    prefix(for: client) + "ACS redirect is set between the client and provider (\(provider))"
  }

  static func disableACSRedirectHint(client: PCIFunction, list: String) -> String {
    prefix(for: client)
      + "to disable ACS redirect for this path, add the kernel parameter: pci=disable_acs_redir=\(list)"
  }

  static func notSupported(client: PCIFunction, provider: BDF) -> String {
    prefix(for: client)
      + "cannot be used for peer-to-peer DMA as the client and provider (\(provider)) do not share an upstream bridge or whitelisted host bridge"
  }

  static func hostBridgeNotAllowlisted(root: PCIFunction) -> String {
    prefix(for: root) + "Host bridge not in P2PDMA whitelist: \(root.idPair)"
  }

  /// The ACS list as the dmesg line of `release` shows it: 4.20–5.10 collected it in a PAGE_SIZE
  /// buffer (never cut in practice); the 128-byte on-stack `seq_buf` is modelled from the
  /// `calc_map_type_and_dist()` rework (`KernelChange.hostBridgeWarning`; kernel-history.md does not
  /// date the buffer change separately).
  static func acsList(_ devices: [BDF], release: KernelRelease) -> (text: String, truncated: Bool) {
    guard release.has(.hostBridgeWarning) else {
      return (devices.map(\.description).joined(separator: ";"), false)
    }
    return seqBufACSList(devices)
  }

  /// 4.20–5.3 and RHEL 8 (`upstream_bridge_distance_warn()`): ACS redirect refuses the pair.
  static func legacyACSRedirectRefused(client: PCIFunction, provider: BDF) -> String {
    prefix(for: client)
      + "cannot be used for peer-to-peer DMA as ACS redirect is set between the client and provider (\(provider))"
  }

  /// 4.20–5.3 and RHEL 8: no common upstream bridge refuses the pair.
  static func legacyNoCommonBridge(client: PCIFunction, provider: BDF) -> String {
    prefix(for: client)
      + "cannot be used for peer-to-peer DMA as the client and provider (\(provider)) do not share an upstream bridge"
  }

  /// The ACS list as the kernel's dmesg line shows it.
  ///
  /// Mirrors `seq_buf_print_bus_devfn()` appending `name;` per device into a 128-byte
  /// `seq_buf`, then the "drop final semicolon" store. While everything fits, the result is the
  /// list without its last `;`. Once an append does not fit, `vsnprintf` has already written as
  /// much of it as fits (127 characters plus the terminator), the buffer is marked overflowed and
  /// later appends are dropped; the semicolon store then lands one byte past the buffer (the bug
  /// d176a5a29df0 later fixed), so the printed text is simply the first 127 characters, ending in
  /// the middle of an address.
  static func seqBufACSList(_ devices: [BDF]) -> (text: String, truncated: Bool) {
    var buffer: [UInt8] = []
    let capacity = acsListBufferSize
    for device in devices {
      let piece = Array("\(device);".utf8)
      if buffer.count + piece.count < capacity {
        buffer += piece
      } else {
        buffer += piece.prefix(capacity - 1 - buffer.count)
        return (String(decoding: buffer, as: UTF8.self), true)
      }
    }
    if !buffer.isEmpty { buffer.removeLast() }
    return (String(decoding: buffer, as: UTF8.self), false)
  }
}

/// The `drivers/pci/p2pdma.c` dmesg format strings of one release (kernel-history.md §1e), for
/// listings; verdicts build their lines from the same wording.
public enum P2PDMADmesgStrings {
  public static func templates(for release: KernelRelease) -> [String] {
    guard release.hasP2PDMA else { return [] }
    let hint = "to disable ACS redirect for this path, add the kernel parameter: pci=disable_acs_redir=%s"
    var lines: [String]
    if release.has(.acsRedirectThroughHostBridge) {
      lines = [
        "ACS redirect is set between the client and provider (%s)", hint,
        "cannot be used for peer-to-peer DMA as the client and provider (%s) do not share an upstream bridge or whitelisted host bridge",
      ]
    } else {
      lines = [
        "cannot be used for peer-to-peer DMA as ACS redirect is set between the client and provider (%s)", hint,
        "cannot be used for peer-to-peer DMA as the client and provider (%s) do not share an upstream bridge",
      ]
    }
    lines.append("cannot be used for peer-to-peer DMA as it is not a PCI device")
    if release.has(.dmaVirtOpsMessage) && !release.has(.dmaVirtOpsMessageRemoved) {
      lines.append("cannot be used for peer-to-peer DMA because the driver makes use of dma_virt_ops")
    }
    if release.has(.hostBridgeWarning) { lines.append("Host bridge not in P2PDMA whitelist: %04x:%04x") }
    return lines
  }
}
