#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Reads input files with a limit on the bytes actually read, whatever kind of file it is.
///
/// A file's reported size says nothing for devices, FIFOs and pipes (it is 0): `/dev/zero`,
/// `<(yes ...)` or `/dev/stdin </dev/zero` would otherwise grow without end. Regular files are
/// refused up front when their size is over the limit; everything else is read until the limit
/// plus one byte and refused then. Devices other than a terminal are refused outright. A FIFO
/// is opened without blocking, so a FIFO nobody writes to gives a message instead of a hang.
public enum BoundedRead {
  /// What the caller is told while waiting (on stderr): FIFO without a writer, terminal input.
  public typealias Notice = @Sendable (String) -> Void

  /// How long to wait for the first byte (or the end) from a FIFO before giving up.
  public static let fifoWaitMilliseconds: Int32 = 60_000

  /// Reads `path` whole; errors are `TopologyError.unreadable` naming the path and the limit.
  public static func readFile(path: String, limit: Int, notice: Notice? = nil) throws -> [UInt8] {
    var info = stat()
    guard stat(path, &info) == 0 else {
      let code = errno
      throw TopologyError.unreadable(path: path, reason: code == ENOENT ? "no such file" : describe(errno: code))
    }
    let kind = info.st_mode & S_IFMT
    switch kind {
    case S_IFDIR:
      throw TopologyError.unreadable(
        path: path,
        reason: "is a directory (\(TopologyLoader.expectedFormats); for a copied sysfs tree use sysfs:\(path))")
    case S_IFREG:
      if Int(info.st_size) > limit {
        throw TopologyError.unreadable(
          path: path,
          reason: "file is \(Int(info.st_size) >> 20) MiB, over the \(limit >> 20) MiB limit for topology inputs; "
            + "refusing to read it")
      }
    case S_IFIFO, S_IFCHR:
      break
    case S_IFSOCK:
      throw TopologyError.unreadable(path: path, reason: "is a socket, not a file; save the lspci output to a file")
    default:
      throw TopologyError.unreadable(
        path: path, reason: "is a block device, not a file; save the lspci output to a file")
    }
    let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
    guard descriptor >= 0 else { throw TopologyError.unreadable(path: path, reason: describe(errno: errno)) }
    defer { close(descriptor) }
    if kind == S_IFCHR {
      guard isatty(descriptor) != 0 else {
        throw TopologyError.unreadable(
          path: path,
          reason: "is a device, not a file (it could be endless); save the lspci output to a file or pipe it "
            + "to --topology -")
      }
      notice?("reading lspci output from the terminal \(path) (Ctrl-D to end)")
    }
    return try read(
      descriptor: descriptor, name: path, limit: limit, isRegular: kind == S_IFREG, isFIFO: kind == S_IFIFO,
      notice: notice)
  }

  /// A small attribute file (sysfs `config`, `resource`, `vendor`...): nil unless it is a
  /// regular file (following symlinks) that reads without error within `limit` bytes. A copied
  /// tree can hold anything (a FIFO, a link to /dev/zero); none of it may hang or flood us.
  public static func readSmallRegularFile(path: String, limit: Int = 1 << 16) -> [UInt8]? {
    var info = stat()
    guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
    let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    var check = stat()
    guard fstat(descriptor, &check) == 0, check.st_mode & S_IFMT == S_IFREG else { return nil }
    return try? read(descriptor: descriptor, name: path, limit: limit, isRegular: true, isFIFO: false, notice: nil)
  }

  /// Reads an already open descriptor (standard input) to its end, bounded by `limit`.
  public static func readDescriptor(_ descriptor: Int32, name: String, limit: Int, notice: Notice? = nil) throws
    -> [UInt8]
  {
    var info = stat()
    guard fstat(descriptor, &info) == 0 else {
      throw TopologyError.unreadable(path: name, reason: describe(errno: errno))
    }
    let kind = info.st_mode & S_IFMT
    if kind == S_IFDIR { throw TopologyError.unreadable(path: name, reason: "is a directory") }
    if kind == S_IFREG, Int(info.st_size) > limit {
      throw TopologyError.unreadable(
        path: name, reason: "input is \(Int(info.st_size) >> 20) MiB, over the \(limit >> 20) MiB limit; refusing it")
    }
    if kind == S_IFCHR {
      guard isatty(descriptor) != 0 else {
        throw TopologyError.unreadable(
          path: name, reason: "standard input is a device, not a file or pipe (it could be endless); refusing it")
      }
      notice?("reading lspci output from standard input (Ctrl-D to end)")
    }
    return try read(
      descriptor: descriptor, name: name, limit: limit, isRegular: kind == S_IFREG, isFIFO: false, notice: notice)
  }

  /// The read loop. Non-regular inputs are polled before each read so that a descriptor opened
  /// with O_NONBLOCK (a FIFO) waits for data instead of spinning, and a FIFO without a writer
  /// times out with a message.
  static func read(
    descriptor: Int32, name: String, limit: Int, isRegular: Bool, isFIFO: Bool, notice: Notice?
  ) throws -> [UInt8] {
    // A regular file's size is known: read it in one buffer (plus one byte to see the end).
    var info = stat()
    let sizeHint = isRegular && fstat(descriptor, &info) == 0 ? Int(info.st_size) + 1 : 1 << 20
    var bytes = [UInt8](repeating: 0, count: max(1, min(limit + 1, sizeHint)))
    var used = 0
    var waitedForWriter = false
    while true {
      if !isRegular {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        var ready = poll(&entry, 1, isFIFO && used == 0 ? 200 : -1)
        if ready == 0, isFIFO, used == 0 {
          if !waitedForWriter {
            notice?("waiting for a program to write to the FIFO \(name) (Ctrl-C to give up)")
            waitedForWriter = true
          }
          ready = poll(&entry, 1, fifoWaitMilliseconds)
          if ready == 0 {
            throw TopologyError.unreadable(
              path: name, reason: "no program wrote to this FIFO within \(fifoWaitMilliseconds / 1000) s")
          }
        }
        if ready < 0 {
          if errno == EINTR { continue }
          throw TopologyError.unreadable(path: name, reason: describe(errno: errno))
        }
      }
      if used == bytes.count {
        // Grow by doubling, never past limit + 1 (one byte over proves the input is too large).
        // A fresh zeroed array plus one copy: element-wise appends are slow in debug builds.
        var grown = [UInt8](repeating: 0, count: min(bytes.count * 2, limit + 1))
        grown.withUnsafeMutableBufferPointer { target in
          bytes.withUnsafeBufferPointer { source in
            guard let to = target.baseAddress, let from = source.baseAddress else { return }
            to.update(from: from, count: used)
          }
        }
        bytes = grown
      }
      let count = bytes.withUnsafeMutableBytes { buffer in
        systemRead(descriptor, buffer.baseAddress.map { $0 + used }, buffer.count - used)
      }
      if count < 0 {
        if errno == EINTR || errno == EAGAIN { continue }
        throw TopologyError.unreadable(path: name, reason: describe(errno: errno))
      }
      if count == 0 { break }
      used += count
      if used > limit {
        throw TopologyError.unreadable(
          path: name,
          reason: "more than \(limit >> 20) MiB (the limit for topology inputs); is this really lspci output?")
      }
    }
    bytes.removeSubrange(used...)
    return bytes
  }

  /// `strerror` in plain words, e.g. "permission denied".
  static func describe(errno code: Int32) -> String {
    switch code {
    case EACCES, EPERM: return "permission denied"
    case ENOENT: return "no such file"
    case EISDIR: return "is a directory"
    case EIO: return "input/output error"
    default:
      guard let text = strerror(code) else { return "error \(code)" }
      return String(cString: text).lowercased()
    }
  }
}

/// The C library's `read`, under a name that `BoundedRead.read` does not shadow.
private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
  read(descriptor, buffer, count)
}
