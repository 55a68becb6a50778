import PCITopology

/// SplitMix64, a tiny well-known PRNG, so that "random" page and block layouts are the same on
/// every run and every machine (Swift's own generators are not seedable). Internal, so it never
/// clashes with another module's generator of the same algorithm.
struct LayoutRandom: RandomNumberGenerator, Sendable {
  private var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9e37_79b9_7f4a_7c15
    var mixed = state
    mixed = (mixed ^ (mixed >> 30)) &* 0xbf58_476d_1ce4_e5b9
    mixed = (mixed ^ (mixed >> 27)) &* 0x94d0_49bb_1331_11eb
    return mixed ^ (mixed >> 31)
  }
}

/// The documented seed rule: FNV-1a (64-bit) of `"<exporter BDF>/<buffer name>"`. The same
/// exporter and buffer always get the same VRAM blocks and system pages.
public func simulationSeed(exporter: BDF, bufferName: String) -> UInt64 {
  var hash: UInt64 = 0xcbf2_9ce4_8422_2325
  for byte in "\(exporter)/\(bufferName)".utf8 {
    hash ^= UInt64(byte)
    hash &*= 0x0000_0100_0000_01b3
  }
  return hash
}

/// Smallest power of two >= value (value >= 1).
func roundUpPowerOfTwo(_ value: UInt64) -> UInt64 {
  value <= 1 ? 1 : 1 << (64 - UInt64((value - 1).leadingZeroBitCount))
}

/// One buddy block of VRAM: `size` is a power of two and `offset` a multiple of it.
public struct VRAMBlock: Sendable, Equatable {
  public var offset: UInt64
  public var size: UInt64
  public init(offset: UInt64, size: UInt64) {
    self.offset = offset
    self.size = size
  }
}

/// A small model of `drm_buddy` as amdgpu's and xe's VRAM managers use it.
///
/// Free memory is kept as naturally aligned power-of-two blocks. An allocation follows the loop
/// of `drm_buddy_alloc_blocks()`: take the largest order that fits the remaining size, fall back
/// to smaller orders when no block that big is free, and split bigger blocks in halves.
/// Simplification (documented, UNVERIFIED against drm_buddy's free-list order): among free
/// blocks we pick the smallest order that is big enough, lowest offset first.
public struct VRAMBuddyAllocator: Sendable {
  public private(set) var free: [VRAMBlock]
  public let limit: UInt64
  public static let minimumBlock: UInt64 = simPageSize

  /// A fresh allocator over `[0, limit)`.
  public init(limit: UInt64) {
    self.limit = limit
    free = VRAMBuddyAllocator.alignedDecomposition(offset: 0, size: limit & ~(simPageSize - 1))
  }

  /// An allocator over `[0, limit)` where `seed` decides a few "other BOs" that already live at
  /// the bottom of VRAM (a desktop, a ring buffer...), so the shared buffer does not start at 0.
  /// Rule: 12 blocks of 64 KiB ... 8 MiB are allocated, then every other one is freed again.
  public init(limit: UInt64, occupiedBySeed seed: UInt64) {
    self.init(limit: limit)
    var random = LayoutRandom(seed: seed)
    var others: [[VRAMBlock]] = []
    for _ in 0..<12 {
      let size = UInt64(1) << (16 + random.next() % 8)
      guard let blocks = allocate(size: size) else { break }
      others.append(blocks)
    }
    for (index, blocks) in others.enumerated() where index % 2 == 1 {
      for block in blocks { release(block) }
    }
  }

  /// Naturally aligned power-of-two pieces of `[offset, offset + size)`, lowest first: the
  /// blocks a buddy allocator holds for that range.
  public static func alignedDecomposition(offset: UInt64, size: UInt64) -> [VRAMBlock] {
    var blocks: [VRAMBlock] = []
    var start = offset
    let end = offset + size
    while start < end {
      let alignment = start == 0 ? UInt64(1) << 62 : UInt64(1) << UInt64(start.trailingZeroBitCount)
      var block = min(alignment, UInt64(1) << UInt64(63 - (end - start).leadingZeroBitCount))
      while block > end - start { block >>= 1 }
      blocks.append(VRAMBlock(offset: start, size: block))
      start += block
    }
    return blocks
  }

  /// Allocates `size` bytes (rounded up to 4 KiB) as buddy blocks, or nil when it does not fit.
  public mutating func allocate(size requested: UInt64) -> [VRAMBlock]? {
    let saved = free
    var remaining = (requested + simPageSize - 1) & ~(simPageSize - 1)
    var result: [VRAMBlock] = []
    var order = UInt64(1) << UInt64(63 - remaining.leadingZeroBitCount)
    while remaining > 0 {
      order = min(order, UInt64(1) << UInt64(63 - remaining.leadingZeroBitCount))
      while true {
        if let block = take(size: order) {
          result.append(block)
          remaining -= order
          break
        }
        if order == Self.minimumBlock {
          free = saved
          return nil
        }
        order >>= 1
      }
    }
    return result.sorted { $0.offset < $1.offset }
  }

  /// Gives a block back, merging with its buddy like `__drm_buddy_free()`.
  public mutating func release(_ block: VRAMBlock) {
    var current = block
    while true {
      let buddyOffset = current.offset ^ current.size
      guard let buddyIndex = free.firstIndex(where: { $0.offset == buddyOffset && $0.size == current.size })
      else { break }
      free.remove(at: buddyIndex)
      current = VRAMBlock(offset: min(current.offset, buddyOffset), size: current.size * 2)
    }
    free.append(current)
  }

  private mutating func take(size: UInt64) -> VRAMBlock? {
    var best: Int?
    for (index, block) in free.enumerated() where block.size >= size {
      if let chosen = best {
        let other = free[chosen]
        if block.size < other.size || (block.size == other.size && block.offset < other.offset) { best = index }
      } else {
        best = index
      }
    }
    guard let index = best else { return nil }
    var block = free.remove(at: index)
    while block.size > size {
      block.size /= 2
      free.append(VRAMBlock(offset: block.offset + block.size, size: block.size))
    }
    return block
  }
}

/// How scattered the system pages behind a buffer are.
public enum SystemPageLayout: String, Sendable, CaseIterable {
  /// Runs of 1, 2, 4, 8 or 16 pages separated by gaps of 1...16 pages: what a buddy page
  /// allocator hands out on a machine that has been up for a while (the default).
  case partlyContiguous = "partly-contiguous"
  /// Every page on its own (one sg entry per 4 KiB page): the worst case, 4,194,304 entries for
  /// 16 GiB.
  case scattered
  /// One physically contiguous range (CMA-like), split only at the segment cap.
  case contiguous
}

/// Deterministic system pages for a buffer (the GTT/system placement, udmabuf, system heap).
///
/// Pages start above 4 GiB (PFN 0x100000 plus a seeded offset), as most RAM does on a large
/// x86 machine. Runs never touch, so each run is exactly one coalesced CPU sg entry, split at
/// `maxSegment` like `sg_alloc_table_from_pages_segment()` (default `SCATTERLIST_MAX_SEGMENT`,
/// UINT_MAX rounded down to a page: 4 GiB - 4 KiB).
public enum SystemPageAllocator {
  public static let firstPFN: UInt64 = 0x100000
  public static let scatterlistMaxSegment: UInt64 = 0xffff_f000

  public static func allocate(
    size: UInt64, seed: UInt64, layout: SystemPageLayout, maxSegment: UInt64 = scatterlistMaxSegment
  ) -> PageRuns {
    var random = LayoutRandom(seed: seed ^ 0x5359_5354_454d)  // "SYSTEM"
    var remaining = (size + simPageSize - 1) >> simPageShift
    let maxSegmentPages = max(1, maxSegment >> simPageShift)
    var pfn = firstPFN + (random.next() % 4096)
    var runs = PageRuns()
    switch layout {
    case .scattered: runs.reserveCapacity(Int(remaining))
    case .partlyContiguous: runs.reserveCapacity(Int(remaining / 4) + 1)
    case .contiguous: break
    }
    while remaining > 0 {
      let runPages: UInt64
      let gap: UInt64
      switch layout {
      case .contiguous:
        runPages = remaining
        gap = 0
      case .scattered:
        let bits = random.next()
        runPages = 1
        gap = 1 + (bits & 0xf)
      case .partlyContiguous:
        let bits = random.next()
        runPages = min(remaining, UInt64(1) << (bits % 5))
        gap = 1 + ((bits >> 8) & 0xf)
      }
      let take = min(runPages, remaining)
      var start = pfn
      var left = take
      while left > 0 {
        let piece = min(left, maxSegmentPages)
        runs.append(pfn: start, pages: UInt32(piece))
        start += piece
        left -= piece
      }
      remaining -= take
      pfn += take + gap
    }
    return runs
  }
}

/// One IOMMU domain's IOVA space, allocated the way `alloc_iova()` does: top-down from the
/// limit, each allocation aligned to its size rounded up to a power of two (`size_aligned`),
/// skipping reserved ranges.
public struct IOVADomain: Sendable {
  /// Allocated or reserved ranges in page frames, inclusive, sorted by `low`.
  private(set) var used: [(low: UInt64, high: UInt64)] = []
  /// `dev->iommu->pci_32bit_workaround`: PCI devices first try for a 32-bit IOVA (the "SAC
  /// trick"), and give up on it for good after the first miss (iommu_dma_alloc_iova, ≈v6.4+).
  public private(set) var pci32BitWorkaround = true
  /// Highest IOVA the domain can map (`geometry.aperture_end`). We model 4-level page tables:
  /// 48 bits (UNVERIFIED per IOMMU; 5-level VT-d gives 57).
  public let apertureEnd: UInt64
  /// Plain-words record of the reserved ranges, for the assumptions list.
  public private(set) var reservations: [String] = []
  /// `cached32_node` / `cached_node`: the lowest page of the last allocation below / above 4 GiB.
  /// The kernel starts each search there and walks down, so gaps left above it by alignment are
  /// only reused when a search from the cached node fails (its "retry" from the top).
  private var cached32Low: UInt64?
  private var cachedLow: UInt64?
  /// `dma_32bit_pfn`: the first page frame at or above 4 GiB.
  private let dma32BitPFN: UInt64 = (1 << 32) >> simPageShift

  public init(apertureBits: Int = 48) {
    apertureEnd = apertureBits >= 64 ? UInt64.max : (UInt64(1) << UInt64(apertureBits)) - 1
  }

  /// Marks `[start, end]` (bytes, inclusive) unusable, like `reserve_iova()`.
  public mutating func reserve(start: UInt64, end: UInt64, why: String) {
    let low = start >> simPageShift
    let high = end >> simPageShift
    insert(low: low, high: high)
    reservations.append("IOVA 0x\(String(start, radix: 16))-0x\(String(end, radix: 16)) reserved: \(why)")
  }

  /// `free_iova()`: gives back the allocation that starts at `iova`, and moves a cached node
  /// that pointed at or below it up to the next range (`__cached_rbnode_delete_update`), so the
  /// space is found again by the next search. Reserved ranges are never freed.
  public mutating func free(iova: UInt64) {
    let low = iova >> simPageShift
    guard let position = used.firstIndex(where: { $0.low == low }), allocated.contains(low) else { return }
    let freed = used.remove(at: position)
    allocated.remove(low)
    let next: UInt64? = position < used.count ? used[position].low : nil
    if let cached = cached32Low, freed.low == cached || (freed.high < dma32BitPFN && freed.low >= cached) {
      cached32Low = next.flatMap { $0 < dma32BitPFN ? $0 : nil }
    }
    if let cached = cachedLow, freed.low >= cached {
      cachedLow = next
    }
  }

  /// Start pages of allocations (as opposed to reservations), so `free` never drops a reservation.
  private var allocated = Set<UInt64>()

  /// Inserts an allocation: it sits in a gap, so no merging.
  private mutating func insertAllocation(low: UInt64, high: UInt64) {
    let position = used.firstIndex { $0.low > low } ?? used.count
    used.insert((low, high), at: position)
    allocated.insert(low)
  }

  /// Inserts a reservation, merging it with ranges it overlaps so the gap search stays simple.
  /// Reservations are made when the domain is set up, before any allocation.
  private mutating func insert(low: UInt64, high: UInt64) {
    var low = low
    var high = high
    used.removeAll { range in
      guard range.low <= high &+ 1 && low <= range.high &+ 1 else { return false }
      low = min(low, range.low)
      high = max(high, range.high)
      return true
    }
    let position = used.firstIndex { $0.low > low } ?? used.count
    used.insert((low, high), at: position)
  }

  /// `iommu_dma_alloc_iova(domain, size, dma_limit, dev)`: returns the IOVA or nil, plus the
  /// notice the kernel prints when the 32-bit attempt fails.
  public mutating func allocate(size: UInt64, dmaMask: UInt64) -> (iova: UInt64?, notice: String?) {
    var pages = (size + simPageSize - 1) >> simPageShift
    // Sizes the per-CPU IOVA caches handle (< 32 pages, IOVA_RANGE_CACHE_MAX_SIZE 6) are rounded
    // up to a power of two so they can be freed back into a cache of the same order.
    if pages < 32 { pages = roundUpPowerOfTwo(pages) }
    let limit = min(dmaMask, apertureEnd)
    var notice: String?
    if limit > 0xffff_ffff && pci32BitWorkaround {
      if let pfn = allocateRange(pages: pages, limitPFN: 0xffff_ffff >> simPageShift) {
        return (pfn << simPageShift, nil)
      }
      pci32BitWorkaround = false
      notice = "Using \(64 - limit.leadingZeroBitCount)-bit DMA addresses"
    }
    if let pfn = allocateRange(pages: pages, limitPFN: limit >> simPageShift) {
      return (pfn << simPageShift, notice)
    }
    return (nil, notice)
  }

  /// `__alloc_and_insert_iova_range()`: highest gap below `limitPFN` that fits `pages` at the
  /// size alignment. IOVA page 0 is never used (`IOVA_START_PFN`).
  private mutating func allocateRange(pages: UInt64, limitPFN: UInt64) -> UInt64? {
    let cached = limitPFN < dma32BitPFN ? cached32Low : cachedLow
    let found =
      searchDown(pages: pages, from: min(limitPFN + 1, cached ?? UInt64.max))
      ?? (cached == nil ? nil : searchDown(pages: pages, from: limitPFN + 1))
    if let found {
      if found + pages - 1 < dma32BitPFN { cached32Low = found } else { cachedLow = found }
    }
    return found
  }

  /// Highest size-aligned gap below `start` (exclusive) that holds `pages`; inserts it.
  private mutating func searchDown(pages: UInt64, from start: UInt64) -> UInt64? {
    let alignMask = ~(roundUpPowerOfTwo(pages) - 1)
    var high = start
    var index = used.count - 1
    while true {
      // Skip ranges entirely above `high`.
      while index >= 0 && used[index].low >= high { index -= 1 }
      let gapLow: UInt64 = index >= 0 ? used[index].high + 1 : 1
      if high >= pages {
        let candidate = (high - pages) & alignMask
        if candidate >= gapLow && high > gapLow {
          insertAllocation(low: candidate, high: candidate + pages - 1)
          return candidate
        }
      }
      guard index >= 0 else { return nil }
      high = min(high, used[index].low)
      index -= 1
    }
  }
}
