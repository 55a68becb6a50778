import PCITopology

// Verdicts on partial inputs. When the input lacks the bridges above some bus
// (`Topology.partialInput`, e.g. the `lspci -d 10de:* -v -xxx` section of an
// nvidia-bug-report), the kernel's walk in `calc_map_type_and_dist()` would go on into the
// missing part. A pair whose answer depends on it is UNKNOWN, with the reason:
// * no common upstream device in the input and one end hangs from a cut bus: the missing part
//   may hold a shared switch (BUS_ADDR) or not (the host-bridge gate decides);
// * a common device exists but ACS redirect sends the pair through the host bridge, a cut bus is
//   involved and the CPU rule does not allow every host-bridge path: the host bridge that the
//   allowlist would look up is not in the input.
// BUS_ADDR never depends on the missing part: the walk stops at the common device.
// The literal walk (`verdict`) and the fast path (`mapTypeAndDistance`, `summary`) both call in
// here, so they agree.

/// What the input lacks at one root bus.
enum RootGap {
  /// The bridges above the bus are not in the input (`Topology.partialInput`).
  static let upstreamMissing: UInt8 = 1
  /// The device standing for the host bridge has no IDs in the input (a tree or listing without
  /// `-nn`, no pci.ids to resolve its name), so the allowlist cannot be looked up.
  static let hostBridgeIDsMissing: UInt8 = 2

  static func of(_ bus: BusID, in topology: Topology) -> UInt8 {
    var gap: UInt8 = topology.partialInput.missing(bus) != nil ? upstreamMissing : 0
    if let device = topology.hostBridgeDevice(forRootBus: bus) {
      let function = topology[device]
      if function.vendorID == 0 && function.deviceID == 0 && function.config == nil { gap |= hostBridgeIDsMissing }
    }
    return gap
  }
}

extension P2PEngine {
  /// Why this pair's verdict depends on a part of the machine the input does not hold; nil
  /// when it does not. `mapType` is the answer from the input alone, `hasCommon` whether the
  /// walk found a common upstream device in it.
  public func missingUpstreamReason(providerIndex: Int, clientIndex: Int, hasCommon: Bool, mapType: MapType)
    -> String?
  {
    guard mapType != .busAddress else { return nil }
    let partial = topology.partialInput
    var cut: [BusID] = []
    var unnamed: [BusID] = []
    for root in [topology.rootBus(of: providerIndex), topology.rootBus(of: clientIndex)] {
      let gap = RootGap.of(root, in: topology)
      if gap & RootGap.upstreamMissing != 0 && !cut.contains(root) { cut.append(root) }
      if gap & RootGap.hostBridgeIDsMissing != 0 && !unnamed.contains(root) { unnamed.append(root) }
    }
    guard !cut.isEmpty || !unnamed.isEmpty else { return nil }
    let provider = topology[providerIndex].bdf
    let client = topology[clientIndex].bdf
    if !hasCommon && !cut.isEmpty {
      return partial.explanation(for: cut)
        + ". Without them it cannot be said whether \(provider) and \(client) meet below the host bridge "
        + "(a shared switch gives BUS_ADDR) or only at it (THRU_HOST_BRIDGE or NOT_SUPPORTED, as the host-bridge gate decides)"
    }
    if configuration.cpu.supportsHostBridgeP2P { return nil }
    let route =
      hasCommon
      ? "ACS redirect sends \(provider) -> \(client) through the host bridge"
      : "\(provider) and \(client) meet only at the host bridge"
    if !cut.isEmpty {
      return route + ", and " + partial.explanation(for: cut)
        + ". The host bridge that host_bridge_whitelist() would look up is not in the input, so the gate cannot be "
        + "evaluated (with --cpu amd-zen every host-bridge path is allowed)"
    }
    let devices = unnamed.compactMap { topology.hostBridgeDevice(forRootBus: $0) }.map { topology[$0].bdf.description }
    return route + ", and the vendor and device IDs of its host-bridge device "
      + devices.joined(separator: " and ")
      + " are not in the input (a tree or listing without -nn, and no pci.ids here to resolve names), so "
      + "host_bridge_whitelist() cannot be looked up; add `lspci -nn` of the same machine as another --topology "
      + "(with --cpu amd-zen every host-bridge path is allowed)"
  }
  /// The verdict made honest for a partial input: UNKNOWN with the reason when it depends on the
  /// missing part, unchanged otherwise. Hook at the end of `verdict(providerIndex:clientIndex:verbose:)`.
  func applyingPartialInput(_ verdict: P2PVerdict, providerIndex: Int, clientIndex: Int) -> P2PVerdict {
    if let alternative = verdict.alternativeIfUnknownACSRedirects, alternative != .unknown,
      missingUpstreamReason(
        providerIndex: providerIndex, clientIndex: clientIndex, hasCommon: true, mapType: alternative) != nil
    {
      // Had the unreadable ACS redirected, the gate would decide, and it cannot be evaluated.
      var adjusted = verdict
      adjusted.alternativeIfUnknownACSRedirects = .unknown
      return applyingPartialInput(adjusted, providerIndex: providerIndex, clientIndex: clientIndex)
    }
    guard
      let why = missingUpstreamReason(
        providerIndex: providerIndex, clientIndex: clientIndex, hasCommon: verdict.commonUpstream != nil,
        mapType: verdict.mapType)
    else { return verdict }
    var unknown = verdict
    unknown.mapType = .unknown
    unknown.distance = -1
    unknown.reason = "UNKNOWN: " + why
    unknown.fix =
      "load the missing part too: `lspci -t` (or a full `sudo lspci -xxxx`) of the same machine as another --topology"
    // What the kernel would print depends on the missing devices too.
    unknown.dmesg = []
    unknown.hostBridge = nil
    unknown.alternativeIfUnknownACSRedirects = nil
    return unknown
  }

  /// `distanceMany` made honest: when no client is certainly NOT_SUPPORTED but some are UNKNOWN,
  /// the sum is unknown. Hook at the end of `distanceMany`.
  func applyingPartialInput(_ result: DistanceManyResult) -> DistanceManyResult {
    guard result.distance >= 0, result.verdicts.contains(where: { $0.mapType == .unknown }) else { return result }
    var unknown = result
    unknown.distance = -1
    unknown.isUnknown = true
    let clients = result.verdicts.filter { $0.mapType == .unknown }.map(\.client.description)
    unknown.reason =
      "UNKNOWN: the answer for \(clients.joined(separator: ", ")) depends on bridges that are not in the input "
      + "(see their verdicts), so the sum is unknown"
    return unknown
  }
}

extension FastPathTables {
  /// `RootGap` bits per root-bus index, for the tables' init.
  static func rootGaps(_ topology: Topology) -> [UInt8] {
    topology.rootBuses.map { RootGap.of($0, in: topology) }
  }

  /// The fast path's answer made honest for a partial input (same rules as
  /// `P2PEngine.missingUpstreamReason`). Costs nothing on complete inputs.
  @inline(__always)
  func partialInputAdjusted(_ result: (MapType, Int), provider: Int, client: Int) -> (MapType, Int) {
    guard hasMissingUpstream, result.0 != .busAddress else { return result }
    let gaps = rootGaps[Int(nodes[provider].rootBus)] | rootGaps[Int(nodes[client].rootBus)]
    guard gaps != 0 else { return result }
    if gaps & RootGap.upstreamMissing != 0 {
      let common = nodes.withUnsafeBufferPointer { Self.commonAncestor(provider, client, nodes: $0) }
      if common < 0 { return (.unknown, -1) }
    }
    return cpuAllows ? result : (.unknown, -1)
  }
}
