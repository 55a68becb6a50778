import Foundation
import P2PDMA
import PCITopology

/// Which kernel a command models (issue 9 items 1, 2): `--kernel`, else the kernel a replayed
/// capture recorded (issue 12 item 4), else the running kernel for `--topology sysfs`, else a
/// scenario's `platform.kernel`, else mainline; plus
/// `CONFIG_DMABUF_MOVE_NOTIFY` from `--dmabuf-move-notify`, the running kernel's config, or the
/// release's default. Reads files only.
enum KernelResolution {
  static func context(kernel: String?, moveNotify: String?, topology: Topology) throws -> KernelContext {
    let moveNotifyValue = try moveNotify.map(parseMoveNotify)
    var release = KernelRelease.mainline
    var source = KernelContext.Source.default
    var notes: [String] = []
    var configMoveNotify: (value: Bool, from: String)?
    var origin: String?
    if let kernel {
      do {
        release = try KernelRelease(parsing: kernel)
      } catch let error as KernelReleaseError {
        throw CLIFailure("--kernel: \(error.reason) (got '\(error.text)')")
      }
      source = .given
    } else if let recorded = topology.platform.recordedKernel {
      // A replayed capture: the kernel that ran the captured machine, not the one replaying it
      // (the capture's source still names the live sysfs path, which may be another machine's).
      let root = sysfsRoot(devicesDirectory: topology.source.location) ?? "/"
      if let text = recorded.release, let found = try? KernelRelease(parsing: text) {
        release = found
        source = .running
        origin = "recorded in the capture \(recorded.file)"
        if moveNotifyValue == nil, found.moveNotifyOption == .configurable {
          if let value = recorded.dmabufMoveNotify {
            configMoveNotify = (value, "recorded in the capture")
          } else {
            notes.append(moveNotifyUnreadableNote(root: root, release: found))
          }
        }
      } else {
        notes.append(osreleaseUnreadableNote(root: root))
      }
    } else if topology.source.kind == .sysfs {
      let running = runningKernel(devicesDirectory: topology.source.location)
      notes += running.notes
      if let found = running.release {
        release = found
        source = .running
        if moveNotifyValue == nil, found.moveNotifyOption == .configurable {
          let config = readMoveNotify(root: running.root, release: found)
          notes += config.notes
          if let value = config.value, let from = config.from { configMoveNotify = (value, from) }
        }
      }
    } else if let named = topology.platform.kernel, named.lowercased() != "mainline" {
      do {
        release = try KernelRelease(parsing: named)
      } catch let error as KernelReleaseError {
        throw CLIFailure("\(topology.source.location): platform.kernel: \(error.reason) (got '\(error.text)')")
      }
      source = .given
      notes.append("kernel \(release) is named by the scenario (platform.kernel); --kernel overrides it")
    }
    var context = try resolvedContext(
      release: release, source: source, notes: notes, moveNotifyValue: moveNotifyValue,
      configMoveNotify: configMoveNotify)
    context.origin = origin
    return context
  }

  private static func resolvedContext(
    release: KernelRelease, source: KernelContext.Source, notes: [String], moveNotifyValue: Bool?,
    configMoveNotify: (value: Bool, from: String)?
  ) throws -> KernelContext {
    if let moveNotifyValue {
      do {
        return try KernelContext(
          release: release, source: source, dmabufMoveNotify: moveNotifyValue,
          moveNotifySource: "given with --dmabuf-move-notify", notes: notes)
      } catch let error as KernelContextError {
        throw CLIFailure(error.description)
      }
    }
    if let configMoveNotify {
      return try KernelContext(
        release: release, source: source, dmabufMoveNotify: configMoveNotify.value,
        moveNotifySource: configMoveNotify.from, notes: notes)
    }
    return KernelContext(release: release, source: source, notes: notes)
  }

  static func parseMoveNotify(_ text: String) throws -> Bool {
    switch text.lowercased() {
    case "y", "yes", "on", "1", "true": return true
    case "n", "no", "off", "0", "false": return false
    default: throw CLIFailure("--dmabuf-move-notify: '\(text)' is not y or n")
    }
  }

  /// The root a sysfs topology was read from ("/" for the live machine), from its devices
  /// directory `ROOT/sys/bus/pci/devices`; nil for a bare copied devices directory.
  static func sysfsRoot(devicesDirectory: String) -> String? {
    let suffix = "sys/bus/pci/devices"
    var path = devicesDirectory
    while path.hasSuffix("/") && path.count > 1 { path.removeLast() }
    guard path.hasSuffix(suffix) else { return nil }
    let root = String(path.dropLast(suffix.count))
    return root.isEmpty ? "/" : root
  }

  /// `ROOT/proc/sys/kernel/osrelease` of the machine the sysfs tree came from.
  static func runningKernel(devicesDirectory: String) -> (release: KernelRelease?, root: String, notes: [String]) {
    guard let root = sysfsRoot(devicesDirectory: devicesDirectory) else {
      return (
        nil, "",
        [
          "the kernel release is unknown (\(devicesDirectory) has no proc/ beside it); modelling mainline, pass --kernel RELEASE"
        ]
      )
    }
    let path = (root as NSString).appendingPathComponent("proc/sys/kernel/osrelease")
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
      return (nil, root, [osreleaseUnreadableNote(root: root)])
    }
    do {
      return (try KernelRelease(parsing: text), root, [])
    } catch {
      return (nil, root, ["\(path): \(error); modelling mainline, pass --kernel RELEASE"])
    }
  }

  /// The note when `ROOT/proc/sys/kernel/osrelease` could not be read, live or at capture time (the
  /// same words, so that a replay matches the live run).
  static func osreleaseUnreadableNote(root: String) -> String {
    let path = (root as NSString).appendingPathComponent("proc/sys/kernel/osrelease")
    return "cannot read \(path); modelling mainline, pass --kernel RELEASE"
  }

  /// The note when no kernel config says `CONFIG_DMABUF_MOVE_NOTIFY`, live or at capture time.
  static func moveNotifyUnreadableNote(root: String, release: KernelRelease) -> String {
    let procConfig = (root as NSString).appendingPathComponent("proc/config.gz")
    let bootConfig = (root as NSString).appendingPathComponent("boot/config-\(release)")
    return "cannot read \(procConfig) or \(bootConfig): CONFIG_DMABUF_MOVE_NOTIFY assumed n (the default); "
      + "pass --dmabuf-move-notify y|n"
  }

  /// `CONFIG_DMABUF_MOVE_NOTIFY` from `ROOT/proc/config.gz` (through `gzip -dc`, read-only) or
  /// `ROOT/boot/config-RELEASE`; value nil with a note when neither can be read.
  static func readMoveNotify(root: String, release: KernelRelease) -> (value: Bool?, from: String?, notes: [String]) {
    let procConfig = (root as NSString).appendingPathComponent("proc/config.gz")
    let bootConfig = (root as NSString).appendingPathComponent("boot/config-\(release)")
    var text: String?
    var from = ""
    if FileManager.default.isReadableFile(atPath: procConfig), let unpacked = gunzip(procConfig) {
      text = unpacked
      from = procConfig
    } else if let plain = try? String(contentsOfFile: bootConfig, encoding: .utf8) {
      text = plain
      from = bootConfig
    }
    guard let text else { return (nil, nil, [moveNotifyUnreadableNote(root: root, release: release)]) }
    for line in text.split(separator: "\n") {
      if line == "CONFIG_DMABUF_MOVE_NOTIFY=y" { return (true, from, []) }
      if line == "# CONFIG_DMABUF_MOVE_NOTIFY is not set" { return (false, from, []) }
    }
    return (false, from, ["\(from) does not mention CONFIG_DMABUF_MOVE_NOTIFY; taken as n"])
  }

  /// The text of a gzip file via the system's `gzip -dc` (Foundation on Linux has no inflate).
  static func gunzip(_ path: String) -> String? {
    guard let gzip = ["/usr/bin/gzip", "/bin/gzip"].first(where: FileManager.default.isExecutableFile(atPath:)),
      let outcome = try? Subprocess.run(gzip, ["-dc", path], captureOutput: true), outcome.status == 0
    else { return nil }
    return outcome.output
  }

  /// The `"kernel"` object as a typed output (keys in the order the outputs always had).
  static func json(_ kernel: KernelContext, areas: Set<KernelChangeArea> = [.p2pdma]) -> KernelJSON {
    KernelJSON(
      dmabuf_move_notify: kernel.dmabufMoveNotify, notes: kernel.notes, release: kernel.release.description,
      source: kernel.source.rawValue, unconfirmed: unconfirmed(kernel.release, areas: areas))
  }

  /// `UNCONFIRMED for 6.1: …` for every change of the areas whose presence in the release the
  /// history cannot settle.
  static func unconfirmed(_ release: KernelRelease, areas: Set<KernelChangeArea>) -> [String] {
    // Changes with the same reason share one line.
    var groups: [(reason: String, ids: [String])] = []
    for entry in KernelChanges.all where areas.contains(entry.area) && entry.isInDoubt(for: release) {
      let reason = entry.note ?? entry.summary
      let id = "\(entry.id.rawValue) (\(entry.landedIn.series))"
      if let position = groups.firstIndex(where: { $0.reason == reason }) {
        groups[position].ids.append(id)
      } else {
        groups.append((reason, [id]))
      }
    }
    return groups.map { "UNCONFIRMED for \(release.series): \($0.ids.joined(separator: ", ")) — \($0.reason)" }
  }

  /// Header lines for text outputs: the kernel line, its notes and UNCONFIRMED labels.
  static func headerLines(_ kernel: KernelContext, areas: Set<KernelChangeArea> = [.p2pdma]) -> [String] {
    ["kernel: " + kernel.headerLine] + kernel.notes.map { "note: \($0)" }
      + unconfirmed(kernel.release, areas: areas).map { "note: \($0)" }
  }
}
