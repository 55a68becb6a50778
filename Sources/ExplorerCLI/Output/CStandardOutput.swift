// Alone in its file on purpose: C's `stdout` is a global variable, which Swift 6 accepts only
// through a `@preconcurrency` import, and that import counts only when no Foundation import in
// the same file comes before it.
#if canImport(Glibc)
  @preconcurrency import Glibc
#elseif canImport(Darwin)
  @preconcurrency import Darwin
#endif

/// Flushes C stdio's stdout (what Swift's `print` wrote) and checks its error flag: 0, or the
/// errno of the failed write (-1 when unknown).
func flushCStandardOutput() -> Int32 {
  let failed = fflush(stdout) != 0 || ferror(stdout) != 0
  return failed ? (errno != 0 ? errno : -1) : 0
}
