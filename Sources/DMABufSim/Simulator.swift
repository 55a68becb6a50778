import P2PDMA
import PCITopology

/// Runs the dma-buf lifecycle (kernel-model §2–§4) for one exporter buffer and several importers.
///
/// How a run is put together:
/// * **Profiles** (`DriverProfile`) say how each device's driver exports and imports. Choice:
///   the scenario's `driverProfile`, then the bound driver's name, then vendor/class inference,
///   then a generic static importer; a device whose profile cannot export shares a
///   system-memory (udmabuf-like) buffer instead. Every choice and default lands in
///   `ShareSimulation.assumptions`.
/// * **Sequence**: export, fd, then per importer in the given order: get, attach (the exporter
///   asks PCI P2PDMA through `P2PEngine`; the verdict rides on that step), optional pin, map
///   (placement, migration, `dma_buf_invalidate_mappings` for importers that already mapped,
///   and their re-map), the importer's walk of the DMA entries; finally unmap, unpin, detach and
///   put for everyone. The P2P decision itself is never re-implemented here.
/// * **Addresses**: VRAM comes from buddy blocks (`VRAMBuddyAllocator`) at BAR offsets, system
///   memory from seeded page runs (`SystemPageAllocator`); `DMAMapper` applies
///   `dma_map_resource`, `dma_map_sgtable` (with `__finalise_sg` merging) or the phys-vec
///   helper, and each importer has its own IOVA space (`IOVADomain`) when the IOMMU translates.
/// * **Determinism**: all layouts derive from one seed, FNV-1a of "EXPORTER/BUFFER" unless the
///   request gives one, so the same input always yields the same addresses.
public enum DMABufSimulator {
  /// The kernel the steps describe unless a step's `kernelNote` says otherwise.
  public static let kernelModel = "current mainline (v7.3-era)"
  /// Default buffer of GPU exporters when the input lists none.
  public static let defaultBufferSize: UInt64 = 8 << 20
  /// Visible VRAM when neither the scenario nor the BAR size says (the classic small BAR).
  public static let defaultVisibleVRAM: UInt64 = 256 << 20
  /// Largest buffer simulated: page runs for system placement stay in the hundreds of MB.
  public static let maximumBufferSize: UInt64 = 256 << 30
  /// Largest buffer in the scattered layout (one run per 4 KiB page: 16,777,216 runs).
  public static let maximumScatteredBufferSize: UInt64 = 64 << 30
  /// Where we put a VRAM BAR whose address the input does not give.
  public static let placeholderBARAddress: UInt64 = 0x0000_0080_0000_0000

  public static func simulate(topology: Topology, request: ShareRequest) throws -> ShareSimulation {
    var run = try SimulationRun(topology: topology, request: request)
    run.execute()
    return run.result()
  }

  /// The releases the "by release" summary compares (issue 9 item 5).
  public static let summaryReleases: [KernelRelease] = [
    KernelRelease(major: 5, minor: 4), KernelRelease(major: 5, minor: 10), KernelRelease(major: 6, minor: 1),
    KernelRelease(major: 6, minor: 12), .mainline,
  ]

  /// The same share on each release, each with that release's default CONFIG_DMABUF_MOVE_NOTIFY.
  public static func byRelease(
    topology: Topology, request: ShareRequest, releases: [KernelRelease] = summaryReleases
  ) throws -> [(release: KernelRelease, simulation: ShareSimulation)] {
    try releases.map { release in
      var variant = request
      variant.configuration.kernel = KernelContext(release: release, source: .given)
      return (release, try simulate(topology: topology, request: variant))
    }
  }

  /// `5.4 GTT peer2peer=false | ... | mainline VRAM peer2peer=true` for one importer across
  /// `byRelease` runs; a release whose answer rests on a change the history cannot date for it
  /// gets `[UNCONFIRMED: change, ...]`.
  public static func byReleaseLine(
    _ runs: [(release: KernelRelease, simulation: ShareSimulation)], attachment index: Int
  ) -> String {
    runs.map { run in
      let attachment = run.simulation.attachments[index]
      let outcome =
        attachment.error.map { "error \($0)" }
        ?? "\(attachment.placement.rawValue) peer2peer=\(attachment.peer2peer)"
      let doubts = changesInDoubt(for: run.release, simulation: run.simulation, attachment: attachment)
      let label = doubts.isEmpty ? "" : " [UNCONFIRMED: \(doubts.map(\.rawValue).joined(separator: ", "))]"
      return "\(run.release.series) \(outcome)\(label)"
    }.joined(separator: " | ")
  }

  /// The changes of the dma-buf core, the exporter's driver and the importer's subsystem whose
  /// presence in `release` kernel-history.md leaves UNCONFIRMED.
  static func changesInDoubt(
    for release: KernelRelease, simulation: ShareSimulation, attachment: AttachmentResult
  ) -> [KernelChange] {
    var areas: Set<KernelChangeArea> = [.dmaBufCore]
    switch simulation.exporterProfile.exporter {
    case .amdgpu: areas.insert(.amdgpu)
    case .xe: areas.insert(.xe)
    case .i915: areas.insert(.i915)
    case .vfioPCI: areas.insert(.vfio)
    case .systemMemory, .drmPrimePages, nil: break
    }
    if let importer = attachment.importerProfile.importRequires { areas.insert(importer.entry.area) }
    return KernelChange.allCases.filter { areas.contains($0.entry.area) && $0.entry.isInDoubt(for: release) }
  }

  /// The profile the simulator would use for a device (nil for an unknown BDF).
  public static func profile(for bdf: BDF, in topology: Topology) -> DriverProfile? {
    topology.function(bdf).map { DriverProfile.select(for: $0, in: topology) }
  }

  /// The buffers a device can export: the scenario's list, or the profile's documented default.
  public static func buffers(for bdf: BDF, in topology: Topology, profile: DriverProfile? = nil) -> [BufferSpec] {
    guard let function = topology.function(bdf) else { return [] }
    if !function.extras.buffers.isEmpty { return function.extras.buffers }
    let profile = profile ?? DriverProfile.select(for: function, in: topology)
    return defaultBuffers(for: function, opsTable: profile.exporter ?? .systemMemory)
  }

  /// `amdgpu_gem_prime_export` of `amdgpu_gem_prime_export -> drm_gem_prime_export -> ...`.
  static func firstFunction(_ chain: String) -> String {
    String(chain.prefix { $0 != " " && $0 != "(" })
  }

  static func defaultBuffers(for function: PCIFunction, opsTable: DMABufOpsTable) -> [BufferSpec] {
    opsTable.ops.defaultBuffers(for: function)
  }
}
