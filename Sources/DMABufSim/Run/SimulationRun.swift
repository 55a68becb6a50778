import P2PDMA
import PCITopology

/// The state of one simulation run; `DMABufSimulator.simulate` creates it, `execute()` (the
/// dma-buf core sequence, SimulationRun+Core.swift) plays it, `result()` reads it out.
/// Setup of the importers' devices lives in SimulationRun+Setup.swift, step recording in
/// SimulationRun+Recording.swift, exporter behaviour in Exporters/.
struct SimulationRun {
  let topology: Topology
  let request: ShareRequest
  let engine: P2PEngine
  let exporterFunction: PCIFunction
  let exporterIndex: Int
  let exporterProfile: DriverProfile
  let opsTable: DMABufOpsTable
  /// The exporter's callbacks (`dma_buf_ops`).
  let ops: any DMABufOps
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
    let opsTable: DMABufOpsTable
    if let exporter = profile.exporter {
      opsTable = exporter
    } else {
      opsTable = .systemMemory
      assumptions.append(
        "\(profile.name) does not export dma-bufs in this model; the buffer is treated as a udmabuf/system-heap buffer "
          + "in system RAM")
    }
    self.exporterProfile = profile
    self.opsTable = opsTable
    ops = opsTable.ops

    // The buffer.
    let listed = exporterFunction.extras.buffers
    let available =
      listed.isEmpty ? ops.defaultBuffers(for: exporterFunction) : listed
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
    ops.setUpMemory(&self)
    if let required = ops.requiredChange, !request.configuration.kernel.release.has(required.change) {
      let entry = required.change.entry
      exportError = (
        unavailable(required.change, what: required.what), DMABufSimulator.firstFunction(ops.exportFunction(self)),
        "\(required.what) arrived in \(entry.landedIn.series) (\(entry.confirmationLabel)); kernel "
          + "\(request.configuration.kernel.release.series) cannot export this buffer"
      )
    }
    if !request.configuration.kernel.release.isMainline {
      self.assumptions.append("kernel: " + request.configuration.kernel.headerLine)
      self.assumptions += request.configuration.kernel.notes
    }
    if let bar, bar.busOffset != 0 {
      self.assumptions.append("BAR\(bar.index) bus offset \(bar.busOffset): PCI bus address = CPU address + offset")
    }
    try setUpAttachments()
  }

}

extension SimulationRun {
  // MARK: - Result

  func result() -> ShareSimulation {
    let results = attachments.map { state -> AttachmentResult in
      AttachmentResult(
        importer: state.importer, importerProfile: state.profile, isDynamic: state.isDynamic,
        allowPeer2peer: state.allowPeer2peer, peer2peer: state.peer2peer,
        mapType: state.verdict?.mapType, distance: state.verdict?.distance,
        placement: state.tablePlacement ?? placement, error: state.error, failedFunction: state.failedFunction,
        sgTable: state.table, verdict: state.verdict, invalidations: state.invalidations,
        dmaMaskBits: state.device.dmaMaskBits, iommu: state.device.iommu)
    }
    var tradeoff: StructPageTradeoff?
    let deviceMemory = ops.deviceMemory(self)
    if let deviceMemory, deviceMemory > 0 {
      let row = StructPageCost.row(forDeviceMemory: deviceMemory)
      tradeoff = StructPageTradeoff(
        deviceMemory: deviceMemory, structPageRAM: row.structPageRAM, formula: row.formula,
        note: "ZONE_DEVICE struct pages for \(formatBytes(deviceMemory)) of device memory would cost "
          + "\(formatBytes(row.structPageRAM)) of RAM (64 bytes per 4 KiB page); dma_map_resource and the phys-vec "
          + "helper need none")
    }
    let backing = ops.backing(self)
    let buffer = SimBuffer(
      name: spec.name, size: spec.size, placementPreference: spec.preferredPlacement, backing: backing, spec: spec,
      vramSize: vramSize, visibleVRAMSize: visibleVRAM, bar: bar, initialBlocks: initialBlocks, seed: seed)
    return ShareSimulation(
      exporter: request.exporter, buffer: buffer, exporterProfile: exporterProfile, steps: steps, attachments: results,
      assumptions: assumptions, structPageTradeoff: tradeoff,
      kernelModel: kernel.release.isMainline ? DMABufSimulator.kernelModel : kernel.headerLine, kernel: kernel,
      iommu: request.configuration.iommu)
  }
}
