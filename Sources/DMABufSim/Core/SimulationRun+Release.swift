import P2PDMA
import PCITopology

/// The dma-buf rules that depend on the kernel release (kernel-history.md §2–§4, `KernelChanges`):
/// which exporters and importers exist, dynamic attach (5.7), the peer2peer flag (5.8), pin-on-map
/// with and without CONFIG_DMABUF_MOVE_NOTIFY, attach-time mapping (until 6.15) and the
/// move_notify → invalidate_mappings rename (7.1). Mainline has every change.
extension SimulationRun {
  var kernel: KernelContext { request.configuration.kernel }

  func has(_ change: KernelChange) -> Bool { kernel.release.has(change) }

  /// `ops->pin` exists and the core treats the exporter as dynamic (`dma_buf_is_dynamic`); before
  /// 5.7 there were no pin callbacks.
  var exporterIsDynamic: Bool { ops.isDynamic && has(.dmabufDynamicAttach) }

  /// Whether `dma_map_resource` goes through `dma_map_phys(DMA_ATTR_MMIO)`: the dma_map_phys series
  /// landed after v6.17 (issue 10 audit; exact release UNCONFIRMED, so 6.18 on is modelled with it).
  /// Not in KernelChanges because it changes only function names, never an address or a verdict.
  var releaseHasDMAMapPhys: Bool {
    kernel.release.isMainline || kernel.release.upstream >= KernelRelease(major: 6, minor: 18)
  }

  /// "not in 6.12 (VFIO dma-buf export arrived in 6.19)": the error of something the release lacks.
  func unavailable(_ change: KernelChange, what: String) -> String {
    "not in \(kernel.release.series) (\(what) arrived in \(change.entry.landedIn.series))"
  }

  /// Whether the core pins before `map_dma_buf` for this attachment (`dma_buf_pin_on_map` and its
  /// predecessors): 7.1+ only for static importers; 6.15–7.0 also for every importer when
  /// MOVE_NOTIFY is off; 5.7–6.14 for every importer when MOVE_NOTIFY is off (static importers
  /// were already pinned when the core mapped them at attach).
  func pinOnMapApplies(_ index: Int) -> Bool {
    guard exporterIsDynamic else { return false }
    let staticImporter = !attachments[index].isDynamic
    if has(.dmabufMoveNotifyRemoved) { return staticImporter }
    return staticImporter || !kernel.dmabufMoveNotify
  }

  /// Why the core pins on map, for the map step.
  func pinOnMapReason(_ index: Int) -> String {
    attachments[index].isDynamic
      ? "pin-on-map: CONFIG_DMABUF_MOVE_NOTIFY=n on \(kernel.release.series), so the core pins a dynamic exporter's "
        + "buffer even for this dynamic importer"
      : "pin-on-map: static importer of a dynamic exporter, so the core pins first"
  }

  /// Before 6.15 the core maps (and, for a dynamic exporter, pins) at attach when importer and
  /// exporter differ in dynamic-ness, and caches the table.
  func mapsAtAttach(_ index: Int) -> Bool {
    !has(.dmabufNoAttachTimeMap) && attachments[index].isDynamic != exporterIsDynamic
  }

  /// The core's invalidation call as the release names it.
  var invalidateFunction: String {
    has(.dmabufInvalidateMappingsRename)
      ? "dma_buf_invalidate_mappings (was dma_buf_move_notify)" : "dma_buf_move_notify"
  }

  /// The importer's callback as the release names it.
  func invalidateCallbackName(_ profile: DriverProfile) -> String {
    let name = invalidateCallback(profile)
    guard !has(.dmabufInvalidateMappingsRename) else { return name }
    return name.replacingOccurrences(of: "invalidate_mappings", with: "move_notify")
  }

  /// The importer cannot import a dma-buf on this release: records why and returns true.
  mutating func refuseMissingImporter(_ index: Int) -> Bool {
    let state = attachments[index]
    guard let change = state.profile.importRequires, !has(change) else { return false }
    let error = unavailable(change, what: state.profile.importerFeature ?? "this importer")
    attachments[index].error = error
    attachments[index].failedFunction = state.profile.importerEntry ?? "dma_buf_get"
    record(
      .importerDriver(state.importer), state.profile.importerEntry ?? "dma_buf_get",
      inputs: "fd of \(spec.name), kernel \(kernel.release.series)", outcome: error,
      explanation:
        "On \(kernel.release.series) the \(state.profile.name) driver cannot import a dma-buf at all: "
        + "\(change.entry.summary) (\(change.entry.landedIn.series), \(change.entry.confirmationLabel)). "
        + "Nothing is attached or mapped for this importer.",
      attachment: index, failed: true,
      source: StepSource(
        file: change.entry.source, function: state.profile.importerEntry ?? "dma_buf_get",
        release: kernel.release.series, confirmed: change.entry.confirmed))
    return true
  }
}
