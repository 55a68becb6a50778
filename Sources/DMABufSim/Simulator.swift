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

  /// The profile the simulator would use for a device (nil for an unknown BDF).
  public static func profile(for bdf: BDF, in topology: Topology) -> DriverProfile? {
    topology.function(bdf).map { DriverProfile.select(for: $0, in: topology) }
  }

  /// The buffers a device can export: the scenario's list, or the profile's documented default.
  public static func buffers(for bdf: BDF, in topology: Topology, profile: DriverProfile? = nil) -> [BufferSpec] {
    guard let function = topology.function(bdf) else { return [] }
    if !function.extras.buffers.isEmpty { return function.extras.buffers }
    let profile = profile ?? DriverProfile.select(for: function, in: topology)
    return defaultBuffers(for: function, behaviour: profile.exporter ?? .systemMemory)
  }

  static func defaultBuffers(for function: PCIFunction, behaviour: ExporterBehaviour) -> [BufferSpec] {
    switch behaviour {
    case .amdgpu, .xe, .i915:
      return [BufferSpec(name: "framebuffer-8MiB", size: defaultBufferSize, preferredPlacement: .vram)]
    case .vfioPCI:
      let bar = vfioBAR(of: function)
      let size = min(defaultBufferSize, bar?.size ?? defaultBufferSize)
      return [
        BufferSpec(
          name: "bar\(bar?.index ?? 0)-\(formatBytes(size).replacingOccurrences(of: " ", with: ""))", size: size,
          preferredPlacement: .vram, vramOffset: 0)
      ]
    case .systemMemory:
      return [BufferSpec(name: "udmabuf-8MiB", size: defaultBufferSize, preferredPlacement: .system)]
    }
  }

  /// The BAR a VFIO export uses by default: the largest memory BAR of known size, else the
  /// first assigned memory BAR.
  static func vfioBAR(of function: PCIFunction) -> BAR? {
    let memory = function.bars.filter { !$0.isIO }
    if let sized = memory.filter({ $0.size != nil }).max(by: { ($0.size ?? 0, -$0.index) < ($1.size ?? 0, -$1.index) })
    {
      return sized
    }
    return memory.first { $0.address != 0 } ?? memory.first
  }
}

/// One importer's attachment while the simulation runs.
struct AttachmentState {
  var importer: BDF
  /// The importer's index in the topology (for the P2P engine).
  var importerIndex: Int
  var profile: DriverProfile
  var device: DMADevice
  var lane: Int
  var peer2peer = false
  var verdict: P2PVerdict?
  var error: String?
  var failedFunction: String?
  var table: SGTable?
  /// The table `invalidate_mappings` dropped, shown (flagged invalidated) until a re-map
  /// replaces it.
  var invalidatedTable: SGTable?
  var tablePlacement: Placement?
  var attached = false
  var mapped = false
  var pinnedOnMap = false
  var pinnedByImporter = false
  var invalidations = 0
  var needsRemap = false
  /// IOVA allocations behind the current mapping; freed when it is unmapped.
  var iovas: [UInt64] = []

  /// Drops the mapping: frees its IOVAs (`dma_unmap_*` under an IOMMU) and forgets the table.
  mutating func unmap() {
    for iova in iovas { device.domain.free(iova: iova) }
    iovas = []
    mapped = false
    table = nil
  }
}

/// The mutable state of one run; `DMABufSimulator.simulate` wraps it.
struct SimulationRun {
  let topology: Topology
  let request: ShareRequest
  let engine: P2PEngine
  let exporterFunction: PCIFunction
  let exporterIndex: Int
  let exporterProfile: DriverProfile
  let behaviour: ExporterBehaviour
  let spec: BufferSpec
  let seed: UInt64
  var assumptions: [String] = []
  var steps: [SimStep] = []
  var attachments: [AttachmentState] = []

  // Exporter memory facts.
  var vramSize: UInt64?
  var visibleVRAM: UInt64?
  var bar: BAR?
  var exportError: (errno: String, function: String, why: String)?

  // Buffer state.
  var placement: Placement
  var blocks: [VRAMBlock] = []
  var initialBlocks: [VRAMBlock] = []
  var pages: PageRuns?
  var pinCount = 0
  /// The provider's `p2pdma->map_types` xarray (§1.2 step 6): what `pci_p2pdma_map_type()`
  /// computed per client, by topology index (the kernel keys it by domain, bus and devfn).
  /// Only the VFIO exporter has p2pdma state (`pcim_p2pdma_init`), so only it fills this.
  var mapTypeCache: [Int: P2PVerdict] = [:]

  init(topology: Topology, request: ShareRequest) throws {
    self.topology = topology
    self.request = request
    guard let exporterFunction = topology.function(request.exporter),
      let exporterIndex = topology.index(of: request.exporter)
    else {
      throw DMABufSimError.unknownDevice(request.exporter, role: "exporter")
    }
    self.exporterIndex = exporterIndex
    guard !request.importers.isEmpty else { throw DMABufSimError.noImporters }
    for importer in request.importers where topology.function(importer) == nil {
      throw DMABufSimError.unknownDevice(importer, role: "importer")
    }
    self.exporterFunction = exporterFunction
    engine = P2PEngine(topology: topology, configuration: request.configuration)

    var assumptions: [String] = []
    let profile = try DriverProfile.resolve(
      userChoice: request.exporterProfile, for: exporterFunction, in: topology)
    assumptions.append("exporter \(request.exporter) uses profile \(profile.name): \(profile.chosenBecause)")
    let behaviour: ExporterBehaviour
    if let exporter = profile.exporter {
      behaviour = exporter
    } else {
      behaviour = .systemMemory
      assumptions.append(
        "\(profile.name) does not export dma-bufs in this model; the buffer is treated as a udmabuf/system-heap buffer "
          + "in system RAM")
    }
    self.exporterProfile = profile
    self.behaviour = behaviour

    // The buffer.
    let listed = exporterFunction.extras.buffers
    let available =
      listed.isEmpty ? DMABufSimulator.defaultBuffers(for: exporterFunction, behaviour: behaviour) : listed
    if listed.isEmpty {
      assumptions.append(
        "the input lists no buffers for \(request.exporter); using the default \(available.map(\.name).joined(separator: ", "))"
      )
    }
    guard !available.isEmpty else { throw DMABufSimError.noBuffers(exporter: request.exporter) }
    let chosen: BufferSpec
    if let name = request.bufferName {
      guard let match = available.first(where: { $0.name == name }) else {
        throw DMABufSimError.unknownBuffer(name: name, exporter: request.exporter, known: available.map(\.name))
      }
      chosen = match
    } else {
      chosen = available[0]
    }
    guard chosen.size > 0 else {
      throw DMABufSimError.invalidBuffer(name: chosen.name, reason: "its size is 0")
    }
    guard chosen.size <= DMABufSimulator.maximumBufferSize else {
      throw DMABufSimError.invalidBuffer(
        name: chosen.name,
        reason:
          "\(formatBytes(chosen.size)) is more than the simulator handles (\(formatBytes(DMABufSimulator.maximumBufferSize)))"
      )
    }
    if request.systemPageLayout == .scattered && chosen.size > DMABufSimulator.maximumScatteredBufferSize {
      throw DMABufSimError.invalidBuffer(
        name: chosen.name,
        reason: "scattered 4 KiB pages are limited to \(formatBytes(DMABufSimulator.maximumScatteredBufferSize)) "
          + "(one sg entry per page); use the partly-contiguous layout")
    }
    // Slack of two pages for the page alignment applied later.
    if let offset = chosen.vramOffset, offset.addingReportingOverflow(chosen.size + 2 * simPageSize).overflow {
      throw DMABufSimError.invalidBuffer(name: chosen.name, reason: "offset + size does not fit in 64 bits")
    }
    spec = chosen
    seed = request.seed ?? simulationSeed(exporter: request.exporter, bufferName: chosen.name)
    assumptions.append(
      "layouts are deterministic: seed 0x\(hex(seed, width: 16)) "
        + (request.seed == nil ? "(FNV-1a of \"\(request.exporter)/\(chosen.name)\")" : "(given)"))
    placement = .system
    self.assumptions = assumptions
    setUpMemory()
    try setUpAttachments()
  }

  // MARK: - Setup

  private mutating func setUpMemory() {
    switch behaviour {
    case .amdgpu, .xe, .i915:
      let barIndex = exporterProfile.vramBAR ?? 0
      var vramBar = exporterFunction.bars.first { $0.index == barIndex && !$0.isIO }
      if vramBar == nil || vramBar?.address == 0 {
        assumptions.append(
          "BAR\(barIndex) of \(request.exporter) has no address in the input; 0x\(hex(DMABufSimulator.placeholderBARAddress, width: 1)) "
            + "is assumed")
        vramBar = BAR(index: barIndex, address: DMABufSimulator.placeholderBARAddress, size: vramBar?.size)
      }
      bar = vramBar
      let total: UInt64
      if let given = exporterFunction.extras.vramSize {
        total = given
      } else {
        total = exporterProfile.defaultVRAMSize ?? (8 << 30)
        assumptions.append(
          "VRAM size not in the input; \(formatBytes(total)) assumed (\(exporterProfile.name) default)")
      }
      vramSize = total
      let visible: UInt64
      if let given = exporterFunction.extras.visibleVRAMSize {
        visible = given
      } else if let barSize = vramBar?.size {
        visible = barSize
        assumptions.append("CPU-visible VRAM = BAR\(barIndex) size, \(formatBytes(barSize))")
      } else {
        visible = DMABufSimulator.defaultVisibleVRAM
        assumptions.append(
          "BAR\(barIndex) size unknown (hex dumps do not carry sizes); visible VRAM \(formatBytes(visible)) assumed")
      }
      visibleVRAM = min(visible, total)
      if behaviour == .amdgpu && visible < total {
        assumptions.append(
          "small BAR: at driver load amdgpu would print \"Detected VRAM RAM=\(total >> 20)M, BAR=\(visible >> 20)M\"; "
            + "only that window can be shared peer-to-peer (resizable BAR / Above 4G decoding would widen it)")
      }
      let integrated =
        behaviour == .i915
        && topology.index(of: request.exporter).map { topology.upstreamBridge(of: $0) == nil } == true
      if integrated {
        assumptions.append("integrated Intel GPU (on the root bus): no LMEM, so the object lives in system memory")
        placement = .system
      } else if spec.preferredPlacement == .vram && spec.size <= total {
        placement = .vram
        if let offset = spec.vramOffset, (offset & ~(simPageSize - 1)) + pageAligned(spec.size) <= total {
          blocks = VRAMBuddyAllocator.alignedDecomposition(
            offset: offset & ~(simPageSize - 1), size: pageAligned(spec.size))
        } else {
          if let offset = spec.vramOffset {
            assumptions.append(
              "vramOffset 0x\(hex(offset, width: 1)) + size lies beyond the \(formatBytes(total)) of VRAM; ignored")
          }
          var allocator = VRAMBuddyAllocator(limit: total, occupiedBySeed: seed)
          blocks = allocator.allocate(size: spec.size) ?? []
          assumptions.append(
            "VRAM offset chosen by the buddy model (seeded other BOs at the bottom, smallest fitting block first)")
        }
        if blocks.isEmpty {
          assumptions.append("the buffer does not fit in the modelled VRAM, so it starts in system memory")
          placement = .system
        }
        initialBlocks = blocks
      } else {
        if spec.preferredPlacement == .vram {
          assumptions.append("the buffer is larger than VRAM, so it starts in system memory")
        }
        placement = .system
      }
    case .vfioPCI:
      let chosenBar = DMABufSimulator.vfioBAR(of: exporterFunction)
      placement = .vram
      if var chosenBar {
        if chosenBar.address == 0 {
          assumptions.append(
            "BAR\(chosenBar.index) of \(request.exporter) has no address; 0x\(hex(DMABufSimulator.placeholderBARAddress, width: 1)) assumed"
          )
          chosenBar.address = DMABufSimulator.placeholderBARAddress
        }
        bar = chosenBar
        let offset = spec.vramOffset ?? 0
        if offset & (simPageSize - 1) != 0 || spec.size & (simPageSize - 1) != 0 || spec.size == 0 {
          exportError = (
            "-EINVAL", "vfio_pci_core_feature_dma_buf",
            "VFIO requires every range to be non-empty and page aligned"
          )
        } else if let size = chosenBar.size, offset > size || spec.size > size - offset {
          exportError = (
            "-EINVAL", "vfio_pci_core_feature_dma_buf",
            "the range 0x\(hex(offset, width: 1))+\(spec.size) does not lie inside BAR\(chosenBar.index) (\(formatBytes(size)))"
          )
        } else if chosenBar.size == nil {
          assumptions.append("BAR\(chosenBar.index) size unknown; the range is assumed to fit")
        }
      } else {
        exportError = ("-EINVAL", "vfio_pci_core_feature_dma_buf", "\(request.exporter) has no memory BAR to export")
      }
    case .systemMemory:
      placement = .system
    }
    if let bar, bar.busOffset != 0 {
      assumptions.append("BAR\(bar.index) bus offset \(bar.busOffset): PCI bus address = CPU address + offset")
    }
  }

  private mutating func setUpAttachments() throws {
    var reservedSummary: [String]?
    for (position, importer) in request.importers.enumerated() {
      guard let function = topology.function(importer), let functionIndex = topology.index(of: importer) else {
        throw DMABufSimError.unknownDevice(importer, role: "importer")
      }
      let profile = try DriverProfile.resolve(
        userChoice: request.importerProfiles[importer], for: function, in: topology)
      assumptions.append("importer \(importer) uses profile \(profile.name): \(profile.chosenBecause)")
      let maskBits: Int
      if let given = function.extras.dmaMaskBits {
        maskBits = given
      } else {
        maskBits = profile.dmaMaskBits
        assumptions.append("importer \(importer): DMA mask \(maskBits) bits (\(profile.name) default)")
      }
      if request.configuration.iommu.translates, reservedSummary == nil {
        reservedSummary = [
          "IOMMU on: each importer has its own IOVA domain (48-bit aperture); IOVAs are allocated top-down below "
            + "the DMA mask, trying below 4 GiB first for PCI devices (iommu_dma_alloc_iova); the MSI window "
            + "0xfee00000-0xfeefffff and, standing in for the host-bridge windows, every sized BAR under the "
            + "importer's root bus are reserved"
        ]
      }
      // One device has one IOMMU domain: an importer listed twice shares its IOVA space.
      let device =
        attachments.first { $0.importer == importer }?.device
        ?? DMADevice(
          bdf: importer, driverName: profile.driverName, dmaMaskBits: maskBits, maxSegmentSize: profile.maxSegmentSize,
          segmentBoundaryMask: profile.segmentBoundaryMask, iommu: request.configuration.iommu,
          domain: newDomain(forImporterAt: functionIndex))
      attachments.append(
        AttachmentState(
          importer: importer, importerIndex: functionIndex, profile: profile, device: device, lane: 4 + position))
    }
    assumptions += reservedSummary ?? []
    switch request.configuration.iommu {
    case .off: assumptions.append("IOMMU off: dma-direct, DMA address = CPU physical address")
    case .passthrough: assumptions.append("iommu=pt: identity domain, dma-direct, DMA address = CPU physical address")
    case .on: break
    }
    if placement == .system || behaviour == .amdgpu || behaviour == .xe || behaviour == .i915 {
      assumptions.append(
        "system pages: \(request.systemPageLayout.rawValue) layout starting near PFN 0x100000; CPU entries coalesced "
          + "as sg_alloc_table_from_pages_segment does (max segment 4 GiB - 4 KiB)")
    }
  }

  /// A new IOVA domain for the importer at `index`: empty without a translating IOMMU; otherwise
  /// with the x86 MSI window and the importer's host-bridge windows reserved.
  private func newDomain(forImporterAt index: Int) -> IOVADomain {
    var domain = IOVADomain()
    guard request.configuration.iommu.translates else { return domain }
    // The IOAPIC/MSI doorbell window is an x86 reserved region (intel/amd IOMMU drivers);
    // other architectures reserve their own MSI areas, which we do not model.
    let x86: Set<CPUVendor> = [.amd, .intel, .hygon, .zhaoxin]
    if topology.platform.cpuVendor.map({ x86.contains($0) }) ?? true {
      domain.reserve(start: 0xfee0_0000, end: 0xfeef_ffff, why: "x86 MSI/IOAPIC window")
    }
    // iova_reserve_pci_windows(): the importer's host-bridge windows. We do not know the
    // windows, so every sized BAR under the same root bus stands in for them.
    let root = topology.rootBus(of: index)
    for other in topology.functions.indices where topology.rootBus(of: other) == root {
      for otherBar in topology[other].bars where !otherBar.isIO && otherBar.address != 0 {
        guard let size = otherBar.size, size > 0 else { continue }
        let start = otherBar.busAddress
        // A BAR that wraps past 2^64 (broken input) cannot be a window; skip it.
        guard !start.addingReportingOverflow(size - 1).overflow else { continue }
        domain.reserve(
          start: start, end: start &+ size &- 1,
          why: "host-bridge window (BAR\(otherBar.index) of \(topology[other].bdf))")
      }
    }
    return domain
  }

  // MARK: - Step recording

  private func lane(of actor: Actor, attachment: Int?) -> Int {
    switch actor {
    case .exporterDriver: return 0
    case .dmaBufCore: return 1
    case .pciP2PDMA: return 2
    case .dmaAPI: return 3
    case .importerDriver(let bdf):
      if let attachment { return attachments[attachment].lane }
      return 4 + (request.importers.firstIndex(of: bdf) ?? 0)
    }
  }

  private mutating func record(
    _ actor: Actor, _ function: String, inputs: String, changes: [String] = [], outcome: String = "0",
    explanation: String, note: String? = nil, attachment: Int? = nil, verdict: P2PVerdict? = nil,
    sgVisible: Int? = nil, dmesg: [String] = [], failed: Bool = false
  ) {
    steps.append(
      SimStep(
        index: steps.count, actor: actor, lane: lane(of: actor, attachment: attachment), function: function,
        inputs: inputs, stateChanges: changes, outcome: outcome, explanation: explanation, kernelNote: note,
        attachmentIndex: attachment, p2pVerdict: verdict, sgEntriesVisible: sgVisible, dmesg: dmesg, failed: failed,
        snapshot: snapshot()))
  }

  /// The share as it stands now, for the step just recorded.
  private func snapshot() -> ShareSnapshot {
    ShareSnapshot(
      placement: placement, vramBlocks: blocks, pinCount: pinCount,
      attachments: attachments.map { state in
        AttachmentSnapshot(
          importer: state.importer, attached: state.attached, peer2peer: state.peer2peer,
          mapType: state.verdict?.mapType, distance: state.verdict?.distance, mapped: state.mapped,
          mappedPlacement: state.tablePlacement, sgTable: state.table ?? state.invalidatedTable,
          invalidated: state.table == nil && state.invalidatedTable != nil, invalidations: state.invalidations,
          error: state.error)
      })
  }

  /// A pin counts from the exporter's pin step on, including the move and invalidation steps
  /// the pin caused before the count was raised.
  private mutating func showPinCount(sinceStep first: Int) {
    for index in first..<steps.count { steps[index].snapshot.pinCount = pinCount }
  }

  private var bufferLabel: String { "\(spec.name) (\(formatBytes(spec.size)))" }

  private func importerLabel(_ index: Int) -> String {
    let state = attachments[index]
    return "\(state.importer) (\(state.profile.name))"
  }

  private func pageAligned(_ value: UInt64) -> UInt64 { (value + simPageSize - 1) & ~(simPageSize - 1) }

  private var isDynamicExporter: Bool { behaviour == .amdgpu || behaviour == .xe }

  private var exporterName: String { exporterProfile.driverName }

  /// The exporter's `unmap_dma_buf` callback.
  private var exporterUnmapFunction: String {
    switch behaviour {
    case .amdgpu: return "amdgpu_dma_buf_unmap"
    case .xe: return "xe_dma_buf_unmap"
    case .i915: return "i915_gem_unmap_dma_buf"
    case .vfioPCI: return "vfio_pci_dma_buf_unmap -> dma_buf_free_sgt"
    case .systemMemory: return exporterProfile.name == "system-memory" ? "unmap_udmabuf" : "drm_gem_unmap_dma_buf"
    }
  }

  // MARK: - The sequence

  mutating func execute() {
    exportBuffer()
    guard exportError == nil else {
      for index in attachments.indices {
        attachments[index].error = exportError?.errno
        attachments[index].failedFunction = exportError?.function
      }
      return
    }
    for index in attachments.indices {
      attachAndMap(index)
      remapInvalidated()
    }
    teardown()
  }

  private mutating func exportBuffer() {
    let function: String
    let ops: String
    switch behaviour {
    case .amdgpu:
      function = "amdgpu_gem_prime_export -> drm_gem_prime_export -> dma_buf_export"
      ops = "amdgpu_dmabuf_ops (has pin/unpin: dynamic exporter)"
    case .xe:
      function = "xe_gem_prime_export -> drm_gem_prime_export -> dma_buf_export"
      ops = "xe_dmabuf_ops (has pin/unpin: dynamic exporter)"
    case .i915:
      function = "i915_gem_prime_export -> drm_gem_dmabuf_export -> dma_buf_export"
      ops = "i915_dmabuf_ops (no pin: static exporter; UNVERIFIED)"
    case .vfioPCI:
      function = "vfio_pci_core_feature_dma_buf (VFIO_DEVICE_FEATURE_DMA_BUF) -> dma_buf_export"
      ops = "vfio_pci_dmabuf_ops"
    case .systemMemory:
      function =
        exporterProfile.name == "system-memory"
        ? "udmabuf_create -> dma_buf_export" : "drm_gem_prime_export -> dma_buf_export"
      ops = "page-backed ops (no pin: static exporter)"
    }
    var changes = ["dma_buf created: \(bufferLabel), ops = \(ops)"]
    changes.append("placement: " + describePlacement())
    if let exportError {
      record(
        .exporterDriver, function, inputs: "exporter \(request.exporter) (\(exporterName)), buffer \(bufferLabel)",
        outcome: exportError.errno, explanation: "The export is refused: \(exportError.why).", failed: true)
      return
    }
    record(
      .exporterDriver, function,
      inputs:
        "exporter \(request.exporter) (\(exporterName)), buffer \(bufferLabel), prefers \(spec.preferredPlacement.rawValue)",
      changes: changes,
      explanation:
        "The exporting driver wraps its buffer object in a struct dma_buf. dma_buf_export() insists on map_dma_buf, "
        + "unmap_dma_buf and release ops, creates an anonymous file and puts the buffer on the global list.",
      note: behaviour == .vfioPCI ? "VFIO dma-buf export: ≈v6.19 (UNVERIFIED release)" : nil)
    record(
      .dmaBufCore, "dma_buf_fd", inputs: "dmabuf \(spec.name), O_CLOEXEC", changes: ["fd installed for userspace"],
      outcome: "fd",
      explanation:
        "Userspace gets a file descriptor for the buffer and passes it to each importing driver (an ioctl, a "
        + "socket, or a Vulkan/OpenGL/RDMA API).")
  }

  private func describePlacement() -> String {
    switch placement {
    case .vram:
      if behaviour == .vfioPCI, let bar {
        return "MMIO: BAR\(bar.index) of \(request.exporter) +0x\(hex(spec.vramOffset ?? 0, width: 1))"
      }
      let list = blocks.map { "0x\(hex($0.offset, width: 1))+\(formatBytes($0.size))" }.joined(separator: ", ")
      return "VRAM blocks [\(list)]"
    case .system:
      if let pages { return "system RAM, \(pages.count) runs of pages" }
      return "system RAM"
    }
  }

  private mutating func attachAndMap(_ index: Int) {
    let state = attachments[index]
    record(
      .importerDriver(state.importer), "dma_buf_get", inputs: "fd of \(spec.name)", changes: ["dma_buf refcount +1"],
      outcome: "dmabuf", explanation: "The importing driver turns the file descriptor into a dma_buf reference.",
      attachment: index)
    let dynamic = state.profile.isDynamicImporter
    attachments[index].peer2peer = dynamic && state.profile.allowPeer2peer
    if dynamic {
      record(
        .dmaBufCore, "dma_buf_dynamic_attach",
        inputs: "dev \(state.importer), importer_ops \(state.profile.importerOps ?? "")",
        changes: ["attach->peer2peer = allow_peer2peer = \(state.profile.allowPeer2peer)"],
        outcome: "calls exporter attach",
        explanation:
          "A dynamic importer attaches with importer_ops, so it can be told to drop its mapping when the buffer "
          + "moves. Its allow_peer2peer flag becomes the attachment's peer2peer flag, which the exporter may clear.",
        note:
          "v5.8 to ≈v6.15 also mapped at attach when importer and exporter differed in dynamic-ness; removed in 2025",
        attachment: index)
    } else {
      record(
        .dmaBufCore, "dma_buf_attach", inputs: "dev \(state.importer), importer_ops NULL",
        changes: ["attach->peer2peer = false (static importer)"], outcome: "calls exporter attach",
        explanation:
          "A static importer passes no importer_ops. It can never be asked to move, so it never gets P2P: "
          + "peer2peer stays false whatever the topology says.",
        attachment: index)
    }
    let attachStep = steps.count
    guard exporterAttach(index) else { return }
    attachments[index].attached = true
    // Attached from the exporter's attach callback on (not during the P2PDMA query it made).
    for step in attachStep..<steps.count where steps[step].actor != .pciP2PDMA {
      steps[step].snapshot.attachments[index].attached = true
    }
    if state.profile.pinsAfterAttach {
      guard importerPin(index) else { return }
    }
    map(index)
  }

  /// The exporter's `attach` callback. Returns false when it refused.
  private mutating func exporterAttach(_ index: Int) -> Bool {
    let state = attachments[index]
    let inputs = "attachment of \(importerLabel(index)), peer2peer \(state.peer2peer)"
    switch behaviour {
    case .amdgpu:
      var changes: [String] = []
      if spec.dccCompressed && attachments[index].peer2peer {
        attachments[index].peer2peer = false
        changes.append("peer2peer = false: GFX12 BO with DCC (compressed surfaces are not shared raw)")
      }
      let verdict = askDistance(index, verbose: false, caller: "amdgpu_dma_buf_attach")
      if verdict.distance < 0 && attachments[index].peer2peer {
        attachments[index].peer2peer = false
        changes.append("peer2peer = false: pci_p2pdma_distance() < 0")
      }
      if changes.isEmpty { changes.append("peer2peer stays \(attachments[index].peer2peer)") }
      changes.append("amdgpu_vm_bo_update_shared(bo)")
      record(
        .exporterDriver, "amdgpu_dma_buf_attach", inputs: inputs, changes: changes, outcome: "0",
        explanation:
          "amdgpu never refuses an attach for P2P reasons. It only clears peer2peer when the importer is not in "
          + "its XGMI hive and the PCI distance is negative; then the buffer will be served from system memory (GTT).",
        note: "≈v6.x+: pci_p2pdma_distance(verbose=false), so no warnings; v5.10 used distance_many(verbose=true). "
          + "XGMI hives are not modelled.",
        attachment: index)
      return true
    case .xe:
      var changes: [String] = []
      if attachments[index].peer2peer {
        let verdict = askDistance(index, verbose: false, caller: "xe_dma_buf_attach")
        if verdict.distance < 0 {
          attachments[index].peer2peer = false
          changes.append("peer2peer = false: pci_p2pdma_distance() < 0")
        }
      }
      if !attachments[index].peer2peer && !spec.migratable {
        return refuseAttach(
          index, function: "xe_dma_buf_attach", inputs: inputs, errno: "-EOPNOTSUPP",
          why: "The importer cannot use VRAM peer-to-peer and this BO cannot move to system memory, so xe refuses "
            + "the attach instead of serving something the importer cannot reach.")
      }
      changes.append("peer2peer = \(attachments[index].peer2peer); runtime-PM reference taken")
      record(
        .exporterDriver, "xe_dma_buf_attach", inputs: inputs, changes: changes,
        explanation:
          "xe clears peer2peer when the PCI distance is negative, and refuses only when the buffer could then not "
          + "be served at all (not migratable).",
        attachment: index)
      return true
    case .i915:
      if !spec.migratable {
        return refuseAttach(
          index, function: "i915_gem_dmabuf_attach", inputs: inputs, errno: "-EOPNOTSUPP",
          why: "i915 never shares LMEM peer-to-peer and this object cannot migrate to system memory.")
      }
      // i915_gem_dmabuf_attach() leaves attach->peer2peer as the core set it: the flag stays
      // true for a dynamic P2P importer, but the buffer it gets is system memory all the same.
      var changes = ["peer2peer left as is, but unused: i915 never exports LMEM peer-to-peer"]
      let mustMove = placement == .vram
      if mustMove { changes.append("object migrates LMEM -> SMEM") }
      if pinCount == 0 { changes.append("pages pinned (i915_gem_object_pin_pages)") }
      let pinStep = steps.count
      record(
        .exporterDriver, "i915_gem_dmabuf_attach", inputs: inputs, changes: changes,
        explanation: "Mainline i915 has no P2P: it moves the object to system memory and pins its pages at attach.",
        note: "Intel's out-of-tree DG2/PVC trees differ; not modelled", attachment: index)
      if mustMove {
        migrateToSystem(by: index, function: "i915_gem_object_migrate(SMEM)", reason: "i915 shares only system memory")
      }
      pinCount += 1
      showPinCount(sinceStep: pinStep)
      return true
    case .vfioPCI:
      if !attachments[index].peer2peer {
        return refuseAttach(
          index, function: "vfio_pci_dma_buf_attach", inputs: inputs, errno: "-EOPNOTSUPP",
          why: "A VFIO buffer is raw MMIO with no struct pages, so only importers that set allow_peer2peer may "
            + "attach. VFIO does not ask PCI P2PDMA here; that happens at map time.")
      }
      record(
        .exporterDriver, "vfio_pci_dma_buf_attach", inputs: inputs, changes: ["peer2peer = true (required)"],
        explanation:
          "VFIO only checks that the importer can handle memory without struct pages (and that the buffer is not "
          + "revoked). Whether the PCI path works is decided at map time.",
        note: "newer kernels also require dma_buf_attach_revocable(); ≈v6.19+ (UNVERIFIED)", attachment: index)
      return true
    case .systemMemory:
      record(
        .exporterDriver, "attach (no exporter callback needed)", inputs: inputs,
        changes: ["peer2peer irrelevant: the buffer is ordinary pages"],
        explanation: "A page-backed exporter can serve every importer; there is nothing peer-to-peer to decide.",
        attachment: index)
      return true
    }
  }

  private mutating func refuseAttach(_ index: Int, function: String, inputs: String, errno: String, why: String) -> Bool
  {
    attachments[index].error = errno
    attachments[index].failedFunction = function
    record(.exporterDriver, function, inputs: inputs, outcome: errno, explanation: why, attachment: index, failed: true)
    record(
      .dmaBufCore, attachments[index].profile.isDynamicImporter ? "dma_buf_dynamic_attach" : "dma_buf_attach",
      inputs: "exporter returned \(errno)",
      changes: ["attachment freed"], outcome: errno,
      explanation: "The core frees the half-built attachment and returns the exporter's error to the importer.",
      attachment: index, failed: true)
    return false
  }

  /// `pci_p2pdma_map_type(provider, attach->dev)`: reads the provider's map_types cache and
  /// only on a miss (UNKNOWN) runs `calc_map_type_and_dist()` with verbose=true, so a client
  /// that was already decided prints nothing the second time.
  private mutating func mapType(_ index: Int, caller: String) -> P2PVerdict {
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

  /// `pci_p2pdma_distance(provider, attach->dev, verbose)` as the exporter calls it.
  @discardableResult
  private mutating func askDistance(_ index: Int, verbose: Bool, caller: String) -> P2PVerdict {
    let importer = attachments[index].importer
    let verdict = engine.verdict(
      providerIndex: exporterIndex, clientIndex: attachments[index].importerIndex, verbose: verbose)
    attachments[index].verdict = verdict
    record(
      .pciP2PDMA,
      verbose ? "pci_p2pdma_map_type -> calc_map_type_and_dist" : "pci_p2pdma_distance -> calc_map_type_and_dist",
      inputs: "provider \(request.exporter), client \(importer), verbose=\(verbose) (caller \(caller))",
      changes: [
        verbose
          ? "map type \(verdict.mapType.kernelName) cached in the provider's map_types xarray "
            + "(pcim_p2pdma_init gave it p2pdma state); later changes to ACS are not seen"
          : "not cached: a GPU that published no p2pmem has no pdev->p2pdma state (inference from the code)"
      ],
      outcome: verbose ? verdict.mapType.kernelName : "\(verdict.distance)",
      explanation: verdict.reason
        + (verbose ? "" : " The caller only sees the distance, not whether the path is BUS_ADDR or THRU_HOST_BRIDGE."),
      attachment: index, verdict: verdict, dmesg: verdict.dmesg, failed: verdict.distance < 0)
    return verdict
  }

  /// `dma_buf_pin()` by an importer that pins right after attaching (pinned RDMA MRs, iommufd).
  private mutating func importerPin(_ index: Int) -> Bool {
    record(
      .importerDriver(attachments[index].importer), "dma_buf_pin",
      inputs: "attachment of \(importerLabel(index)), resv held",
      changes: ["asks the exporter to keep the buffer where it is"], outcome: "calls exporter pin",
      explanation:
        "This importer cannot handle the buffer moving under it (e.g. an RDMA memory region without on-demand "
        + "paging), so it pins the buffer right after attaching.",
      attachment: index)
    if exporterPin(index, pinOnMap: false) {
      attachments[index].pinnedByImporter = true
      return true
    }
    return false
  }

  /// The exporter's `pin`. Returns false on failure (error recorded).
  private mutating func exporterPin(_ index: Int, pinOnMap: Bool) -> Bool {
    let pinStep = steps.count
    let inputs = "attachment of \(importerLabel(index))" + (pinOnMap ? " (pin-on-map)" : "")
    switch behaviour {
    case .amdgpu:
      var domains: Set<Placement> = spec.preferredPlacement == .vram ? [.vram, .system] : [.system]
      let nonP2P = attachments.filter { $0.attached && !$0.peer2peer }.map(\.importer)
      var changes: [String] = []
      if !nonP2P.isEmpty && domains.contains(.vram) {
        domains.remove(.vram)
        changes.append("VRAM dropped: attachment(s) \(nonP2P.map(\.description).joined(separator: ", ")) cannot do P2P")
      }
      if pinCount > 0 {
        guard domains.contains(placement) else {
          return failPin(
            index, function: "amdgpu_dma_buf_pin -> amdgpu_bo_pin", inputs: inputs, errno: "-EINVAL",
            why:
              "The buffer is already pinned in \(placement.rawValue), which this pin does not allow, and a pinned BO "
              + "cannot move.")
        }
        changes.append("pin count \(pinCount + 1) (already pinned in \(placement.rawValue))")
      } else if domains.contains(.vram) && placement == .vram && spec.size <= (visibleVRAM ?? spec.size) {
        changes.append("pinned in VRAM (all attachments can do P2P; CPU_ACCESS_REQUIRED set)")
      } else {
        if domains.contains(.vram) && placement == .vram {
          changes.append("VRAM impossible: the buffer is larger than the CPU-visible VRAM window")
        }
        changes.append("pinned in GTT (system memory)" + (placement == .vram ? ": the BO moves out of VRAM first" : ""))
      }
      record(
        .exporterDriver, "amdgpu_dma_buf_pin", inputs: inputs, changes: changes,
        explanation:
          "amdgpu pins in VRAM only if every attachment can reach VRAM peer-to-peer; one non-P2P attachment is "
          + "enough to pin the buffer in system memory (GTT) for everyone.",
        note: "≈v6.15+ (f5e7fabd1f5c; VRAM pins need DMABUF_MOVE_NOTIFY, always built since ≈v7.1); "
          + "before 2025 amdgpu pinned only in GTT",
        attachment: index)
      if pinCount == 0 {
        if domains.contains(.vram) && placement == .vram && spec.size <= (visibleVRAM ?? spec.size) {
          ensureVisible(by: index)
        } else {
          migrateToSystem(by: index, function: "amdgpu_bo_pin -> ttm_bo_validate", reason: "it is pinned in GTT")
        }
      }
      pinCount += 1
      showPinCount(sinceStep: pinStep)
      if pinOnMap { attachments[index].pinnedOnMap = true }
      return true
    case .xe:
      var changes: [String] = []
      let mustMove = placement == .vram
      if mustMove {
        guard spec.migratable, pinCount == 0 else {
          return failPin(
            index, function: "xe_dma_buf_pin", inputs: inputs, errno: "-EINVAL",
            why: "xe pins only in system memory (TT) and this BO cannot get there.")
        }
        changes.append("the BO moves VRAM -> TT first")
      }
      changes.append("pinned in TT (pin count \(pinCount + 1))")
      record(
        .exporterDriver, "xe_dma_buf_pin", inputs: inputs, changes: changes,
        explanation:
          "xe pins dma-bufs only in system memory: the buffer might be unreachable for some importers and VRAM pin "
          + "accounting is not done yet.",
        attachment: index)
      if mustMove { migrateToSystem(by: index, function: "xe_bo_migrate(XE_PL_TT)", reason: "xe pins only in TT") }
      pinCount += 1
      showPinCount(sinceStep: pinStep)
      if pinOnMap { attachments[index].pinnedOnMap = true }
      return true
    case .vfioPCI:
      record(
        .exporterDriver, "vfio_pci_dma_buf_pin", inputs: inputs, changes: ["pinned; VFIO can still revoke it"],
        explanation: "VFIO lets revocable importers pin: it can still revoke the buffer on reset.",
        note: "2026 series (≈v7.1, UNVERIFIED); earlier VFIO had no pin", attachment: index)
      return true
    case .i915, .systemMemory:
      record(
        .dmaBufCore, "dma_buf_pin", inputs: inputs, changes: ["exporter has no pin callback: nothing to do"],
        explanation: "The buffer never moves anyway, so pinning is a no-op.", attachment: index)
      return true
    }
  }

  private mutating func failPin(_ index: Int, function: String, inputs: String, errno: String, why: String) -> Bool {
    attachments[index].error = errno
    attachments[index].failedFunction = function
    record(.exporterDriver, function, inputs: inputs, outcome: errno, explanation: why, attachment: index, failed: true)
    return false
  }

  /// `dma_buf_map_attachment()` and the exporter's `map_dma_buf`.
  private mutating func map(_ index: Int) {
    let state = attachments[index]
    let pinOnMap = isDynamicExporter && !state.profile.isDynamicImporter
    record(
      .dmaBufCore, "dma_buf_map_attachment",
      inputs: "attachment of \(importerLabel(index)), DMA_BIDIRECTIONAL, resv held",
      changes: (pinOnMap ? ["pin-on-map: static importer of a dynamic exporter, so the core pins first"] : [])
        + (state.profile.isDynamicImporter
          ? []
          : [
            "after the exporter maps, the core waits for the kernel fences (DMA_RESV_USAGE_KERNEL) for this static importer"
          ]),
      outcome: "calls exporter map_dma_buf",
      explanation:
        "The importer asks for an sg table it can program into its DMA engine. "
        + (pinOnMap
          ? "Because this importer is static and cannot be told about moves, the core pins the buffer first."
          : "The exporter decides where the buffer must be for this importer and builds the table."),
      note: "newest pin-on-map rule: exporter has pin && importer is static (v5.x: pin when !DMABUF_MOVE_NOTIFY); "
        + "≈v6.2+: every importer holds dmabuf->resv",
      attachment: index)
    if pinOnMap {
      guard exporterPin(index, pinOnMap: true) else { return }
    }
    switch behaviour {
    case .amdgpu: mapAMDGPU(index)
    case .xe: mapXe(index)
    case .i915, .systemMemory:
      mapPagesFor(index, exporterFunction: behaviour == .i915 ? "i915_gem_map_dma_buf" : "map_dma_buf (page-backed)")
    case .vfioPCI: mapVFIO(index)
    }
    if pinOnMap && attachments[index].pinnedOnMap && !attachments[index].mapped {
      // dma_buf_map_attachment(): map_dma_buf failed, so the core drops its pin-on-map before
      // returning the error (§2.4: unpin on error or unmap).
      attachments[index].pinnedOnMap = false
      pinCount = max(0, pinCount - 1)
      let unpin = behaviour == .xe ? "xe_dma_buf_unpin" : "amdgpu_dma_buf_unpin"
      record(
        .dmaBufCore, "dma_buf_map_attachment (error path) -> \(unpin)", inputs: "attachment of \(importerLabel(index))",
        changes: ["pin-on-map undone (pin count \(pinCount))"], outcome: attachments[index].error ?? "error",
        explanation:
          "The exporter could not map the buffer for this static importer, so the core releases the pin it took "
          + "for the map and returns the error; the buffer may move again.",
        attachment: index, failed: true)
    }
    if let table = attachments[index].table {
      let state = attachments[index]
      let first = table.nents > 0 ? table[0] : nil
      var explanation =
        "The importer walks the DMA side of the table with for_each_sgtable_dma_sg and programs "
        + "\(table.nents) address/length pair(s) into its hardware"
      if let first {
        explanation += ", starting at 0x\(hex(first.dmaAddress, width: 1)) (\(first.addressKind.rawValue) address)"
      }
      explanation += ". It must not look at sg_page(): with CONFIG_DMABUF_DEBUG it gets a copy with NULL pages."
      record(
        .importerDriver(state.importer), "for_each_sgtable_dma_sg",
        inputs: "sgt: nents \(table.nents), orig_nents \(table.origNents)",
        changes: ["\(table.nents) DMA segment(s) programmed, \(formatBytes(table.totalDMALength)) in total"],
        outcome: "mapped", explanation: explanation,
        note: "CONFIG_DMABUF_DEBUG: newest wraps the table (page NULL); v5.13-2025 XOR-mangled page_link",
        attachment: index, sgVisible: table.nents)
    }
  }

  private mutating func mapAMDGPU(_ index: Int) {
    let state = attachments[index]
    var changes: [String] = []
    let explanation: String
    enum Action { case none, keepVisible, toGTT }
    var action = Action.none
    if pinCount > 0 {
      changes.append("BO pinned in \(placement.rawValue): no validation, it stays there")
      explanation = "The buffer is pinned, so amdgpu maps it where it is."
    } else if spec.preferredPlacement == .vram && state.peer2peer {
      changes.append("domains GTT | VRAM (preferred VRAM and peer2peer), CPU_ACCESS_REQUIRED")
      if placement == .vram {
        explanation =
          "The importer can reach VRAM peer-to-peer, so the buffer may stay in VRAM, but only in the "
          + "CPU-visible part that BAR0 windows."
        action = .keepVisible
      } else {
        explanation =
          "VRAM would be allowed, but the buffer is already in GTT, which is also allowed, so "
          + "ttm_bo_validate leaves it there."
      }
    } else {
      changes.append(
        "domains GTT only ("
          + (spec.preferredPlacement == .vram ? "peer2peer is false" : "the BO does not prefer VRAM") + ")")
      explanation = "This importer cannot take VRAM (peer2peer false), so the buffer must be in GTT (system memory)."
      if placement == .vram {
        action = .toGTT
        changes.append("ttm_bo_validate moves the BO VRAM -> GTT")
      }
    }
    record(
      .exporterDriver, "amdgpu_dma_buf_map",
      inputs: "attachment of \(importerLabel(index)), peer2peer \(state.peer2peer)",
      changes: changes, outcome: "validates, then builds the sg table", explanation: explanation, attachment: index)
    switch action {
    case .none: break
    case .keepVisible: ensureVisible(by: index)
    case .toGTT:
      migrateToSystem(by: index, function: "amdgpu_dma_buf_map -> ttm_bo_validate", reason: "this importer needs GTT")
    }
    buildTable(index, failureErrno: placement == .vram ? nil : "-EBUSY", exporterFunction: "amdgpu_dma_buf_map")
  }

  private mutating func mapXe(_ index: Int) {
    let state = attachments[index]
    if !state.peer2peer && !spec.migratable {
      attachments[index].error = "-EOPNOTSUPP"
      attachments[index].failedFunction = "xe_dma_buf_map"
      record(
        .exporterDriver, "xe_dma_buf_map", inputs: "attachment of \(importerLabel(index))", outcome: "-EOPNOTSUPP",
        explanation: "Not P2P and not migratable: xe cannot serve this importer.", attachment: index, failed: true)
      return
    }
    var changes: [String] = []
    if pinCount == 0 {
      if !state.peer2peer && placement == .vram {
        migrateToSystem(by: index, function: "xe_bo_migrate(XE_PL_TT)", reason: "the importer is not P2P")
        changes.append("migrated to TT")
      } else {
        changes.append("validated in place (\(placement.rawValue))")
      }
    } else {
      changes.append("pinned: stays in \(placement.rawValue)")
    }
    if placement == .vram, let visibleVRAM, blocks.contains(where: { $0.offset + $0.size > visibleVRAM }) {
      attachments[index].error = "-EOPNOTSUPP"
      attachments[index].failedFunction = "xe_ttm_vram_mgr_alloc_sgt"
      record(
        .exporterDriver, "xe_dma_buf_map -> xe_ttm_vram_mgr_alloc_sgt",
        inputs: "attachment of \(importerLabel(index)), visible VRAM \(formatBytes(visibleVRAM))", changes: changes,
        outcome: "-EOPNOTSUPP",
        explanation:
          "xe builds VRAM sg tables only when the whole buffer is CPU visible (inside the LMEM BAR window). Part of "
          + "this buffer lies beyond the visible \(formatBytes(visibleVRAM)), so the map fails. A larger (resizable) "
          + "BAR would fix it.",
        attachment: index, failed: true)
      return
    }
    record(
      .exporterDriver, "xe_dma_buf_map", inputs: "attachment of \(importerLabel(index)), peer2peer \(state.peer2peer)",
      changes: changes, outcome: placement == .vram ? "XE_PL_VRAM0" : "XE_PL_TT",
      explanation: placement == .vram
        ? "P2P importer: xe keeps the buffer in VRAM and maps it with dma_map_resource."
        : "The buffer is in system memory (TT): a page table plus dma_map_sgtable.",
      attachment: index)
    buildTable(index, failureErrno: nil, exporterFunction: "xe_dma_buf_map")
  }

  private mutating func mapPagesFor(_ index: Int, exporterFunction: String) {
    record(
      .exporterDriver, exporterFunction, inputs: "attachment of \(importerLabel(index))",
      changes: ["buffer is in system memory"], outcome: "builds page table",
      explanation:
        "The buffer is made of ordinary pages; the exporter builds a page table and maps it for the importer.",
      attachment: index)
    buildTable(index, failureErrno: nil, exporterFunction: exporterFunction)
  }

  private mutating func mapVFIO(_ index: Int) {
    record(
      .exporterDriver, "vfio_pci_dma_buf_map", inputs: "attachment of \(importerLabel(index)), revoked false",
      changes: ["phys_vec: BAR CPU address + range offset, handed to the dma-buf mapping helper"],
      outcome: "calls dma_buf_phys_vec_to_sgt",
      explanation:
        "VFIO does not build addresses itself: it describes its BAR range as physical address/length pairs and "
        + "lets the shared helper ask PCI P2PDMA how the importer reaches them.",
      attachment: index)
    let verdict = mapType(index, caller: "dma_buf_phys_vec_to_sgt")
    let state = attachments[index]
    guard let bar else { return }
    let result = DMAMapper.physVecToSGT(
      provider: request.exporter, bar: bar, rangeOffset: spec.vramOffset ?? 0, size: spec.size,
      mapType: verdict.mapType,
      device: state.device)
    switch result {
    case .failure(let failure):
      attachments[index].error = failure.errno
      attachments[index].failedFunction = "dma_buf_phys_vec_to_sgt"
      record(
        .dmaAPI, "dma_buf_phys_vec_to_sgt",
        inputs: "1 range: BAR\(bar.index) +0x\(hex(spec.vramOffset ?? 0, width: 1)), \(spec.size) bytes",
        outcome: failure.errno, explanation: failure.explanation,
        note: "dma-buf-mapping.c helper, ≈v6.19 (UNVERIFIED release)", attachment: index, dmesg: failure.dmesg,
        failed: true)
      record(
        .exporterDriver, "vfio_pci_dma_buf_map", inputs: "helper returned \(failure.errno)", outcome: failure.errno,
        explanation: "VFIO passes the helper's error back; the importer gets no mapping.", attachment: index,
        failed: true)
    case .success(let mapped):
      attachments[index].table = mapped.table
      attachments[index].invalidatedTable = nil
      attachments[index].tablePlacement = .vram
      attachments[index].mapped = true
      attachments[index].iovas = mapped.iovas
      record(
        .dmaAPI, "dma_buf_phys_vec_to_sgt",
        inputs:
          "1 range: BAR\(bar.index) +0x\(hex(spec.vramOffset ?? 0, width: 1)), \(spec.size) bytes, \(verdict.mapType.shortName)",
        changes: mapped.notes + ["sgt: nents \(mapped.table.nents), orig_nents 0 (no CPU list at all)"],
        outcome: "sgt (\(mapped.table.nents) entr\(mapped.table.nents == 1 ? "y" : "ies"))",
        explanation: physVecExplanation(verdict.mapType, device: state.device),
        note: "dma-buf-mapping.c helper, ≈v6.19 (UNVERIFIED release); entries capped at 4 GiB - 4 KiB",
        attachment: index, sgVisible: mapped.table.nents, dmesg: mapped.dmesg)
    }
  }

  private func physVecExplanation(_ mapType: MapType, device: DMADevice) -> String {
    switch mapType {
    case .busAddress:
      return "The path stays below a switch, so the importer gets PCI bus addresses (CPU address + bus offset), "
        + "flagged SG_DMA_BUS_ADDRESS. No IOMMU mapping is made even if the IOMMU translates: the switch routes "
        + "these TLPs by address and they never reach the root complex."
    case .thruHostBridge:
      return device.usesIOMMU
        ? "The traffic goes through the host bridge, so the importer needs a normal DMA address: one IOVA range "
          + "that its IOMMU translates to the BAR."
        : "The traffic goes through the host bridge and there is no translating IOMMU, so the DMA address is the "
          + "BAR's CPU physical address."
    default:
      return "Not supported."
    }
  }

  /// Builds the sg table for the current placement (VRAM via dma_map_resource, or pages via
  /// dma_map_sgtable) and records the DMA API step.
  private mutating func buildTable(_ index: Int, failureErrno: String?, exporterFunction: String) {
    let device = attachments[index].device
    let result: Result<DMAMappingResult, DMAMappingFailure>
    let function: String
    let inputs: String
    var explanation: String
    var note: String?
    if placement == .vram {
      let bar = self.bar ?? BAR(index: 0, address: DMABufSimulator.placeholderBARAddress, size: nil)
      let pieces = blocks.reduce(0) { $0 + Int(($1.size + DMAMapper.vramSegmentCap - 1) / DMAMapper.vramSegmentCap) }
      function =
        behaviour == .xe
        ? "xe_ttm_vram_mgr_alloc_sgt -> dma_map_resource" : "amdgpu_vram_mgr_alloc_sgt -> dma_map_resource"
      inputs = "\(pieces) piece(s): phys = BAR\(bar.index) 0x\(hex(bar.address, width: 1)) + block offset, ≤ 2 GiB each"
      result = DMAMapper.mapVRAM(
        blocks: blocks, exporter: request.exporter, bar: bar.index, barCPUStart: bar.address, device: device)
      explanation =
        "Each VRAM block becomes one entry with a NULL page: phys = BAR CPU address + offset, turned into a DMA "
        + "address by dma_map_resource. "
        + (device.usesIOMMU
          ? "The importer's IOMMU translates, so each piece gets an IOVA, allocated top-down below its DMA mask."
          : "Without a translating IOMMU (dma-direct) the physical address is used unchanged, after a DMA-mask check.")
      if let verdict = attachments[index].verdict, verdict.mapType == .busAddress {
        explanation +=
          " amdgpu and xe always use dma_map_resource, so they hand out host-bridge-style addresses "
          + "even though p2pdma classified this path as BUS_ADDR."
        if device.usesIOMMU {
          explanation +=
            " Inference, UNVERIFIED on hardware: these IOVAs make the traffic hairpin through the root "
            + "complex instead of staying in the switch."
        } else if bar.busOffset != 0 {
          explanation +=
            " Inference, UNVERIFIED on hardware: this host bridge has a bus offset of \(bar.busOffset), "
            + "so the CPU physical address handed out is not the bus address a switch would decode for the BAR."
        }
      }
      if device.usesIOMMU {
        explanation +=
          " Handing the importer the raw BAR address instead would make its IOMMU fault and drop the "
          + "writes (the NVIDIA/open-gpu-kernel-modules#1324 bug); dma_map_resource is what makes it an IOVA."
      }
      note = "newest kernels route dma_map_resource through dma_map_phys(DMA_ATTR_MMIO) (≈v6.17+), same addresses"
    } else {
      let runs = systemPages()
      record(
        .exporterDriver, "drm_prime_pages_to_sg -> sg_alloc_table_from_pages_segment",
        inputs: "\(runs.totalPages) pages of \(formatBytes(simPageSize))",
        changes: [
          "CPU list: \(runs.count) entr\(runs.count == 1 ? "y" : "ies") (physically contiguous pages coalesced)"
        ],
        outcome: "sgt, orig_nents \(runs.count)",
        explanation:
          "The exporter lists the buffer's pages; runs of physically adjacent pages are merged into one CPU entry "
          + "(up to 4 GiB - 4 KiB each).",
        attachment: index)
      function =
        device.usesIOMMU
        ? "dma_map_sgtable -> iommu_dma_map_sg -> __finalise_sg" : "dma_map_sgtable -> dma_direct_map_sg"
      inputs =
        "\(runs.count) CPU entries, importer mask \(device.dmaMaskBits) bits, max_seg_size \(device.maxSegmentSize)"
      result = DMAMapper.mapPages(runs, device: device)
      explanation =
        device.usesIOMMU
        ? "The IOMMU maps all entries into one contiguous IOVA range and __finalise_sg merges neighbours that start "
          + "on a page, do not start on a segment boundary and keep the segment within max_seg_size, so nents can "
          + "be smaller than orig_nents."
        : "dma-direct uses each page's physical address as its DMA address: one DMA entry per CPU entry."
    }
    switch result {
    case .failure(let failure):
      let errno = failureErrno ?? failure.errno
      attachments[index].error = errno
      attachments[index].failedFunction = exporterFunction
      record(
        .dmaAPI, function, inputs: inputs, outcome: "DMA_MAPPING_ERROR", explanation: failure.explanation, note: note,
        attachment: index, dmesg: failure.dmesg, failed: true)
      record(
        .exporterDriver, exporterFunction, inputs: "mapping failed", outcome: errno,
        explanation: "The exporter frees the table and returns \(errno); the importer gets no mapping.",
        attachment: index, failed: true)
    case .success(let mapped):
      attachments[index].table = mapped.table
      attachments[index].invalidatedTable = nil
      attachments[index].tablePlacement = placement
      attachments[index].mapped = true
      attachments[index].iovas = mapped.iovas
      attachments[index].needsRemap = false
      record(
        .dmaAPI, function, inputs: inputs,
        changes: mapped.notes + ["sgt: nents \(mapped.table.nents), orig_nents \(mapped.table.origNents)"],
        outcome: "sgt (\(mapped.table.nents) DMA entr\(mapped.table.nents == 1 ? "y" : "ies"))",
        explanation: explanation, note: note, attachment: index, sgVisible: mapped.table.nents, dmesg: mapped.dmesg)
    }
  }

  private mutating func systemPages() -> PageRuns {
    if let pages { return pages }
    let runs = SystemPageAllocator.allocate(size: spec.size, seed: seed, layout: request.systemPageLayout)
    pages = runs
    return runs
  }

  /// amdgpu with CPU_ACCESS_REQUIRED: VRAM placement is limited to the visible window
  /// (`lpfn = visible_vram_size >> PAGE_SHIFT`). A buffer outside it moves into it, or to GTT
  /// when it cannot fit (UNVERIFIED: the GTT fallback comes from the GTT|VRAM placement list).
  private mutating func ensureVisible(by index: Int) {
    guard let visibleVRAM, blocks.contains(where: { $0.offset + $0.size > visibleVRAM }) else { return }
    var allocator = VRAMBuddyAllocator(limit: visibleVRAM, occupiedBySeed: seed)
    if spec.size <= visibleVRAM, let moved = allocator.allocate(size: spec.size) {
      let old = blocks
      blocks = moved
      record(
        .exporterDriver, "ttm_bo_validate -> amdgpu_bo_move (VRAM -> visible VRAM)",
        inputs:
          "BO at \(old.map { "0x\(hex($0.offset, width: 1))" }.joined(separator: ", ")), visible VRAM \(formatBytes(visibleVRAM))",
        changes: [
          "moved into the CPU-visible window: \(moved.map { "0x\(hex($0.offset, width: 1))+\(formatBytes($0.size))" }.joined(separator: ", "))"
        ],
        explanation:
          "Part of the buffer lay beyond the CPU-visible VRAM (the BAR0 window), where a peer cannot reach it. "
          + "CPU_ACCESS_REQUIRED limits the placement to the visible part, so TTM moves it there.",
        attachment: index)
      invalidateOthers(except: index, reason: "moved within VRAM")
    } else {
      migrateToSystem(
        by: index, function: "ttm_bo_validate -> amdgpu_bo_move (VRAM -> GTT)",
        reason:
          "the buffer (\(formatBytes(spec.size))) does not fit in the \(formatBytes(visibleVRAM)) CPU-visible VRAM window"
      )
    }
  }

  private mutating func migrateToSystem(by index: Int, function: String, reason: String) {
    guard placement == .vram else { return }
    let runs = systemPages()
    placement = .system
    let freed = blocks
    blocks = []
    record(
      .exporterDriver, function,
      inputs: "BO in VRAM [\(freed.map { "0x\(hex($0.offset, width: 1))" }.joined(separator: ", "))]",
      changes: ["VRAM -> system memory (\(runs.count) runs of pages)", "VRAM blocks freed"],
      outcome: "moved",
      explanation: "The buffer is copied to system memory because \(reason). Every importer that mapped the VRAM copy "
        + "must be told.",
      attachment: index)
    invalidateOthers(except: index, reason: "moved to system memory")
  }

  /// `dma_buf_invalidate_mappings()` (was `dma_buf_move_notify()`): every other dynamic importer
  /// with a mapping drops it and will map again.
  private mutating func invalidateOthers(except index: Int, reason: String) {
    let victims = attachments.indices.filter {
      $0 != index && attachments[$0].mapped && attachments[$0].profile.isDynamicImporter
    }
    guard !victims.isEmpty else { return }
    record(
      .dmaBufCore, "dma_buf_invalidate_mappings (was dma_buf_move_notify)",
      inputs: "dmabuf \(spec.name), resv held, buffer \(reason)",
      changes: victims.map { "calls invalidate_mappings of \(importerLabel($0))" },
      outcome: "\(victims.count) importer(s) notified",
      explanation:
        "The exporter moved the buffer, so the core tells every dynamic importer. Their sg tables now point at "
        + "memory the buffer no longer uses.",
      note: "renamed from dma_buf_move_notify/move_notify in ≈v7.1 (UNVERIFIED release)", attachment: index)
    for victim in victims {
      let old = attachments[victim].table
      attachments[victim].invalidatedTable = old
      attachments[victim].unmap()
      attachments[victim].needsRemap = true
      attachments[victim].invalidations += 1
      record(
        .importerDriver(attachments[victim].importer), invalidateCallback(attachments[victim].profile),
        inputs: "attachment of \(importerLabel(victim))",
        changes: [
          "stops DMA to the old \(attachments[victim].tablePlacement?.rawValue ?? "") copy",
          "dma_buf_unmap_attachment: \(old?.nents ?? 0) entr\(old?.nents == 1 ? "y" : "ies") dropped",
        ],
        outcome: "unmapped",
        explanation:
          "The importer stops using its mapping (it may finish in-flight work guarded by fences) and unmaps; it "
          + "maps again before its next use.",
        attachment: victim, sgVisible: 0)
    }
  }

  private func invalidateCallback(_ profile: DriverProfile) -> String {
    switch profile.name {
    case "amdgpu": return "amdgpu_dma_buf_move_notify (invalidate_mappings)"
    case "xe": return "xe_dma_buf_move_notify (invalidate_mappings)"
    case "mlx5": return "mlx5_ib_dmabuf_invalidate_cb (invalidate_mappings)"
    case "rdma-pinned": return "ib_umem_dmabuf_unsupported_move_notify"
    default: return "importer_ops->invalidate_mappings"
    }
  }

  private mutating func remapInvalidated() {
    for index in attachments.indices where attachments[index].needsRemap && attachments[index].error == nil {
      attachments[index].needsRemap = false
      record(
        .importerDriver(attachments[index].importer), "re-map before next use",
        inputs: "attachment of \(importerLabel(index)) (invalidated \(attachments[index].invalidations)x)",
        outcome: "calls dma_buf_map_attachment",
        explanation: "Its old mapping was invalidated, so the importer maps the buffer again at its new place.",
        attachment: index, sgVisible: 0)
      map(index)
    }
  }

  private mutating func teardown() {
    for index in attachments.indices where attachments[index].attached {
      let state = attachments[index]
      if state.mapped, let table = state.table {
        let unmapDetail: String
        if table.nents > 0 && table[0].isBusAddress {
          unmapDetail = "bus-address entries: nothing to unmap (dma_buf_free_sgt)"
        } else if table.isPageBacked {
          unmapDetail = "dma_unmap_sgtable (\(table.nents) DMA entries)"
        } else if state.device.usesIOMMU {
          unmapDetail = "IOVAs unmapped and freed (\(table.nents) entries)"
        } else {
          unmapDetail = "dma_unmap_resource is a no-op under dma-direct"
        }
        var changes = [unmapDetail, "sg table freed"]
        if state.pinnedOnMap {
          changes.append("unpin (pin-on-map)")
          pinCount = max(0, pinCount - 1)
        }
        record(
          .dmaBufCore, "dma_buf_unmap_attachment -> \(exporterUnmapFunction)",
          inputs: "attachment of \(importerLabel(index))", changes: changes,
          explanation: "The importer is done with the buffer; the exporter releases the DMA mappings it made.",
          attachment: index, sgVisible: 0)
        // Free the IOVAs but keep the table: the result reports what the importer used.
        for iova in attachments[index].iovas { attachments[index].device.domain.free(iova: iova) }
        attachments[index].iovas = []
        attachments[index].mapped = false
      }
      if state.pinnedByImporter {
        pinCount = max(0, pinCount - 1)
        record(
          .importerDriver(state.importer), "dma_buf_unpin", inputs: "attachment of \(importerLabel(index))",
          changes: ["pin released"], explanation: "The importer lets the buffer move again.", attachment: index)
      }
      if behaviour == .i915 { pinCount = max(0, pinCount - 1) }
      attachments[index].attached = false
      record(
        .dmaBufCore, "dma_buf_detach -> exporter detach", inputs: "attachment of \(importerLabel(index))",
        changes: ["attachment removed from dmabuf->attachments and freed"],
        explanation: "The attachment is removed under the reservation lock and the exporter's detach runs.",
        attachment: index)
      record(
        .importerDriver(state.importer), "dma_buf_put", inputs: "dmabuf \(spec.name)", changes: ["dma_buf refcount -1"],
        explanation: "The importer drops its reference.", attachment: index)
    }
    record(
      .dmaBufCore, "dma_buf_put (last reference) -> dma_buf_release -> exporter release",
      inputs: "dmabuf \(spec.name)", changes: ["dma_buf freed; the exporter's BO reference dropped"],
      explanation:
        "When the last file reference goes, the dma_buf is released and the exporter drops its buffer reference.")
  }

  // MARK: - Result

  func result() -> ShareSimulation {
    let results = attachments.map { state -> AttachmentResult in
      AttachmentResult(
        importer: state.importer, importerProfile: state.profile, isDynamic: state.profile.isDynamicImporter,
        allowPeer2peer: state.profile.isDynamicImporter && state.profile.allowPeer2peer, peer2peer: state.peer2peer,
        mapType: state.verdict?.mapType, distance: state.verdict?.distance,
        placement: state.tablePlacement ?? placement, error: state.error, failedFunction: state.failedFunction,
        sgTable: state.table, verdict: state.verdict, invalidations: state.invalidations,
        dmaMaskBits: state.device.dmaMaskBits, iommu: state.device.iommu)
    }
    var tradeoff: StructPageTradeoff?
    let deviceMemory: UInt64? = behaviour == .vfioPCI ? bar?.size : vramSize
    if let deviceMemory, deviceMemory > 0 {
      let row = StructPageCost.row(forDeviceMemory: deviceMemory)
      tradeoff = StructPageTradeoff(
        deviceMemory: deviceMemory, structPageRAM: row.structPageRAM, formula: row.formula,
        note: "ZONE_DEVICE struct pages for \(formatBytes(deviceMemory)) of device memory would cost "
          + "\(formatBytes(row.structPageRAM)) of RAM (64 bytes per 4 KiB page); dma_map_resource and the phys-vec "
          + "helper need none")
    }
    let backing: String
    switch behaviour {
    case .vfioPCI:
      backing = "MMIO range BAR\(bar?.index ?? 0) of \(request.exporter) +0x\(hex(spec.vramOffset ?? 0, width: 1))"
    case .systemMemory:
      backing = "system RAM pages"
    default:
      if initialBlocks.isEmpty {
        backing = "system RAM pages"
      } else {
        backing =
          "VRAM of \(request.exporter): "
          + initialBlocks.map { "0x\(hex($0.offset, width: 1))+\(formatBytes($0.size))" }.joined(separator: ", ")
          + (bar.map { " (BAR\($0.index) at 0x\(hex($0.address, width: 1)))" } ?? "")
      }
    }
    let buffer = SimBuffer(
      name: spec.name, size: spec.size, placementPreference: spec.preferredPlacement, backing: backing, spec: spec,
      vramSize: vramSize, visibleVRAMSize: visibleVRAM, bar: bar, initialBlocks: initialBlocks, seed: seed)
    return ShareSimulation(
      exporter: request.exporter, buffer: buffer, exporterProfile: exporterProfile, steps: steps, attachments: results,
      assumptions: assumptions, structPageTradeoff: tradeoff, kernelModel: DMABufSimulator.kernelModel,
      iommu: request.configuration.iommu)
  }
}
