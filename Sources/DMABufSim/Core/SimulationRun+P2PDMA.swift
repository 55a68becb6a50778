import P2PDMA
import PCITopology

/// The exporter's questions to PCI P2PDMA; the decision itself is `P2PEngine`'s.
extension SimulationRun {
  /// `pci_p2pdma_map_type(provider, attach->dev)`: reads the provider's map_types cache and
  /// only on a miss (UNKNOWN) runs `calc_map_type_and_dist()` with verbose=true, so a client
  /// that was already decided prints nothing the second time.
  mutating func mapType(_ index: Int, caller: String) -> P2PVerdict {
    let client = attachments[index].importerIndex
    guard var cached = mapTypeCache[client] else {
      let verdict = askDistance(index, verbose: true, caller: caller)
      mapTypeCache[client] = verdict
      return verdict
    }
    cached.dmesg = []
    attachments[index].verdict = cached
    record(
      .pciP2PDMA, "pci_p2pdma_map_type (map_types cache hit)",
      inputs: "provider \(request.exporter), client \(attachments[index].importer) (caller \(caller))",
      changes: [
        "\(cached.mapType.kernelName) read from the provider's map_types xarray; calc_map_type_and_dist() not run"
      ],
      outcome: cached.mapType.kernelName,
      explanation:
        "This client was decided before, and pci_p2pdma_map_type() returns the cached map type without "
        + "walking the topology again, so no warnings are printed this time (and ACS changes since then are not seen).",
      attachment: index, verdict: cached, failed: cached.mapType == .notSupported)
    return cached
  }

  /// `pci_p2pdma_distance(provider, attach->dev, verbose)` as the exporter calls it, or (with
  /// `viaMapType`, the default when verbose) `pci_p2pdma_map_type` on a provider with p2pdma state.
  @discardableResult
  mutating func askDistance(_ index: Int, verbose: Bool, caller: String, viaMapType: Bool? = nil) -> P2PVerdict {
    let viaMapType = viaMapType ?? verbose
    let importer = attachments[index].importer
    let verdict = engine.verdict(
      providerIndex: exporterIndex, clientIndex: attachments[index].importerIndex, verbose: verbose)
    attachments[index].verdict = verdict
    record(
      .pciP2PDMA,
      viaMapType
        ? "pci_p2pdma_map_type -> calc_map_type_and_dist"
        : verbose
          ? "pci_p2pdma_distance_many -> upstream_bridge_distance" : "pci_p2pdma_distance -> calc_map_type_and_dist",
      inputs: "provider \(request.exporter), client \(importer), verbose=\(verbose) (caller \(caller))",
      changes: [
        viaMapType
          ? "map type \(verdict.mapType.kernelName) cached in the provider's map_types xarray "
            + "(pcim_p2pdma_init gave it p2pdma state); later changes to ACS are not seen"
          : "not cached: a GPU that published no p2pmem has no pdev->p2pdma state (inference from the code)"
      ],
      outcome: viaMapType ? verdict.mapType.kernelName : "\(verdict.distance)",
      explanation: verdict.reason
        + (viaMapType
          ? "" : " The caller only sees the distance, not whether the path is BUS_ADDR or THRU_HOST_BRIDGE."),
      attachment: index, verdict: verdict, dmesg: verdict.dmesg, failed: verdict.distance < 0)
    return verdict
  }

}
