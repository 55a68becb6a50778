/// Render times per frame, kept so p50/p99 can be reported (issue 5: keypress redraw < 16 ms,
/// first frame < 1 s). Memory is bounded: past `capacity` samples, the oldest are overwritten.
public struct FrameStats: Sendable {
  public private(set) var samples: [Double] = []
  public private(set) var firstFrameMilliseconds: Double?
  public private(set) var frameCount = 0
  private var nextSlot = 0
  public let capacity: Int

  public init(capacity: Int = 100_000) { self.capacity = max(1, capacity) }

  /// Records one frame's render time.
  public mutating func record(milliseconds: Double) {
    if firstFrameMilliseconds == nil { firstFrameMilliseconds = milliseconds }
    frameCount += 1
    if samples.count < capacity {
      samples.append(milliseconds)
    } else {
      samples[nextSlot] = milliseconds
      nextSlot = (nextSlot + 1) % capacity
    }
  }

  /// The `fraction` quantile (0.5 = median) by nearest rank, nil without samples.
  public func percentile(_ fraction: Double) -> Double? {
    guard !samples.isEmpty else { return nil }
    let sorted = samples.sorted()
    let rank = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(0, rank), sorted.count - 1)]
  }

  /// `frames 42, first 3.1 ms, p50 0.40 ms, p99 1.20 ms, max 2.00 ms`.
  public var summary: String {
    func format(_ value: Double?) -> String {
      guard let value else { return "-" }
      let scaled = (value * 100).rounded() / 100
      return "\(scaled) ms"
    }
    return "frames \(frameCount), first \(format(firstFrameMilliseconds)), p50 \(format(percentile(0.5))), "
      + "p99 \(format(percentile(0.99))), max \(format(samples.max()))"
  }
}
