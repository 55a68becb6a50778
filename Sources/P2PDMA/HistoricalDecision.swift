import PCITopology

/// Kernels from before the map types existed, for a "history" view (§1.10 of the kernel model).
/// Mainline decisions come from `P2PEngine.verdict`; these are only for comparison.
public enum HistoricalKernel: String, Sendable, Codable, CaseIterable {
  /// First `drivers/pci/p2pdma.c`: a redirect or a missing common bridge rejects outright.
  case v4Point20 = "v4.20"
  /// As v4.20, plus the AMD Zen root-complex exception (`root_complex_whitelist()`).
  case v5Point2 = "v5.2"
}

/// What `upstream_bridge_distance()` answered in an old kernel.
public struct HistoricalVerdict: Sendable, Equatable {
  public var kernel: HistoricalKernel
  public var provider: BDF
  public var client: BDF
  /// >= 0: allowed at that distance; -1: no common upstream bridge; -2: ACS redirect on the path.
  public var distance: Int
  public var commonUpstream: BDF?
  /// Devices with ACS redirect, in the walk's order (only collected when a common bridge exists).
  public var acsRedirect: [BDF]
  /// True when v5.2's AMD root-complex exception allowed the pair (distance 0x1000 + hops).
  public var allowedByAMDRootComplex: Bool
  /// The lines `upstream_bridge_distance_warn()` printed for a verbose caller (v4.20 wording).
  public var dmesg: [String]
  /// Plain words.
  public var reason: String

  /// The old API had one number: negative means rejected.
  public var allowed: Bool { distance >= 0 }
}

extension P2PEngine {
  /// `upstream_bridge_distance()` (and its `_warn` wrapper for the dmesg lines) as in v4.20 or
  /// v5.2. The ACS what-ifs of the configuration apply; the CPU rule and allowlist do not exist
  /// in these kernels.
  public func historicalVerdict(provider: BDF, client: BDF, kernel: HistoricalKernel) throws -> HistoricalVerdict {
    let providerIndex = try index(of: provider)
    let clientIndex = try index(of: client)
    let nested = nestedWalk(providerIndex: providerIndex, clientIndex: clientIndex)
    let (clientPath, common, distA, distB) = (nested.clientPath, nested.common, nested.distA, nested.distB)
    var redirecting = nested.providerSideRedirects
    let clientFunction = topology[clientIndex]
    var dmesg: [String] = []
    var byAMD = false
    let distance: Int
    let reason: String
    if let common {
      for index in clientPath.prefix(distB) where effectiveACS(of: index).redirects { redirecting.append(index) }
      if redirecting.isEmpty {
        distance = distA + distB
        reason =
          "\(kernel.rawValue): the paths meet at \(topology[common].bdf) with no ACS redirect on the way, so P2P is allowed at distance \(distance)."
      } else {
        distance = -2
        // v4.20 collected the list in a PAGE_SIZE buffer, so it is never cut.
        let list = redirecting.map { topology[$0].bdf.description }.joined(separator: ";")
        dmesg.append(
          KernelLog.prefix(for: clientFunction)
            + "cannot be used for peer-to-peer DMA as ACS redirect is set between the client and provider (\(provider))"
        )
        dmesg.append(KernelLog.disableACSRedirectHint(client: clientFunction, list: list))
        reason =
          "\(kernel.rawValue): ACS redirect on the path rejects the pair outright (-2); there is no host-bridge route in this kernel. "
          + "Mainline (≈v5.4 and later) would send it through the host bridge instead."
      }
    } else if kernel == .v5Point2, amdZenRootComplex(providerIndex), amdZenRootComplex(clientIndex) {
      // root_complex_whitelist(): both devices under a root complex whose 00.0 is 1022:1450.
      distance = 0x1000 + distA + distB
      byAMD = true
      reason =
        "v5.2: no common upstream bridge, but both devices sit under an AMD Zen root complex (00.0 is 1022:1450), "
        + "so P2P is allowed with the penalty distance 0x1000 + \(distA + distB) = \(distance)."
    } else {
      distance = -1
      redirecting = []
      dmesg.append(
        KernelLog.prefix(for: clientFunction)
          + "cannot be used for peer-to-peer DMA as the client and provider (\(provider)) do not share an upstream bridge"
      )
      reason =
        "\(kernel.rawValue): the devices share no upstream bridge, which this kernel treats as separate hierarchy domains: rejected (-1)."
    }
    return HistoricalVerdict(
      kernel: kernel, provider: provider, client: client, distance: distance,
      commonUpstream: common.map { topology[$0].bdf }, acsRedirect: redirecting.map { topology[$0].bdf },
      allowedByAMDRootComplex: byAMD, dmesg: dmesg, reason: reason)
  }

  /// v5.2 `root_complex_whitelist()`: devfn 00.0 on the device's root bus is AMD 0x1450.
  func amdZenRootComplex(_ index: Int) -> Bool {
    let bus = topology.rootBus(of: index)
    let slotZero = topology.functions(onBus: bus).first { topology[$0].bdf.devfn == 0 }
    guard let slotZero else { return false }
    return topology[slotZero].vendorID == 0x1022 && topology[slotZero].deviceID == 0x1450
  }
}
