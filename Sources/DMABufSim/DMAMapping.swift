import P2PDMA
import PCITopology

/// The importer's `struct device` as the DMA API sees it (`attach->dev`): mask, segment limits
/// and, when an IOMMU translates, its own IOVA space.
final class DMADevice {
  let bdf: BDF
  /// Driver name used as the dmesg prefix (`mlx5_core 0000:3b:00.0: ...`).
  let driverName: String
  let dmaMaskBits: Int
  /// `dma_get_max_seg_size()`.
  let maxSegmentSize: UInt64
  /// `dma_get_seg_boundary()`: 4 GiB - 1 unless the driver changes it.
  let segmentBoundaryMask: UInt64
  let iommu: IOMMUMode
  var domain: IOVADomain
  /// Which DMA layer a translating IOMMU goes through on this machine's architecture.
  let layer: DMALayer
  /// True when `dma_map_resource` is a wrapper of `dma_map_phys(DMA_ATTR_MMIO)` (the dma_map_phys
  /// series, after v6.17, release UNCONFIRMED); false on older releases, whose trace names
  /// `dma_direct_map_resource` / `iommu_dma_map_resource`.
  let mapsResourceThroughMapPhys: Bool

  init(
    bdf: BDF, driverName: String, dmaMaskBits: Int, maxSegmentSize: UInt64, segmentBoundaryMask: UInt64,
    iommu: IOMMUMode, domain: IOVADomain, layer: DMALayer = .iommuDMA, mapsResourceThroughMapPhys: Bool = true
  ) {
    self.layer = layer
    self.mapsResourceThroughMapPhys = mapsResourceThroughMapPhys
    self.bdf = bdf
    self.driverName = driverName
    self.dmaMaskBits = dmaMaskBits
    self.maxSegmentSize = maxSegmentSize
    self.segmentBoundaryMask = segmentBoundaryMask
    self.iommu = iommu
    self.domain = domain
  }

  /// `DMA_BIT_MASK(bits)`.
  var dmaMask: UInt64 {
    // Scenario files may carry nonsense widths; clamp instead of trapping on the shift.
    let bits = min(64, max(0, dmaMaskBits))
    return bits == 64 ? UInt64.max : (UInt64(1) << UInt64(bits)) - 1
  }

  /// True when `dev->dma_iommu` would route mappings through dma-iommu (translating domain).
  var usesIOMMU: Bool { iommu.translates }

  /// The name of a translating mapping step: dma-iommu's on x86/arm64/s390, the powerpc
  /// `dma_iommu_ops` path on POWER.
  func translatedName(_ dmaIOMMU: String, powerpc: String) -> String {
    layer == .powerpcIOMMU ? powerpc : dmaIOMMU
  }

  /// `dma_direct_map_phys(DMA_ATTR_MMIO)` or, before the dma_map_phys series, `dma_direct_map_resource`.
  var directResourceMapName: String {
    mapsResourceThroughMapPhys ? "dma_direct_map_phys(DMA_ATTR_MMIO)" : "dma_direct_map_resource"
  }

  /// `iommu_dma_map_phys(DMA_ATTR_MMIO)` or, before the dma_map_phys series, `iommu_dma_map_resource`.
  var iommuResourceMapName: String {
    mapsResourceThroughMapPhys ? "iommu_dma_map_phys(DMA_ATTR_MMIO)" : "iommu_dma_map_resource"
  }

  /// `dev_printk` prefix.
  var logPrefix: String { "\(driverName) \(bdf): " }

  /// `dma_capable(dev, addr, size)` with no bus limit (x86): the last byte must be under the mask.
  func isCapable(address: UInt64, size: UInt64) -> Bool {
    let (end, overflow) = address.addingReportingOverflow(size &- 1)
    return !overflow && end <= dmaMask
  }

  /// The line dma-direct prints when a mapping is above the mask.
  func overflowMessage(address: UInt64, size: UInt64) -> String {
    logPrefix
      + "DMA addr 0x\(hex(address, width: 16))+\(size) overflow (mask \(String(dmaMask, radix: 16)), bus limit 0)."
  }
}

/// The DMA layer under `dma_map_*` when an IOMMU translates. `CONFIG_IOMMU_DMA` (dma-iommu,
/// drivers/iommu/dma-iommu.c) is built only for ARM64, x86 and s390; POWER has its own IOMMU ops
/// (arch/powerpc/kernel/dma-iommu.c and iommu.c, TCE tables), which this simulator does not
/// model in detail.
enum DMALayer: Sendable, Equatable {
  case iommuDMA
  case powerpcIOMMU

  /// The layer for a machine: POWER when the input says so or an IBM (1014) bridge (PHB root
  /// port, host bridge) is on it.
  static func of(_ topology: Topology) -> DMALayer {
    if let vendor = topology.platform.cpuVendor { return vendor == .power ? .powerpcIOMMU : .iommuDMA }
    let ibmHostBridge = topology.functions.contains { $0.vendorID == 0x1014 && $0.baseClass == 0x06 }
    return ibmHostBridge ? .powerpcIOMMU : .iommuDMA
  }

  /// True when the x86 IOAPIC/MSI doorbell window 0xfee00000-0xfeefffff is an IOMMU reserved
  /// region (intel/amd IOMMU drivers); unknown CPUs are taken as x86.
  static func reservesX86MSIWindow(_ topology: Topology) -> Bool {
    let x86: Set<CPUVendor> = [.amd, .intel, .hygon, .zhaoxin]
    if let vendor = topology.platform.cpuVendor { return x86.contains(vendor) }
    return of(topology) == .iommuDMA
  }
}

/// A failed DMA-API call, with what the kernel printed.
struct DMAMappingFailure: Error {
  /// The errno the caller ends up returning (`-ENOMEM` from `dma_mapping_error()`, ...).
  var errno: String
  var dmesg: [String]
  var explanation: String
}

/// A successful mapping: the table plus what happened on the way.
struct DMAMappingResult {
  var table: SGTable
  /// Kernel functions and facts worth a line in the trace (IOVA allocations, merging).
  var notes: [String]
  var dmesg: [String]
  /// IOVA allocations made (start addresses), freed again on unmap.
  var iovas: [UInt64] = []
}

/// The DMA-mapping arithmetic of kernel/dma and drivers/iommu/dma-iommu.c, over our model.
enum DMAMapper {
  /// `AMDGPU_MAX_SG_SEGMENT_SIZE` / xe's `SZ_2G`: VRAM entries are capped at 2 GiB.
  static let vramSegmentCap: UInt64 = 2 << 30
  /// The phys-vec helper's largest entry in mainline: `UINT_MAX` (4 GiB - 1; issue 10 audit of
  /// dma-buf-mapping.c). kernel-model §2.8 read `ALIGN_DOWN(UINT_MAX, PAGE_SIZE)` in an earlier
  /// tree; a 2026 fix moves to 2 GiB (PENDING). Only buffers over 4 GiB see the difference.
  static let physVecSegmentCap: UInt64 = 0xffff_ffff

  /// `amdgpu_vram_mgr_alloc_sgt()` / `xe_ttm_vram_mgr_alloc_sgt()`: one `dma_map_resource()`
  /// per buddy block piece (at most 2 GiB), NULL page, `phys = BAR CPU start + offset`.
  static func mapVRAM(
    blocks: [VRAMBlock], exporter: BDF, bar: Int, barCPUStart: UInt64, device: DMADevice
  ) -> Result<DMAMappingResult, DMAMappingFailure> {
    var entries: [SGEntry] = []
    var notes: [String] = []
    var dmesg: [String] = []
    var iovas: [UInt64] = []
    for block in blocks {
      var offset = block.offset
      let end = block.offset + block.size
      while offset < end {
        let size = min(vramSegmentCap, end - offset)
        let phys = barCPUStart &+ offset
        switch mapResource(phys: phys, size: size, device: device) {
        case .failure(let failure):
          for iova in iovas { device.domain.free(iova: iova) }
          return .failure(
            DMAMappingFailure(
              errno: failure.errno, dmesg: dmesg + failure.dmesg,
              explanation: failure.explanation
                + " The entries mapped so far are unmapped again (dma_unmap_resource) and the map fails."))
        case .success(let mapped):
          if let notice = mapped.notice { dmesg.append(device.logPrefix + notice) }
          if let iova = mapped.iovaStart { iovas.append(iova) }
          notes.append(mapped.note)
          let target = SGTarget.bar(device: exporter, bar: bar, offset: offset)
          entries.append(
            SGEntry(
              dmaAddress: mapped.address, dmaLength: size, pagePFN: nil, isBusAddress: false,
              addressKind: device.usesIOMMU ? .iova : .cpuPhysical,
              target: device.usesIOMMU ? .iova(target) : target, cpuEntries: entries.count..<(entries.count + 1)))
        }
        offset += size
      }
    }
    return .success(
      DMAMappingResult(
        table: SGTable(explicit: entries, origNents: entries.count), notes: notes, dmesg: dmesg, iovas: iovas))
  }

  struct MappedResource {
    var address: UInt64
    var note: String
    var notice: String?
    /// The IOVA allocation behind `address`, under an IOMMU.
    var iovaStart: UInt64? = nil
  }

  /// `dma_map_resource(dev, phys, size, dir, attrs)`: dma-direct returns `phys` after the mask
  /// check; dma-iommu allocates an IOVA below the mask and maps it onto `phys`
  /// Mainline: `dma_map_resource` is a wrapper of `dma_map_phys(..., DMA_ATTR_MMIO)`
  /// (`dma_direct_map_phys` / `iommu_dma_map_phys`); before the dma_map_phys series it was
  /// `dma_direct_map_resource` / `iommu_dma_map_resource`, with the same addresses.
  static func mapResource(phys: UInt64, size: UInt64, device: DMADevice) -> Result<MappedResource, DMAMappingFailure> {
    if device.usesIOMMU {
      let granuleOffset = phys & (simPageSize - 1)
      let (iova, notice) = device.domain.allocate(size: size + granuleOffset, dmaMask: device.dmaMask)
      guard let iova else {
        return .failure(
          DMAMappingFailure(
            errno: "-ENOMEM", dmesg: notice.map { [device.logPrefix + $0] } ?? [],
            explanation: "The importer's IOVA space below its DMA mask has no room for \(size) bytes."))
      }
      let address = iova + granuleOffset
      return .success(
        MappedResource(
          address: address,
          note:
            device.translatedName(
              device.iommuResourceMapName,
              powerpc: "powerpc dma_iommu_ops (TCE; generic IOVA model, UNCONFIRMED)")
            + ": IOVA 0x\(hex(address, width: 1)) -> phys 0x\(hex(phys, width: 1)) (\(size) bytes, IOMMU_MMIO)",
          notice: notice, iovaStart: iova))
    }
    guard device.isCapable(address: phys, size: size) else {
      return .failure(
        DMAMappingFailure(
          errno: "-ENOMEM", dmesg: [device.overflowMessage(address: phys, size: size)],
          explanation:
            "\(device.directResourceMapName) hands out the physical address unchanged, and 0x\(hex(phys, width: 1)) + \(size) "
            + "does not fit under the importer's \(device.dmaMaskBits)-bit DMA mask, so it returns DMA_MAPPING_ERROR "
            + "(with a WARN)."))
    }
    return .success(
      MappedResource(
        address: phys,
        note:
          "\(device.directResourceMapName): 0x\(hex(phys, width: 1)) unchanged (\(size) bytes, under the \(device.dmaMaskBits)-bit mask)",
        notice: nil))
  }

  /// `dma_buf_phys_vec_to_sgt()` (drivers/dma-buf/dma-buf-mapping.c, ≈v6.19, UNVERIFIED release)
  /// for one BAR range: bus addresses for BUS_ADDR, one IOVA range for THRU_HOST_BRIDGE under a
  /// translating IOMMU, `dma_map_phys` per range otherwise; entries split at `UINT_MAX`,
  /// `orig_nents = 0`, and no entry flagged `SG_DMA_BUS_ADDRESS`.
  static func physVecToSGT(
    provider: BDF, bar: BAR, rangeOffset: UInt64, size: UInt64, mapType: MapType, device: DMADevice
  ) -> Result<DMAMappingResult, DMAMappingFailure> {
    let paddr = bar.address &+ rangeOffset
    var entries: [SGEntry] = []
    var notes: [String] = []
    var dmesg: [String] = []
    var iovas: [UInt64] = []
    func chunks(_ body: (UInt64, UInt64) -> Void) {
      var done: UInt64 = 0
      while done < size {
        let length = min(physVecSegmentCap, size - done)
        body(done, length)
        done += length
      }
    }
    switch mapType {
    case .busAddress:
      chunks { done, length in
        let busAddress = UInt64(bitPattern: Int64(bitPattern: paddr &+ done) &+ bar.busOffset)
        entries.append(
          SGEntry(
            dmaAddress: busAddress, dmaLength: length, pagePFN: nil, isBusAddress: false, addressKind: .pciBus,
            target: .bar(device: provider, bar: bar.index, offset: rangeOffset + done), cpuEntries: 0..<0))
      }
      notes.append(
        "pci_p2pdma_bus_addr_map: bus address = CPU 0x\(hex(paddr, width: 1)) + bus_offset \(bar.busOffset) "
          + "= 0x\(hex(UInt64(bitPattern: Int64(bitPattern: paddr) &+ bar.busOffset), width: 1)); no IOVA; "
          + "SG_DMA_BUS_ADDRESS is not set (the helper never marks it; dma_buf_free_sgt knows from the map type)"
      )
    case .thruHostBridge where device.usesIOMMU:
      let (iova, notice) = device.domain.allocate(size: size + (paddr & (simPageSize - 1)), dmaMask: device.dmaMask)
      if let notice { dmesg.append(device.logPrefix + notice) }
      guard let iova else {
        return .failure(
          DMAMappingFailure(
            errno: "-ENOMEM", dmesg: dmesg,
            explanation: "dma_iova_try_alloc found no room for \(size) bytes below the importer's DMA mask."))
      }
      iovas.append(iova)
      let base = iova + (paddr & (simPageSize - 1))
      chunks { done, length in
        entries.append(
          SGEntry(
            dmaAddress: base + done, dmaLength: length, pagePFN: nil, isBusAddress: false, addressKind: .iova,
            target: .iova(.bar(device: provider, bar: bar.index, offset: rangeOffset + done)), cpuEntries: 0..<0))
      }
      notes.append(
        "dma_iova_try_alloc + dma_iova_link(DMA_ATTR_MMIO): one IOVA range 0x\(hex(base, width: 1)) for \(size) bytes, "
          + "then dma_iova_sync")
    case .thruHostBridge:
      guard device.isCapable(address: paddr, size: size) else {
        return .failure(
          DMAMappingFailure(
            errno: "-EIO", dmesg: [device.overflowMessage(address: paddr, size: size)],
            explanation:
              "dma_map_phys(DMA_ATTR_MMIO) under dma-direct returns the physical address 0x\(hex(paddr, width: 1)), "
              + "which is above the importer's \(device.dmaMaskBits)-bit DMA mask."))
      }
      chunks { done, length in
        entries.append(
          SGEntry(
            dmaAddress: paddr + done, dmaLength: length, pagePFN: nil, isBusAddress: false, addressKind: .cpuPhysical,
            target: .bar(device: provider, bar: bar.index, offset: rangeOffset + done), cpuEntries: 0..<0))
      }
      notes.append(
        "dma_map_phys(DMA_ATTR_MMIO) under dma-direct: the CPU physical address 0x\(hex(paddr, width: 1)) unchanged")
    default:
      return .failure(
        DMAMappingFailure(
          errno: "-EINVAL", dmesg: [],
          explanation:
            "pci_p2pdma_map_type() said \(mapType.kernelName), so dma_buf_phys_vec_to_sgt() refuses the mapping."))
    }
    return .success(
      DMAMappingResult(table: SGTable(explicit: entries, origNents: 0), notes: notes, dmesg: dmesg, iovas: iovas))
  }

  /// `dma_map_sgtable()` of page-backed entries: dma-direct keeps one DMA entry per CPU entry at
  /// the physical address; dma-iommu (`iommu_dma_map_sg`) lays all entries out in one IOVA
  /// allocation and `__finalise_sg()` merges them.
  static func mapPages(_ runs: PageRuns, device: DMADevice) -> Result<DMAMappingResult, DMAMappingFailure> {
    if !device.usesIOMMU {
      for index in 0..<runs.count {
        let phys = runs.firstPFN[index] << simPageShift
        if !device.isCapable(address: phys, size: runs.length(index)) {
          return .failure(
            DMAMappingFailure(
              errno: "-EIO", dmesg: [device.overflowMessage(address: phys, size: runs.length(index))],
              explanation:
                "dma_direct_map_sg: page 0x\(hex(phys, width: 1)) is above the importer's \(device.dmaMaskBits)-bit "
                + "DMA mask. A real kernel would bounce it through swiotlb; this simulator does not model swiotlb "
                + "and reports the overflow instead."))
        }
      }
      return .success(
        DMAMappingResult(
          table: SGTable(directPages: runs),
          notes: [
            "dma_direct_map_sg: \(runs.count) entries, each DMA address = its CPU physical address (nents = orig_nents)"
          ],
          dmesg: []))
    }
    let granuleMask = simPageSize - 1
    let boundary = device.segmentBoundaryMask
    // First pass (iommu_dma_map_sg): total IOVA length, padding a segment when the next one
    // would otherwise straddle a segment boundary. Pads are rare, so keep them sparse.
    var iovaLength: UInt64 = 0
    // (entry index, padding after it), in index order.
    var pads: [(index: Int, length: UInt64)] = []
    for index in 0..<runs.count {
      let length = (runs.length(index) + granuleMask) & ~granuleMask
      let padLength = (boundary &- iovaLength &+ 1) & boundary
      if padLength != 0 && padLength < length - 1 && index > 0 {
        pads.append((index - 1, padLength))
        iovaLength += padLength
      }
      iovaLength += length
    }
    let (iova, notice) = device.domain.allocate(size: iovaLength, dmaMask: device.dmaMask)
    var dmesg: [String] = []
    if let notice { dmesg.append(device.logPrefix + notice) }
    guard let base = iova else {
      return .failure(
        DMAMappingFailure(
          errno: "-ENOMEM", dmesg: dmesg,
          explanation: device.translatedName("iommu_dma_map_sg", powerpc: "ppc_iommu_map_sg")
            + " could not allocate \(iovaLength) bytes of IOVA below the importer's DMA mask.")
      )
    }
    // Second pass (__finalise_sg): merge an entry into the current output segment when it starts
    // on a granule, does not start on a segment boundary and keeps the segment within
    // max_seg_size.
    var merged = MergedSegments()
    merged.dmaAddress.reserveCapacity(min(runs.count, Int(iovaLength / max(device.maxSegmentSize, simPageSize)) + 16))
    var currentLength: UInt64 = 0
    var dmaAddress = base
    let maxLength = device.maxSegmentSize
    var nextPad = 0
    for index in 0..<runs.count {
      let length = runs.length(index)
      var iovaSpan = length
      if nextPad < pads.count && pads[nextPad].index == index {
        iovaSpan += pads[nextPad].length
        nextPad += 1
      }
      if currentLength != 0 && (dmaAddress & boundary) != 0 && maxLength - currentLength >= length {
        currentLength += length
        merged.dmaLength[merged.dmaLength.count - 1] = currentLength
      } else {
        merged.dmaAddress.append(dmaAddress)
        merged.dmaLength.append(length)
        merged.firstInput.append(UInt32(index))
        currentLength = length
      }
      dmaAddress += iovaSpan
      if length < iovaSpan { currentLength = 0 }
    }
    let table = SGTable(iommuPages: runs, merged: merged)
    let notes = [
      device.translatedName("iommu_dma_map_sg", powerpc: "ppc_iommu_map_sg (TCE; generic IOVA model, UNCONFIRMED)")
        + ": one IOVA allocation of \(iovaLength) bytes at 0x\(hex(base, width: 1)) for \(runs.count) CPU entries",
      device.translatedName("__finalise_sg", powerpc: "merging as __finalise_sg would (UNCONFIRMED for powerpc)")
        + ": merged into \(table.nents) DMA entries (max_seg_size \(maxLength), seg boundary 0x\(hex(boundary, width: 1)))",
    ]
    return .success(DMAMappingResult(table: table, notes: notes, dmesg: dmesg, iovas: [base]))
  }
}
