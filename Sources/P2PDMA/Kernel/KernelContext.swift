import PCITopology

/// The kernel a decision or share is modelled for: the release, its `CONFIG_DMABUF_MOVE_NOTIFY`,
/// and where both came from. Part of `P2PConfiguration` (default: mainline).
public struct KernelContext: Sendable, Hashable {
  /// Where the release came from, as the JSON `"source"` field says it.
  public enum Source: String, Sendable {
    /// `--kernel` on the command line, or the scenario file's `"kernel"` field.
    case given
    /// The running kernel (`--topology sysfs`).
    case running
    /// Nothing said which: mainline.
    case `default`
  }

  public var release: KernelRelease
  /// `CONFIG_DMABUF_MOVE_NOTIFY` as the model uses it: false where the option does not exist yet
  /// (before 5.7), true where it is gone (7.1 on, always on).
  public var dmabufMoveNotify: Bool
  public var source: Source
  /// Where `dmabufMoveNotify` came from, in words ("the release's default (n)", "given",
  /// "/proc/config.gz").
  public var dmabufMoveNotifySource: String
  /// Plain-words notes: how the release is modelled, config that could not be read, …
  public var notes: [String]
  /// Where the release came from when the source alone does not say it, for the text header
  /// ("recorded in the capture FILE": a replayed capture's running kernel). Not in JSON, whose
  /// `source` stays `running` so that a replay matches the live run.
  public var origin: String? = nil

  /// Mainline with its defaults (MOVE_NOTIFY always on), source `default`.
  public static let mainline = KernelContext(release: .mainline, source: .default)

  /// The release with its default `CONFIG_DMABUF_MOVE_NOTIFY`.
  public init(release: KernelRelease, source: Source, notes: [String] = []) {
    self.release = release
    self.source = source
    switch release.moveNotifyOption {
    case .absent:
      dmabufMoveNotify = false
      dmabufMoveNotifySource = "the option does not exist before 5.7"
    case .configurable:
      dmabufMoveNotify = false
      dmabufMoveNotifySource = "the release's default (n)"
    case .alwaysOn:
      dmabufMoveNotify = true
      dmabufMoveNotifySource = "always on (the option was removed in 7.1)"
    }
    self.notes = release.modelNotes + notes
  }

  /// The release with `CONFIG_DMABUF_MOVE_NOTIFY` set explicitly (`--dmabuf-move-notify`, a
  /// kernel config). Throws when the release has no such option.
  public init(
    release: KernelRelease, source: Source, dmabufMoveNotify: Bool, moveNotifySource: String, notes: [String] = []
  ) throws {
    self.init(release: release, source: source, notes: notes)
    switch release.moveNotifyOption {
    case .absent:
      throw KernelContextError.moveNotifyAbsent(release: release)
    case .alwaysOn where !dmabufMoveNotify:
      throw KernelContextError.moveNotifyAlwaysOn(release: release)
    case .alwaysOn, .configurable:
      self.dmabufMoveNotify = dmabufMoveNotify
      dmabufMoveNotifySource = release.moveNotifyOption == .alwaysOn ? self.dmabufMoveNotifySource : moveNotifySource
    }
  }

  /// The same context for another release (a UI what-if): source `given`, and the
  /// `CONFIG_DMABUF_MOVE_NOTIFY` value kept where both releases have the option, else the new
  /// release's default.
  public func switched(to newRelease: KernelRelease) -> KernelContext {
    let fresh = KernelContext(release: newRelease, source: .given)
    guard release.moveNotifyOption == .configurable, newRelease.moveNotifyOption == .configurable else { return fresh }
    return
      (try? KernelContext(
        release: newRelease, source: .given, dmabufMoveNotify: dmabufMoveNotify,
        moveNotifySource: dmabufMoveNotifySource)) ?? fresh
  }

  /// The next release of `KernelRelease.interfaceCycle` (the explorer's `k` key).
  public func nextInCycle() -> KernelContext { switched(to: release.next()) }

  /// `6.12 (given), CONFIG_DMABUF_MOVE_NOTIFY=n (the release's default (n))`: the header line of
  /// text outputs (after "kernel: ").
  public var headerLine: String {
    let moveNotify: String
    switch release.moveNotifyOption {
    case .absent: moveNotify = "no CONFIG_DMABUF_MOVE_NOTIFY (before 5.7)"
    case .alwaysOn: moveNotify = "MOVE_NOTIFY always on (option removed in 7.1)"
    case .configurable:
      moveNotify = "CONFIG_DMABUF_MOVE_NOTIFY=\(dmabufMoveNotify ? "y" : "n") (\(dmabufMoveNotifySource))"
    }
    var origin: String
    switch source {
    case .given: origin = "given"
    case .running: origin = "the running kernel"
    case .default: origin = "default"
    }
    if let given = self.origin { origin = given }
    return "\(release) (\(origin)), \(moveNotify)"
  }
}

/// `--dmabuf-move-notify` on a release without the option.
public enum KernelContextError: UserFacingError, Sendable, Equatable {
  case moveNotifyAbsent(release: KernelRelease)
  case moveNotifyAlwaysOn(release: KernelRelease)

  public var description: String {
    switch self {
    case .moveNotifyAbsent(let release):
      return
        "--dmabuf-move-notify: kernel \(release) has no CONFIG_DMABUF_MOVE_NOTIFY (it arrived with dynamic dma-buf attach in 5.7)"
    case .moveNotifyAlwaysOn(let release):
      return
        "--dmabuf-move-notify n: kernel \(release) has no CONFIG_DMABUF_MOVE_NOTIFY; it was removed in 7.1 and the behaviour is always on"
    }
  }
}
