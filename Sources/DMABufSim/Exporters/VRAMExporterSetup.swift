import P2PDMA
import PCITopology

/// What the GPU exporters (amdgpu, xe, i915) share: their VRAM/LMEM behind a BAR, where a
/// buffer starts, and how the export step and the result describe it.
enum VRAMExporterSetup {
  static var defaultBuffers: [BufferSpec] {
    [BufferSpec(name: "framebuffer-8MiB", size: DMABufSimulator.defaultBufferSize, preferredPlacement: .vram)]
  }

  /// Finds the VRAM BAR, the VRAM and visible sizes, and places the buffer: given offset, else
  /// the buddy model; system memory when it does not fit or (i915 on the root bus) there is no LMEM.
  static func setUp(_ run: inout SimulationRun, reportsSmallBAR: Bool, integratedHasNoVRAM: Bool) {
    let barIndex = run.exporterProfile.vramBAR ?? 0
    var vramBar = run.exporterFunction.bars.first { $0.index == barIndex && !$0.isIO }
    if vramBar == nil || vramBar?.address == 0 {
      run.assumptions.append(
        "BAR\(barIndex) of \(run.request.exporter) has no address in the input; 0x\(hex(DMABufSimulator.placeholderBARAddress, width: 1)) "
          + "is assumed")
      vramBar = BAR(index: barIndex, address: DMABufSimulator.placeholderBARAddress, size: vramBar?.size)
    }
    run.bar = vramBar
    let total: UInt64
    if let given = run.exporterFunction.extras.vramSize {
      total = given
    } else {
      total = run.exporterProfile.defaultVRAMSize ?? (8 << 30)
      run.assumptions.append(
        "VRAM size not in the input; \(formatBytes(total)) assumed (\(run.exporterProfile.name) default)")
    }
    run.vramSize = total
    let visible: UInt64
    if let given = run.exporterFunction.extras.visibleVRAMSize {
      visible = given
    } else if let barSize = vramBar?.size {
      visible = barSize
      run.assumptions.append("CPU-visible VRAM = BAR\(barIndex) size, \(formatBytes(barSize))")
    } else {
      visible = DMABufSimulator.defaultVisibleVRAM
      run.assumptions.append(
        "BAR\(barIndex) size unknown (hex dumps do not carry sizes); visible VRAM \(formatBytes(visible)) assumed")
    }
    run.visibleVRAM = min(visible, total)
    if reportsSmallBAR && visible < total {
      run.assumptions.append(
        "small BAR: at driver load amdgpu would print \"Detected VRAM RAM=\(total >> 20)M, BAR=\(visible >> 20)M\"; "
          + "only that window can be shared peer-to-peer (resizable BAR / Above 4G decoding would widen it)")
    }
    let integrated =
      integratedHasNoVRAM
      && run.topology.index(of: run.request.exporter).map { run.topology.upstreamBridge(of: $0) == nil } == true
    if integrated {
      run.assumptions.append("integrated Intel GPU (on the root bus): no LMEM, so the object lives in system memory")
      run.placement = run.ops.systemPlacement
    } else if run.spec.preferredPlacement == .vram && run.spec.size <= total {
      run.placement = .vram
      if let offset = run.spec.vramOffset, (offset & ~(simPageSize - 1)) + run.pageAligned(run.spec.size) <= total {
        run.blocks = VRAMBuddyAllocator.alignedDecomposition(
          offset: offset & ~(simPageSize - 1), size: run.pageAligned(run.spec.size))
      } else {
        if let offset = run.spec.vramOffset {
          run.assumptions.append(
            "vramOffset 0x\(hex(offset, width: 1)) + size lies beyond the \(formatBytes(total)) of VRAM; ignored")
        }
        var allocator = VRAMBuddyAllocator(limit: total, occupiedBySeed: run.seed)
        run.blocks = allocator.allocate(size: run.spec.size) ?? []
        run.assumptions.append(
          "VRAM offset chosen by the buddy model (seeded other BOs at the bottom, smallest fitting block first)")
      }
      if run.blocks.isEmpty {
        run.assumptions.append("the buffer does not fit in the modelled VRAM, so it starts in system memory")
        run.placement = run.ops.systemPlacement
      }
      run.initialBlocks = run.blocks
    } else {
      if run.spec.preferredPlacement == .vram {
        run.assumptions.append("the buffer is larger than VRAM, so it starts in system memory")
      }
      run.placement = run.ops.systemPlacement
    }
  }

  static func describePlacement(_ run: SimulationRun) -> String {
    switch run.placement {
    case .vram:
      let list = run.blocks.map { "0x\(hex($0.offset, width: 1))+\(formatBytes($0.size))" }.joined(separator: ", ")
      return "VRAM blocks [\(list)]"
    case .system, .gtt:
      return PageBackedExporter.describeSystemPlacement(run)
    }
  }

  static func backing(_ run: SimulationRun) -> String {
    if run.initialBlocks.isEmpty { return "system RAM pages" }
    return "VRAM of \(run.request.exporter): "
      + run.initialBlocks.map { "0x\(hex($0.offset, width: 1))+\(formatBytes($0.size))" }.joined(separator: ", ")
      + (run.bar.map { " (BAR\($0.index) at 0x\(hex($0.address, width: 1)))" } ?? "")
  }
}
