import PCITopology

/// The page size the simulator models everywhere (`PAGE_SIZE` on x86-64 and most arm64 builds).
public let simPageSize: UInt64 = 4096
/// log2 of `simPageSize` (`PAGE_SHIFT`).
public let simPageShift: UInt64 = 12

/// What the memory behind an sg entry is.
public indirect enum SGTarget: Sendable, Equatable, CustomStringConvertible {
  /// A window of a device BAR: `offset` bytes into BAR `bar` of `device` (VRAM or MMIO).
  case bar(device: BDF, bar: Int, offset: UInt64)
  /// Ordinary RAM: `pages` 4 KiB pages; the first one is `firstPFN`. An entry merged by the
  /// IOMMU can cover several physically separate runs; `firstPFN` is then the first run's.
  case systemRAM(firstPFN: UInt64, pages: UInt64)
  /// An IOVA the importer's IOMMU translates to `backing`.
  case iova(SGTarget)

  /// The memory itself, looking through an IOVA.
  public var backing: SGTarget {
    if case .iova(let inner) = self { return inner.backing }
    return self
  }

  /// `BAR0 of 0000:1a:00.0 +0x200000` or `system RAM`, the form the JSON `target` field uses.
  public var backingDescription: String {
    switch backing {
    case .bar(let device, let bar, let offset): return "BAR\(bar) of \(device) +0x\(String(offset, radix: 16))"
    case .systemRAM: return "system RAM"
    case .iova: return "IOVA"  // unreachable: `backing` strips IOVAs
    }
  }

  public var description: String {
    switch self {
    case .iova(let inner): return "IOVA -> \(inner.description)"
    case .systemRAM(let pfn, let pages):
      return "system RAM pfn 0x\(String(pfn, radix: 16)) (\(pages) page\(pages == 1 ? "" : "s"))"
    case .bar: return backingDescription
    }
  }
}

/// How the importer must read `dmaAddress`.
public enum DMAAddressKind: String, Sendable {
  /// CPU physical address (dma-direct: no IOMMU, or passthrough).
  case cpuPhysical = "cpu-physical"
  /// An IOVA in the importer's IOMMU domain.
  case iova
  /// A PCI bus address routed by a switch (`SG_DMA_BUS_ADDRESS`); never translated.
  case pciBus = "pci-bus"
}

/// One DMA-side entry of an sg table, as `sg_dma_address()`/`sg_dma_len()` show it to the importer.
public struct SGEntry: Sendable, Equatable {
  public var dmaAddress: UInt64
  public var dmaLength: UInt64
  /// PFN of the page behind the (first) CPU entry; nil when the page link is NULL (VRAM, MMIO).
  public var pagePFN: UInt64?
  /// `SG_DMA_BUS_ADDRESS`: the address is a PCI bus address and must not be unmapped.
  public var isBusAddress: Bool
  public var addressKind: DMAAddressKind
  public var target: SGTarget
  /// The CPU entries (`orig_nents` side) this DMA entry covers; empty for phys-vec tables.
  public var cpuEntries: Range<Int>

  public init(
    dmaAddress: UInt64, dmaLength: UInt64, pagePFN: UInt64?, isBusAddress: Bool,
    addressKind: DMAAddressKind, target: SGTarget, cpuEntries: Range<Int>
  ) {
    self.dmaAddress = dmaAddress
    self.dmaLength = dmaLength
    self.pagePFN = pagePFN
    self.isBusAddress = isBusAddress
    self.addressKind = addressKind
    self.target = target
    self.cpuEntries = cpuEntries
  }
}

/// One CPU-side entry (`for_each_sgtable_sg`): page, offset 0 and length.
public struct SGCPUEntry: Sendable, Equatable {
  /// nil for NULL-page entries (VRAM exports: `sg_set_page(sg, NULL, size, 0)`).
  public var pagePFN: UInt64?
  public var length: UInt64
}

/// Physically contiguous runs of 4 KiB pages, one per CPU sg entry (already coalesced the way
/// `sg_alloc_table_from_pages_segment()` does and split at its maximum segment). Stored as two
/// flat arrays so a 16 GiB buffer of scattered pages (4,194,304 runs) costs 12 bytes a run.
public struct PageRuns: Sendable, Equatable {
  public private(set) var firstPFN: [UInt64]
  public private(set) var pageCount: [UInt32]
  public private(set) var totalPages: UInt64

  public init() {
    firstPFN = []
    pageCount = []
    totalPages = 0
  }

  public init(runs: [(pfn: UInt64, pages: UInt32)]) {
    self.init()
    for run in runs { append(pfn: run.pfn, pages: run.pages) }
  }

  public var count: Int { firstPFN.count }

  public mutating func reserveCapacity(_ capacity: Int) {
    firstPFN.reserveCapacity(capacity)
    pageCount.reserveCapacity(capacity)
  }

  public mutating func append(pfn: UInt64, pages: UInt32) {
    firstPFN.append(pfn)
    pageCount.append(pages)
    totalPages += UInt64(pages)
  }

  /// The same pages as one run per page (udmabuf's table).
  func splitIntoPages() -> PageRuns {
    // Already one page per run (the scattered layout): share the storage instead of copying.
    if totalPages == UInt64(count) { return self }
    var pages = PageRuns()
    pages.reserveCapacity(Int(totalPages))
    for index in 0..<count {
      for page in 0..<UInt64(pageCount[index]) { pages.append(pfn: firstPFN[index] + page, pages: 1) }
    }
    return pages
  }

  /// Byte length of run `index`.
  public func length(_ index: Int) -> UInt64 { UInt64(pageCount[index]) << simPageShift }
}

/// The DMA side of a page-backed table after `iommu_dma_map_sg()` + `__finalise_sg()`: output
/// segment k starts at `dmaAddress[k]`, is `dmaLength[k]` long and absorbs CPU entries
/// `firstInput[k] ..< firstInput[k+1]`.
struct MergedSegments: Sendable, Equatable {
  var dmaAddress: [UInt64] = []
  var dmaLength: [UInt64] = []
  var firstInput: [UInt32] = []
}

/// An sg table as the importer receives it. Large page-backed tables are stored as page runs
/// plus (under an IOMMU) the merged segments, and entries are computed on demand, so random
/// access is O(1) and memory stays proportional to the number of runs.
public struct SGTable: Sendable, Equatable {
  enum Storage: Sendable, Equatable {
    /// Few entries built one by one (VRAM via `dma_map_resource`, phys-vec helper tables).
    case explicit([SGEntry])
    /// dma-direct `dma_map_sg`: one DMA entry per CPU entry, address = CPU physical address.
    case pagesDirect(PageRuns)
    /// dma-iommu `dma_map_sg`: merged IOVA segments over the runs.
    case pagesIOMMU(PageRuns, MergedSegments)
  }

  let storage: Storage
  /// DMA entries (`sgt->nents`), what `for_each_sgtable_dma_sg` visits.
  public let nents: Int
  /// CPU entries (`sgt->orig_nents`), what `for_each_sgtable_sg` visits; 0 for phys-vec tables.
  public let origNents: Int

  init(explicit entries: [SGEntry], origNents: Int) {
    storage = .explicit(entries)
    nents = entries.count
    self.origNents = origNents
  }

  init(directPages runs: PageRuns) {
    storage = .pagesDirect(runs)
    nents = runs.count
    origNents = runs.count
  }

  init(iommuPages runs: PageRuns, merged: MergedSegments) {
    storage = .pagesIOMMU(runs, merged)
    nents = merged.dmaAddress.count
    origNents = runs.count
  }

  /// Same as `nents`: the number of entries an importer walks.
  public var count: Int { nents }

  /// Sum of the DMA lengths.
  public var totalDMALength: UInt64 {
    switch storage {
    case .explicit(let entries): return entries.reduce(0) { $0 + $1.dmaLength }
    case .pagesDirect(let runs): return runs.totalPages << simPageShift
    case .pagesIOMMU(_, let merged): return merged.dmaLength.reduce(0, +)
    }
  }

  /// True when the entries point at system RAM pages (page-backed table).
  public var isPageBacked: Bool {
    if case .explicit = storage { return false }
    return true
  }

  /// DMA entry `index` (0 ..< nents).
  public subscript(index: Int) -> SGEntry {
    switch storage {
    case .explicit(let entries):
      return entries[index]
    case .pagesDirect(let runs):
      let pfn = runs.firstPFN[index]
      return SGEntry(
        dmaAddress: pfn << simPageShift, dmaLength: runs.length(index), pagePFN: pfn, isBusAddress: false,
        addressKind: .cpuPhysical, target: .systemRAM(firstPFN: pfn, pages: UInt64(runs.pageCount[index])),
        cpuEntries: index..<(index + 1))
    case .pagesIOMMU(let runs, let merged):
      let first = Int(merged.firstInput[index])
      let end = index + 1 < merged.firstInput.count ? Int(merged.firstInput[index + 1]) : runs.count
      let pfn = runs.firstPFN[first]
      let length = merged.dmaLength[index]
      return SGEntry(
        dmaAddress: merged.dmaAddress[index], dmaLength: length, pagePFN: pfn, isBusAddress: false,
        addressKind: .iova, target: .iova(.systemRAM(firstPFN: pfn, pages: length >> simPageShift)),
        cpuEntries: first..<end)
    }
  }

  /// CPU entry `index` (0 ..< origNents).
  public func cpuEntry(_ index: Int) -> SGCPUEntry {
    switch storage {
    case .explicit(let entries):
      return SGCPUEntry(pagePFN: entries[index].pagePFN, length: entries[index].dmaLength)
    case .pagesDirect(let runs), .pagesIOMMU(let runs, _):
      return SGCPUEntry(pagePFN: runs.firstPFN[index], length: runs.length(index))
    }
  }

  /// All DMA entries (use only for small tables; prefer the subscript for huge ones).
  public var entries: [SGEntry] { (0..<nents).map { self[$0] } }
}
