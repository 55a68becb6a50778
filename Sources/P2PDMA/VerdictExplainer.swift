import PCITopology

/// Turns the facts of one `calc_map_type_and_dist()` run into plain words and a fix.
struct VerdictExplainer {
  let engine: P2PEngine
  let provider: Int
  let client: Int
  let common: Int?
  let distA: Int
  let distB: Int
  let mapType: MapType
  let acsRedirect: [Int]
  let hostBridge: HostBridgeCheck?
  let kernelParameter: String?
  let truncated: Bool
  let unknownACS: [Int]
  let alternative: MapType?

  var topology: Topology { engine.topology }

  /// `0000:02:00.0 (switch upstream port 10b5:8747)`.
  func describe(_ index: Int) -> String {
    let function = topology[index]
    let role: String
    switch function.portType {
    case .rootPort: role = "root port"
    case .upstreamPort: role = "switch upstream port"
    case .downstreamPort: role = "switch downstream port"
    default: role = function.isBridge ? "bridge" : function.displayName
    }
    return "\(function.bdf) (\(role), \(function.idPair))"
  }

  func reason() -> String {
    var sentences: [String] = []
    let providerBDF = topology[provider].bdf
    let clientBDF = topology[client].bdf
    if provider == client {
      sentences.append(
        "Provider and client are the same function \(providerBDF), so the walk meets at once: distance 0.")
    } else if let common {
      sentences.append(
        "The paths of provider \(providerBDF) and client \(clientBDF) meet at \(describe(common)), "
          + "\(distA) hop\(distA == 1 ? "" : "s") above the provider and \(distB) above the client, "
          + "so the distance is \(distA) + \(distB) = \(distA + distB).")
    } else {
      let providerRoot = topology.rootBus(of: provider)
      let clientRoot = topology.rootBus(of: client)
      let meetingPlace =
        providerRoot == clientRoot
        ? "only at their host bridge (root bus \(providerRoot))"
        : "nowhere: they hang from different host bridges (root buses \(providerRoot) and \(clientRoot))"
      sentences.append(
        "Provider \(providerBDF) and client \(clientBDF) share no upstream PCI bridge; their paths meet \(meetingPlace). "
          + "The distance counts every device on both paths: \(distA) + \(distB) = \(distA + distB). "
          + "The kernel does not look at ACS in this case; traffic has to cross the host bridge, so the host-bridge gate decides."
      )
    }
    if common != nil {
      if acsRedirect.isEmpty {
        sentences.append(
          "No device the kernel checks has ACS P2P redirect (RR, CR or EC) enabled, so the TLPs turn around "
            + "below the host bridge: BUS_ADDR. The initiator is programmed with PCI bus addresses and no IOMMU mapping."
        )
      } else {
        let names = acsRedirect.map { index -> String in
          let control = engine.effectiveACS(of: index).control ?? []
          return "\(topology[index].bdf) (ACSCtl 0x\(hex(control.rawValue, width: 4)): \(control.shortNames))"
        }
        sentences.append(
          "ACS redirect is enabled on \(names.joined(separator: ", ")), so P2P requests are sent up to the root "
            + "complex instead of across. Since ≈v5.4 that does not reject the pair by itself: it makes the path a "
            + "host-bridge path, which must pass the host-bridge gate.")
        if engine.configuration.iommu == .on {
          sentences.append(
            "With an IOMMU driver active the kernel itself turns RR and CR on for ports that support them (pci_enable_acs), so this is expected."
          )
        }
      }
    }
    if let hostBridge {
      sentences.append("Host-bridge gate: " + hostBridge.reason + ".")
      switch mapType {
      case .thruHostBridge:
        sentences.append(
          "THRU_HOST_BRIDGE: allowed; the initiator uses a normal DMA address (an IOVA under a translating IOMMU, the CPU physical address otherwise)."
        )
        if let common, !acsRedirect.isEmpty {
          sentences.append(
            "Clearing the redirect bits on the listed devices would let the TLPs turn at \(topology[common].bdf) instead: BUS_ADDR, a shorter path."
          )
        }
      case .notSupported:
        sentences.append("NOT_SUPPORTED: mapping must fail (-EREMOTEIO) and pci_p2pdma_distance() returns -1.")
      default: break
      }
      for lookup in hostBridge.lookups {
        if let entry = lookup.matchedEntry, entry.status == .queued {
          sentences.append(
            "Note: the matched entry \(entry.idPattern) is queued after v7.3-rc1; released kernels up to v7.3 lack it.")
        } else if let entry = lookup.matchedEntry, entry.status == .added2026 {
          sentences.append(
            "Note: the matched entry \(entry.idPattern) was added in 2026; older kernels lack it unless backported.")
        }
      }
    }
    if truncated {
      sentences.append(
        "The ACS list in the dmesg line is cut at 127 characters by the kernel's 128-byte buffer; the full list is in the suggested parameter."
      )
    }
    if !unknownACS.isEmpty {
      let names = unknownACS.map { topology[$0].bdf.description }.joined(separator: ", ")
      if let alternative {
        sentences.append(
          "Caution: the ACS state of \(names) is unknown (the input lacks the config bytes that hold it). It was treated as "
            + "no redirect; if it does redirect, the verdict is \(alternative.shortName) instead.")
      } else {
        sentences.append(
          "The ACS state of \(names) is unknown, but the verdict is the same whether or not it redirects.")
      }
    }
    return sentences.joined(separator: " ")
  }

  func fix() -> String? {
    switch mapType {
    case .busAddress:
      return nil
    case .thruHostBridge, .notSupported:
      if common != nil, let kernelParameter {
        // Clearing every listed redirect leaves acs_cnt at 0, which is BUS_ADDR.
        return kernelParameter
      }
      if mapType == .thruHostBridge { return nil }
      return noCommonUpstreamAdvice()
    default:
      return nil
    }
  }

  /// What helps when the devices share no switch and the host bridge refuses.
  func noCommonUpstreamAdvice() -> String {
    var blockers: [String] = []
    for lookup in hostBridge?.lookups ?? [] where !lookup.passed {
      if lookup.hostBridgeDevice == nil {
        blockers.append(
          "root bus \(lookup.rootBus) has no usable host-bridge device (first device \(lookup.firstDevice.map(\.description) ?? "none") is not 00.0 and not a root port)"
        )
      } else if lookup.rejectedBySameHostBridgeRule {
        blockers.append(
          "host bridge \(lookup.firstDeviceIDs ?? "?") is allowlisted only for devices under one host bridge; put both devices under the same host bridge"
        )
      } else {
        blockers.append("host bridge \(lookup.firstDeviceIDs ?? "?") is not in the kernel's P2PDMA allowlist")
      }
    }
    let cause = blockers.isEmpty ? "the host bridge refuses" : blockers.joined(separator: "; ")
    let newer = newerKernelAdvice()
    return newer
      + "No kernel parameter helps: \(cause). Options: put both devices below one PCIe switch (then only ACS "
      + "on that switch matters), use a platform where host-bridge P2P is allowed (AMD Zen, or an allowlisted "
      + "host bridge), or run a kernel patched to add the host-bridge ID to pci_p2pdma_whitelist[]."
  }

  /// "Kernel 5.9 or later allows …" when a later release of the changes table lets this refused
  /// host-bridge path through (empty when none does, or on mainline).
  func newerKernelAdvice() -> String {
    let release = engine.configuration.kernel.release
    guard !release.isMainline else { return "" }
    var sentences: [String] = []
    if engine.configuration.cpu.supportsHostBridgeP2P && !release.has(.cpuRuleAMDZen) {
      sentences.append(
        "Kernel 5.9 or later allows this pair on this AMD CPU (cpu_supports_p2pdma(), \(KernelChange.cpuRuleAMDZen.entry.citation))."
      )
    }
    for lookup in hostBridge?.lookups ?? [] where !lookup.passed {
      guard let first = topology.firstDevice(onRootBus: lookup.rootBus) else { continue }
      let device = topology[first]
      if lookup.hostBridgeDevice == nil, device.portType == .rootPort, !release.has(.rootPortLookup) {
        sentences.append(
          "Kernel 5.19 or later accepts root port \(device.bdf) as the host-bridge device (\(KernelChange.rootPortLookup.entry.citation))."
        )
      }
      let later = P2PAllowlist.allEntries.first {
        $0.matches(vendorID: device.vendorID, deviceID: device.deviceID) && !$0.isPresent(in: release)
          && $0.landedIn > release && !(lookup.rejectedBySameHostBridgeRule && $0.requiresSameHostBridge)
      }
      if let later {
        sentences.append(
          "Kernel \(later.landedIn.series) adds \(later.idPattern) to the whitelist (\(later.addedBy.entry.citation)).")
      }
    }
    return sentences.isEmpty ? "" : sentences.joined(separator: " ") + " "
  }
}
