#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Every byte the headless commands print goes through here (issue 13):
///
/// - writes are checked: a full device, a closed pipe (with SIGPIPE ignored) or a closed
///   descriptor ends the command with one line on stderr and exit status 1, never a trap
///   (`FileHandle.write` traps on errors) and never exit 0 with the output lost (`print`
///   buffers and drops errors);
/// - text is made terminal-safe by one function, `TerminalText.escape`: control characters
///   from the input (device names, scenario titles, quoted malformed rows) cannot retitle,
///   clear or hide the terminal.
public enum TerminalText {
  /// How a stream's bytes are made safe.
  public enum Mode: Sendable {
    /// Plain text: C0 controls except newline and tab, DEL and C1 controls become visible
    /// `\xHH` escapes.
    case text
    /// JSON: the encoders already escape C0 controls; DEL and C1 controls, which JSON allows
    /// raw inside strings, become `\u00HH` (the same string to a JSON reader).
    case json
    /// Bytes written as they are (generated dumps: no input-derived text).
    case raw
  }

  /// `text` with every control character a terminal would act on replaced by a visible escape.
  public static func escape(_ text: String, mode: Mode = .text) -> String {
    let bytes = Array(text.utf8)
    guard needsEscaping(bytes[...], mode: mode) else { return text }
    return String(decoding: escape(bytes[...], mode: mode), as: UTF8.self)
  }

  @inline(__always)
  static func isUnsafeC0(_ byte: UInt8, mode: Mode) -> Bool {
    switch mode {
    case .raw: return false
    case .json: return byte == 0x7f
    case .text: return (byte < 0x20 && byte != 0x0a && byte != 0x09) || byte == 0x7f
    }
  }

  /// True when `bytes` hold anything `escape` would change.
  static func needsEscaping(_ bytes: ArraySlice<UInt8>, mode: Mode) -> Bool {
    guard mode != .raw else { return false }
    var previous: UInt8 = 0
    for byte in bytes {
      if isUnsafeC0(byte, mode: mode) { return true }
      // C1 controls U+0080...U+009F are C2 80...C2 9F in UTF-8.
      if previous == 0xc2, byte >= 0x80, byte <= 0x9f { return true }
      previous = byte
    }
    return false
  }

  /// The escaped bytes. A lone trailing 0xC2 is kept as is (the caller holds it back until the
  /// next chunk decides whether it starts a C1 control).
  static func escape(_ bytes: ArraySlice<UInt8>, mode: Mode) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count + 16)
    let digits = Array("0123456789abcdef".utf8)
    func append(escaped value: UInt8) {
      if mode == .json {
        out += Array("\\u00".utf8)
      } else {
        out += Array("\\x".utf8)
      }
      out.append(digits[Int(value >> 4)])
      out.append(digits[Int(value & 0xf)])
    }
    var index = bytes.startIndex
    while index < bytes.endIndex {
      let byte = bytes[index]
      if isUnsafeC0(byte, mode: mode) {
        append(escaped: byte)
        index += 1
        continue
      }
      if mode != .raw, byte == 0xc2, index + 1 < bytes.endIndex, bytes[index + 1] >= 0x80, bytes[index + 1] <= 0x9f {
        append(escaped: bytes[index + 1])
        index += 2
        continue
      }
      out.append(byte)
      index += 1
    }
    return out
  }
}

/// A write to standard output (or an output file) failed: one line, exit status 1.
struct OutputWriteFailure: Error, CustomStringConvertible {
  var message: String
  var description: String { message }
}

/// Checked, buffered writes to a file descriptor.
struct DescriptorWriter: TextOutputStream {
  let descriptor: Int32
  let name: String
  let mode: TerminalText.Mode
  private var pending: [UInt8] = []
  /// The first failure; later writes are dropped and `finish()` throws it.
  private(set) var failure: OutputWriteFailure?

  init(descriptor: Int32, name: String, mode: TerminalText.Mode) {
    self.descriptor = descriptor
    self.name = name
    self.mode = mode
    pending.reserveCapacity(1 << 18)
  }

  static func standardOutput(mode: TerminalText.Mode) -> DescriptorWriter {
    DescriptorWriter(descriptor: 1, name: "standard output", mode: mode)
  }

  mutating func write(_ text: String) {
    guard failure == nil else { return }
    pending.append(contentsOf: text.utf8)
    if pending.count >= 1 << 18 { flush(final: false) }
  }

  mutating func write(bytes: [UInt8]) {
    guard failure == nil else { return }
    if pending.isEmpty, mode == .raw {
      failure = Self.writeAll(bytes[...], to: descriptor, name: name)
      return
    }
    pending.append(contentsOf: bytes)
    if pending.count >= 1 << 18 { flush(final: false) }
  }

  /// Writes out what is buffered; a lone trailing 0xC2 waits for its next byte unless `final`.
  mutating func flush(final: Bool) {
    guard failure == nil, !pending.isEmpty else { return }
    var chunk = pending[...]
    var keep: [UInt8] = []
    if !final, mode != .raw, pending.last == 0xc2 {
      chunk = pending.dropLast()
      keep = [0xc2]
    }
    let safe = TerminalText.needsEscaping(chunk, mode: mode) ? TerminalText.escape(chunk, mode: mode)[...] : chunk
    failure = Self.writeAll(safe, to: descriptor, name: name)
    pending.removeAll(keepingCapacity: true)
    pending += keep
  }

  /// Flushes everything and throws the first failure, if any.
  mutating func finish() throws {
    flush(final: true)
    if let failure { throw failure }
  }

  /// `write(2)` until every byte is out; EINTR retried, anything else is a failure in words.
  static func writeAll(_ bytes: ArraySlice<UInt8>, to descriptor: Int32, name: String) -> OutputWriteFailure? {
    var offset = bytes.startIndex
    while offset < bytes.endIndex {
      let written = bytes[offset...].withUnsafeBytes { buffer in
        systemWrite(descriptor, buffer.baseAddress, buffer.count)
      }
      if written < 0 {
        let code = errno
        if code == EINTR { continue }
        return OutputWriteFailure(message: "cannot write to \(name): \(describe(errno: code))")
      }
      offset += written
    }
    return nil
  }

  static func describe(errno code: Int32) -> String {
    switch code {
    case ENOSPC: return "no space left on device"
    case EPIPE: return "the reader closed the pipe (broken pipe)"
    case EBADF: return "it is closed"
    case EIO: return "input/output error"
    case EDQUOT: return "disk quota exceeded"
    case EFBIG: return "file too large"
    default:
      guard let text = strerror(code) else { return "error \(code)" }
      return String(cString: text).lowercased()
    }
  }
}

/// Standard error: one escaped line per message; a failure to write it is ignored (there is
/// nowhere left to report it; the exit status still says what happened).
enum StandardError {
  static func writeLine(_ line: String) {
    let safe = TerminalText.escape(line, mode: .text)
    _ = DescriptorWriter.writeAll(Array((safe + "\n").utf8)[...], to: 2, name: "standard error")
  }

  /// For loaders that wait on the user (terminal input, a FIFO without a writer).
  static let notice: @Sendable (String) -> Void = { message in writeLine("dmabuf-explorer: \(message)") }
}

/// The C library's `write`, under a name no method shadows.
private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
  write(descriptor, buffer, count)
}
