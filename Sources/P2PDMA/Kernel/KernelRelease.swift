import PCITopology

/// A Linux kernel release as the user names it: `mainline`, `X.Y`, `X.Y.Z`, or a whole `uname -r`
/// string (`6.8.0-49-generic`, `5.14.0-362.el9.x86_64`, `4.18.0-553.el8_10.x86_64`).
///
/// Behaviour per release comes from `KernelChanges` (one table, kernel-history.md §1–§5): a change
/// applies when `release.has(change)`. Distribution suffixes are kept for display; the model uses
/// the upstream X.Y.Z, except for RHEL 8's 4.18 which carries a P2PDMA backport (kernel-history.md
/// §0, Seneca-CDOT/dynaccel-kernel-4.18.0@b46dec7a12c6).
public struct KernelRelease: Sendable, Hashable, Comparable, CustomStringConvertible {
  /// `nil` for mainline.
  public let major: Int?
  public let minor: Int
  /// The third number when given (`6.8.0` → 0), nil for `X.Y` and mainline.
  public let sublevel: Int?
  /// What followed the numbers in a `uname -r` string (`-49-generic`, `-362.el9.x86_64`), or nil.
  public let suffix: String?

  /// The newest numbered release kernel-history.md reaches ("Mainline 2026" sits on 7.3-rc1).
  public static let newestCoveredRelease = KernelRelease(major: 7, minor: 3)

  /// Today's mainline: every change of the table, including those only in the 2026 PCI tree.
  public static let mainline = KernelRelease(mainlineMarker: ())

  /// The release timeline `explain` prints (issue 9 item 5).
  public static let timeline: [KernelRelease] = [
    .init(major: 4, minor: 20), .init(major: 5, minor: 4), .init(major: 5, minor: 10), .init(major: 5, minor: 15),
    .init(major: 6, minor: 1), .init(major: 6, minor: 6), .init(major: 6, minor: 12), .mainline,
  ]

  /// Releases a user interface cycles through: mainline first, then the distribution kernels of
  /// kernel-history.md (RHEL 8 4.18, Ubuntu 22.04 5.15, Debian 12 6.1, Ubuntu 24.04 6.8, Debian 13
  /// 6.12) and the other LTS lines, oldest first.
  public static let interfaceCycle: [KernelRelease] = [
    .mainline, rhel8, .init(major: 4, minor: 20), .init(major: 5, minor: 4), .init(major: 5, minor: 10),
    .init(major: 5, minor: 15), .init(major: 6, minor: 1), .init(major: 6, minor: 6), .init(major: 6, minor: 8),
    .init(major: 6, minor: 12), .init(major: 7, minor: 1),
  ]

  /// A representative RHEL 8 kernel (8.10).
  public static let rhel8 = KernelRelease(major: 4, minor: 18, sublevel: 0, suffix: "-553.el8_10.x86_64")

  public init(major: Int, minor: Int, sublevel: Int? = nil, suffix: String? = nil) {
    self.major = major
    self.minor = minor
    self.sublevel = sublevel
    self.suffix = suffix
  }

  private init(mainlineMarker: Void) {
    major = nil
    minor = 0
    sublevel = nil
    suffix = nil
  }

  /// Parses `mainline`, `X.Y`, `X.Y.Z`, an optional leading `v`, and `uname -r` strings whose
  /// numbers are followed by `-`, `+`, `_` or `~` and anything after. Throws
  /// `KernelReleaseError` with the reason otherwise.
  public init(parsing text: String) throws {
    var rest = Substring(text)
    while let first = rest.first, first == " " || first == "\t" || first == "\n" { rest = rest.dropFirst() }
    while let last = rest.last, last == " " || last == "\t" || last == "\n" || last == "\r" { rest = rest.dropLast() }
    if rest.lowercased() == "mainline" {
      self = .mainline
      return
    }
    let original = String(rest)
    if rest.first == "v" || rest.first == "V" { rest = rest.dropFirst() }
    var numbers: [Int] = []
    var current = ""
    var suffixStart: Substring.Index?
    var index = rest.startIndex
    while index < rest.endIndex {
      let character = rest[index]
      if character.isASCII, character.isNumber {
        current.append(character)
      } else if character == ".", numbers.count < 2, !current.isEmpty {
        numbers.append(Int(current) ?? -1)
        current = ""
      } else {
        suffixStart = index
        break
      }
      index = rest.index(after: index)
    }
    if !current.isEmpty { numbers.append(Int(current) ?? -1) }
    let why = "expected 'mainline', X.Y, X.Y.Z or a 'uname -r' string such as 6.8.0-49-generic"
    guard numbers.count >= 2, numbers.allSatisfy({ $0 >= 0 }) else {
      throw KernelReleaseError(text: original, reason: why)
    }
    var suffix: String?
    if let suffixStart {
      let tail = rest[suffixStart...]
      guard let lead = tail.first, "-+_~".contains(lead) else { throw KernelReleaseError(text: original, reason: why) }
      // "6.8." followed by a suffix: a dot with nothing after it is not a release.
      if rest[rest.index(before: suffixStart)] == "." { throw KernelReleaseError(text: original, reason: why) }
      suffix = String(tail)
    } else if rest.last == "." {
      throw KernelReleaseError(text: original, reason: why)
    }
    let (major, minor) = (numbers[0], numbers[1])
    guard (2...9).contains(major), minor <= 40 else {
      throw KernelReleaseError(
        text: original, reason: "\(major).\(minor) is not a Linux release (major 2–9, minor up to 40)")
    }
    self.init(major: major, minor: minor, sublevel: numbers.count > 2 ? numbers[2] : nil, suffix: suffix)
  }

  public var isMainline: Bool { major == nil }

  /// `mainline`, `6.12`, `6.8.0-49-generic`: as the user typed it, normalised (no `v`, no spaces).
  public var description: String {
    guard let major else { return "mainline" }
    var text = "\(major).\(minor)"
    if let sublevel { text += ".\(sublevel)" }
    return text + (suffix ?? "")
  }

  /// `6.12` (no sublevel, no suffix); `mainline` for mainline.
  public var series: String { major.map { "\($0).\(minor)" } ?? "mainline" }

  /// The upstream release without the distribution suffix (`6.8.0`).
  public var upstream: KernelRelease {
    guard let major else { return self }
    return KernelRelease(major: major, minor: minor, sublevel: sublevel)
  }

  /// True for RHEL 8's 4.18 (`4.18.0-….el8…`), which carries the P2PDMA backport of the 5.2–5.3 era
  /// (root-complex allowlist for AMD 1450).
  public var isRHEL8Backport: Bool {
    major == 4 && minor == 18 && (suffix?.contains(".el8") ?? false)
  }

  /// False for releases before 4.20, where `drivers/pci/p2pdma.c` did not exist (RHEL 8 excepted).
  public var hasP2PDMA: Bool { has(.p2pdmaIntroduced) }

  /// The release whose upstream code the model uses for one area. RHEL 8: p2pdma.c as the 5.2–5.3
  /// era (confirmed by Seneca…@b46dec7a), DRM and dma-buf as 5.14 (the Makefile's RHEL_DRM 5.14.21;
  /// UNCONFIRMED for dma-buf core), other areas as 4.18 (UNCONFIRMED).
  public func modelledRelease(for area: KernelChangeArea) -> KernelRelease {
    guard isRHEL8Backport else { return self }
    switch area {
    case .p2pdma: return KernelRelease(major: 5, minor: 3)
    case .dmaBufCore, .amdgpu, .xe, .i915: return KernelRelease(major: 5, minor: 14)
    case .vfio, .rdma: return KernelRelease(major: 4, minor: 18)
    }
  }

  /// Whether the change of the table is in this release (the release it landed in, or later).
  public func has(_ change: KernelChange) -> Bool {
    let entry = change.entry
    return modelledRelease(for: entry.area) >= entry.landedIn
  }

  /// Plain-words notes about how this release is modelled (empty for plain upstream releases).
  public var modelNotes: [String] {
    var notes: [String] = []
    if isRHEL8Backport {
      notes.append(
        "RHEL 8 kernel: P2PDMA modelled as the 5.2–5.3 backport in Seneca-CDOT/dynaccel-kernel-4.18.0@b46dec7a "
          + "(int distance, ACS redirect refused, AMD 1022:1450 root complex allowed); dma-buf and DRM as 5.14 "
          + "(RHEL_DRM 5.14.21 in its Makefile; UNCONFIRMED for the dma-buf core), RDMA and VFIO as 4.18 (UNCONFIRMED). "
          + "Which RHEL 8 minor release first carried the backport is UNCONFIRMED")
    } else if let suffix, !isMainline {
      notes.append(
        "distribution kernel (suffix \(suffix)): modelled as upstream \(upstream.series); backports the "
          + "distribution carries are not known to this tool")
    }
    if !isMainline, !hasP2PDMA {
      notes.append(
        "P2PDMA did not exist in \(series): drivers/pci/p2pdma.c arrived with 4.20 (a stock 4.19 having none is "
          + "UNCONFIRMED by a 4.19 Makefile read), so no device can do peer-to-peer DMA through it")
    }
    if !isMainline, self.upstream > Self.newestCoveredRelease {
      notes.append(
        "\(series) is newer than the newest release the history covers (\(Self.newestCoveredRelease.series)); "
          + "changes only queued in the PCI tree (NVIDIA Vera Rubin, Zhaoxin) are not applied; ask for 'mainline' to include them"
      )
    }
    return notes
  }

  /// Whether and how `CONFIG_DMABUF_MOVE_NOTIFY` exists in this release.
  public var moveNotifyOption: MoveNotifyOption {
    if has(.dmabufMoveNotifyRemoved) { return .alwaysOn }
    if has(.dmabufDynamicAttach) { return .configurable }
    return .absent
  }

  /// The next release after this one in `list` (wrapping); the first of `list` when this release
  /// is not in it. For a UI key that cycles releases.
  public func next(in list: [KernelRelease] = KernelRelease.interfaceCycle) -> KernelRelease {
    guard !list.isEmpty else { return self }
    guard let position = list.firstIndex(of: self) else { return list[0] }
    return list[(position + 1) % list.count]
  }

  public static func < (lhs: KernelRelease, rhs: KernelRelease) -> Bool {
    switch (lhs.major, rhs.major) {
    case (nil, nil): return false
    case (nil, _): return false
    case (_, nil): return true
    case (let left?, let right?):
      if left != right { return left < right }
      if lhs.minor != rhs.minor { return lhs.minor < rhs.minor }
      let (leftSub, rightSub) = (lhs.sublevel ?? 0, rhs.sublevel ?? 0)
      if leftSub != rightSub { return leftSub < rightSub }
      if (lhs.sublevel == nil) != (rhs.sublevel == nil) { return lhs.sublevel == nil }
      // Same numbers: order by suffix so that < agrees with == (a total order).
      return (lhs.suffix ?? "") < (rhs.suffix ?? "")
    }
  }

  public init(from decoder: any Decoder) throws {
    let text = try decoder.singleValueContainer().decode(String.self)
    try self.init(parsing: text)
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(description)
  }
}

/// `CONFIG_DMABUF_MOVE_NOTIFY` in one release (kernel-history.md §2).
public enum MoveNotifyOption: String, Sendable {
  /// Before 5.7: no dynamic attach, no option.
  case absent
  /// 5.7 … 7.0: a Kconfig option, default n.
  case configurable
  /// 7.1 and later: the option is gone and the behaviour is always on.
  case alwaysOn = "always-on"
}

/// A release string that is not a kernel release.
public struct KernelReleaseError: UserFacingError, Sendable, Equatable {
  public var text: String
  public var reason: String

  public init(text: String, reason: String) {
    self.text = text
    self.reason = reason
  }

  public var description: String { "kernel release '\(text)': \(reason)" }
}
