import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Runs a program with posix_spawn and waits with `wait4`, so the child's own peak memory comes
/// back with its wall time. Output goes to /dev/null unless captured. Used by `bench`.
enum Subprocess {
  struct Outcome {
    var status: Int32
    var seconds: Double
    /// `ru_maxrss` of the child in bytes. Beware: with posix_spawn's vfork it includes the
    /// parent's resident set; children that matter report `VmHWM` themselves.
    var peakRSS: UInt64
    var output: String
  }

  static func run(_ executable: String, _ arguments: [String], captureOutput: Bool = false) throws -> Outcome {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    var pipeFDs: [Int32] = [-1, -1]
    if captureOutput {
      guard pipe(&pipeFDs) == 0 else { throw CLIFailure("bench: pipe() failed") }
      posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
      posix_spawn_file_actions_addclose(&actions, pipeFDs[0])
    } else {
      posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    }
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let start = monotonicSeconds()
    let spawnResult = posix_spawn(&pid, executable, &actions, nil, argv, environ)
    guard spawnResult == 0 else {
      throw CLIFailure("bench: cannot start \(executable): \(String(cString: strerror(spawnResult)))")
    }
    var output = Data()
    if captureOutput {
      close(pipeFDs[1])
      var buffer = [UInt8](repeating: 0, count: 65536)
      while true {
        let count = read(pipeFDs[0], &buffer, buffer.count)
        if count <= 0 { break }
        output.append(contentsOf: buffer[0..<count])
      }
      close(pipeFDs[0])
    }
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
    let seconds = monotonicSeconds() - start
    let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return Outcome(
      status: exitStatus, seconds: seconds, peakRSS: UInt64(max(0, usage.ru_maxrss)) * 1024,
      output: String(decoding: output, as: UTF8.self))
  }

  /// The absolute path of a program on PATH, or nil.
  static func which(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") {
      let candidate = "\(directory)/\(name)"
      if access(candidate, X_OK) == 0 { return candidate }
    }
    return nil
  }
}

/// Seconds on the monotonic clock.
package func monotonicSeconds() -> Double {
  var spec = timespec()
  clock_gettime(CLOCK_MONOTONIC, &spec)
  return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

/// Peak resident set of this program image (`VmHWM` in /proc/self/status), in bytes. Unlike
/// `ru_maxrss` it starts afresh at exec, so a spawned child does not inherit its parent's peak.
func peakResidentBytesOfThisImage() -> UInt64 {
  guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
    let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
  else { return 0 }
  let kilobytes = line.split(separator: " ").compactMap { UInt64($0) }.first ?? 0
  return kilobytes * 1024
}
