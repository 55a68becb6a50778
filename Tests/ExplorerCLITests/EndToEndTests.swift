import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Drives the real `dmabuf-explorer` binary inside a private tmux server, as a user would.
///
/// tmux is started with `posix_spawn` + `waitpid` (Foundation's `Process` never returns when the
/// child daemonises) and with an empty signal mask and default dispositions (Swift Testing's
/// threads block signals, and a child inheriting that mask would ignore SIGTERM and never see
/// resizes).
@Suite("End to end in tmux", .serialized)
struct EndToEndTests {
  static let tmuxPath: String? = {
    let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
    return directories.map { "\($0)/tmux" }.first { FileManager.default.isExecutableFile(atPath: $0) }
  }()

  @Test(.enabled(if: tmuxPath != nil, "tmux is not installed: the end-to-end test needs it (scripts/install-deps)"))
  func shareTwoImportersPlayToTheEndResizeAndQuit() async throws {
    let session = try TmuxSession(tmux: try #require(Self.tmuxPath), binary: try Self.explorerBinary())
    defer { session.tearDown() }
    try session.start(width: 120, height: 40)
    try await session.waitFor("PCI tree")

    // Exporter: the first GPU, its first (default) buffer.
    session.keys("/", "03:00.0", "Enter")
    try await session.waitFor("found 0000:03:00.0")
    session.keys("e")
    try await session.waitFor("(Enter picks, Esc keeps)")
    session.keys("Enter")
    try await session.waitFor("picked")
    // Two importers: the second GPU and the RDMA NIC.
    session.keys("/", "04:00.0", "Enter")
    try await session.waitFor("found 0000:04:00.0")
    session.keys("i")
    try await session.waitFor("[IMP1]")
    session.keys("/", "05:00.0", "Enter")
    try await session.waitFor("found 0000:05:00.0")
    session.keys("i")
    try await session.waitFor("[IMP2]")

    // Start the share at the fastest speed and let it play to the end.
    session.keys("+", "+", "+", "+", "+", "+", "Enter")
    try await session.waitFor("share started")
    // The final frame, fully drawn (a capture can land between the first and the last line of
    // a refresh on a loaded machine): done, and the sg table's first entry on screen.
    let final = try await session.waitUntil("the finished share with its sg table", timeout: 30) { capture in
      capture.contains(", done,") && capture.split(separator: "\n").contains { $0.contains("  0  0x") }
    }
    #expect(final.contains("peer2peer"), "decision header missing:\(final)")
    #expect(final.contains("1 04:00.0"), "first importer's decision missing:\(final)")
    #expect(final.contains("2 05:00.0"), "second importer's decision missing:\(final)")
    #expect(final.contains("BUS_ADDR"), "the switch-local GPU pair should be BUS_ADDR:\(final)")
    #expect(final.contains("nents "), "sg table summary missing:\(final)")
    #expect(final.contains("dma_address"), "sg table header missing:\(final)")
    let sgRow = final.split(separator: "\n").contains { $0.contains("  0  0x") }
    #expect(sgRow, "no sg entry with a DMA address:\(final)")

    // Smaller terminals: compact layout, then the too-small note.
    session.resize(width: 80, height: 24)
    // Wait for the redrawn frame: its top-right corner sits in column 80.
    let compact = try await session.waitUntil("the 80x24 layout") { capture in
      (capture.split(separator: "\n").first.map { $0.unicodeScalars.count == 80 && $0.hasSuffix("┐") } ?? false)
        && capture.contains("Decision")
    }
    #expect(compact.contains("PCI tree") && compact.contains("Decision"), "compact layout:\(compact)")
    #expect(compact.split(separator: "\n").count <= 24)
    session.resize(width: 40, height: 10)
    let tiny = try await session.waitFor("Terminal too small")
    #expect(tiny.contains("40x10"), "too-small note:\(tiny)")

    // Quit: the program exits 0 and leaves the terminal in its normal state.
    session.keys("q")
    let exitText = try await session.waitForFile(session.exitFile, timeout: 10)
    #expect(exitText.trimmingCharacters(in: .whitespacesAndNewlines) == "EXIT=0")
    #expect(session.display("#{alternate_on}") == "0", "alternate screen still on after quit")
    #expect(session.display("#{cursor_flag}") == "1", "cursor left hidden after quit")
  }

  /// The default share, stepped with n: the NIC's sg entry points into the GPU's VRAM at its
  /// map step, and after the static capture card made amdgpu move the buffer, the NIC's
  /// re-mapped table lists system RAM.
  @Test(.enabled(if: tmuxPath != nil, "tmux is not installed: the end-to-end test needs it (scripts/install-deps)"))
  func stepTruePlaybackShowsTheVRAMMappingThenTheMove() async throws {
    let session = try TmuxSession(tmux: try #require(Self.tmuxPath), binary: try Self.explorerBinary())
    defer { session.tearDown() }
    try session.start(width: 120, height: 40)
    try await session.waitFor("PCI tree")
    session.keys("/", "03:00.0", "Enter")
    try await session.waitFor("found 0000:03:00.0")
    session.keys("e")
    try await session.waitFor("(Enter picks, Esc keeps)")
    session.keys("Enter")
    try await session.waitFor("picked")
    for (bdf, badge) in [("05:00.0", "[IMP1]"), ("07:00.0", "[IMP2]")] {
      session.keys("/", bdf, "Enter")
      try await session.waitFor("found 0000:\(bdf)")
      session.keys("i")
      try await session.waitFor(badge)
    }
    session.keys("Enter")
    try await session.waitFor("share started")
    session.keys(" ")
    try await session.waitFor(", paused,")
    // Step until the NIC programs its DMA engine for the first time; each n is awaited by its
    // step number so no key runs ahead of the screen.
    var screen = ""
    var step = 1
    let nicProgramsItsEngine = "kernel: for_each_sgtable_dma_sg()  importer 05:00.0"
    while step < 36 {
      step += 1
      session.keys("n")
      screen = try await session.waitForSettled("— step \(step)/")
      if screen.contains(nicProgramsItsEngine) { break }
    }
    // The frame may still be arriving: wait for its last pane.
    screen = try await session.waitFor("BAR0 of 0000:03:00.0")
    #expect(screen.contains("sg table — importer 05:00.0"), "sg pane:\n\(screen)")
    #expect(
      screen.contains("0x0000004040000000  256 MiB   NULL         BAR0 of 0000:03:00.0"), "VRAM entry:\n\(screen)")
    #expect(screen.contains("buffer in VRAM"), "placement:\n\(screen)")
    // On to the re-map after the move.
    var sawInvalidated = false
    while step < 36 {
      step += 1
      session.keys("n")
      screen = try await session.waitForSettled("— step \(step)/")
      if screen.contains("true      invalidated") { sawInvalidated = true }
      if sawInvalidated, screen.contains(nicProgramsItsEngine) { break }
    }
    #expect(sawInvalidated, "the NIC's mapping was never shown invalidated")
    screen = try await session.waitFor("system RAM pfn")
    #expect(screen.contains("nents 10507  orig_nents 10507  GTT (system RAM)"), "system-RAM table:\n\(screen)")
    #expect(screen.contains("buffer in GTT (system RAM)"), "placement after the move:\n\(screen)")
    session.keys("q")
    _ = try await session.waitForFile(session.exitFile, timeout: 10)
  }

  /// The guided tour from the start screen: L, Enter, then every page to the end, answering the
  /// checkpoints with the keys the pane names.
  @Test(.enabled(if: tmuxPath != nil, "tmux is not installed: the end-to-end test needs it (scripts/install-deps)"))
  func lessonDrivenFromLToItsEnd() async throws {
    let session = try TmuxSession(tmux: try #require(Self.tmuxPath), binary: try Self.explorerBinary())
    defer { session.tearDown() }
    try session.start(width: 120, height: 40)
    try await session.waitFor("Press L for the guided tour")
    session.keys("L")
    try await session.waitFor("Lessons (Enter starts, Esc closes)")
    session.keys("Enter")
    var screen = try await session.waitFor("Lesson start-here — page 1/")
    var pages = 0
    while !screen.contains("lesson finished"), pages < 20 {
      pages += 1
      if screen.contains("Press 1-") {
        // Any answer reveals the right one; pick 1 and read the verdict.
        session.keys("1")
        screen = try await session.waitUntil("the checkpoint's verdict") {
          $0.contains("Right") || $0.contains("Not quite")
        }
      }
      session.keys("]")
      screen = try await session.waitUntil("the next page") {
        $0.contains("lesson finished") || $0.contains("page \(pages + 1)/")
      }
    }
    #expect(screen.contains("lesson finished: L for another one"), "the lesson did not end:\n\(screen)")
    #expect(pages >= 5)
    session.keys("q")
    _ = try await session.waitForFile(session.exitFile, timeout: 10)
  }

  @Test(.enabled(if: tmuxPath != nil, "tmux is not installed: the end-to-end test needs it (scripts/install-deps)"))
  func dumbTerminalGetsAClearMessageAndExit2() async throws {
    let session = try TmuxSession(tmux: try #require(Self.tmuxPath), binary: try Self.explorerBinary())
    defer { session.tearDown() }
    try session.start(width: 120, height: 40, term: "dumb")
    let exitText = try await session.waitForFile(session.exitFile, timeout: 10)
    #expect(exitText.trimmingCharacters(in: .whitespacesAndNewlines) == "EXIT=2")
    let screen = session.capture()
    #expect(screen.contains("TERM=dumb cannot move the cursor"), "message:\n\(screen)")
  }

  /// Ctrl-C (through the terminal), SIGTERM and SIGHUP (sent to the process) each restore the
  /// terminal and exit with 128 + the signal number.
  @Test(
    .enabled(if: tmuxPath != nil, "tmux is not installed: the end-to-end test needs it (scripts/install-deps)"),
    arguments: [
      ("C-c", SIGINT), ("TERM", SIGTERM), ("HUP", SIGHUP), ("SEGV", SIGSEGV), ("C-\\", SIGQUIT), ("USR1", SIGUSR1),
      ("USR2", SIGUSR2), ("ALRM", SIGALRM), ("PIPE", SIGPIPE),
    ])
  func signalsRestoreTheTerminal(how: String, signal: Int32) async throws {
    let session = try TmuxSession(tmux: try #require(Self.tmuxPath), binary: try Self.explorerBinary())
    defer { session.tearDown() }
    // A crash signal goes on to Swift's backtracer after the terminal is restored; it would wait
    // for a key on a terminal, so it is turned off here and the default action ends the process.
    try session.start(width: 100, height: 30, environment: "-u NO_COLOR LANG=C.UTF-8 SWIFT_BACKTRACE=enable=no")
    try await session.waitFor("PCI tree")
    if how.hasPrefix("C-") {
      _ = try session.run(["send-keys", how])
    } else {
      let pid = try #require(session.explorerPID(), "explorer process not found under the pane")
      kill(pid, signal)
    }
    let exitText = try await session.waitForFile(session.exitFile, timeout: 10)
    #expect(exitText.trimmingCharacters(in: .whitespacesAndNewlines) == "EXIT=\(128 + signal)")
    #expect(session.display("#{alternate_on}") == "0", "alternate screen still on after \(how)")
    #expect(session.display("#{cursor_flag}") == "1", "cursor left hidden after \(how)")
    let after = session.capture()
    #expect(!after.contains("Backtrace") && !after.contains("Crash"), "\(how) printed a backtrace:\n\(after)")
  }

  /// Issue 13 item 6: under `timeout` the explorer runs in a background process group; the
  /// SIGTERM it gets must still end it (no SIGTTOU stop inside the terminal restore) and the
  /// terminal must be back in cooked mode with echo.
  @Test(
    .enabled(if: tmuxPath != nil && FileManager.default.isExecutableFile(atPath: "/bin/bash"), "needs tmux and bash"))
  func timeoutInABackgroundGroupRestoresTheTerminal() async throws {
    let session = try TmuxSession(tmux: try #require(Self.tmuxPath), binary: try Self.explorerBinary())
    defer { session.tearDown() }
    // No job control (a script, not an interactive shell): timeout's process group is not the
    // terminal's foreground group, so every terminal mode change raises SIGTTOU.
    let script = session.directory.appendingPathComponent("timeout.sh")
    try Data(
      ("timeout 3 '\(session.binary)'; echo rc=$?\n"
        + "stty -a | tr ' ' '\\n' | grep -x -e -icanon -e -echo -e icanon -e echo | sort | tr '\\n' ,\nsleep 30\n")
        .utf8
    ).write(to: script)
    try session.startRaw(
      "env -u NO_COLOR TERM=tmux-256color LANG=C.UTF-8 /bin/bash '\(script.path)'", width: 100, height: 30)
    let screen = try await session.waitFor("rc=124", timeout: 15)
    let modes = try await session.waitFor("echo,icanon,", timeout: 5)
    #expect(!modes.contains("-echo,") && !modes.contains("-icanon,"), "terminal left raw:\n\(screen)")
  }

  /// Colour, NO_COLOR, --no-color, --ascii and a non-UTF-8 locale, as the terminal receives them.
  @Test(
    .enabled(if: tmuxPath != nil, "tmux is not installed: the end-to-end test needs it (scripts/install-deps)"),
    arguments: [
      // `-u NO_COLOR`: the developer's or CI's own NO_COLOR must not decide the colour case.
      ("colour", "-u NO_COLOR LANG=C.UTF-8 LC_ALL=C.UTF-8", ""),
      ("NO_COLOR", "LANG=C.UTF-8 LC_ALL=C.UTF-8 NO_COLOR=1", ""),
      ("--no-color", "-u NO_COLOR LANG=C.UTF-8 LC_ALL=C.UTF-8", "--no-color"),
      ("--ascii", "-u NO_COLOR LANG=C.UTF-8 LC_ALL=C.UTF-8", "--ascii"),
      ("C locale", "-u NO_COLOR LANG=C LC_ALL=C", ""),
    ])
  func colourAndGlyphChoices(name: String, environment: String, arguments: String) async throws {
    let session = try TmuxSession(tmux: try #require(Self.tmuxPath), binary: try Self.explorerBinary())
    defer { session.tearDown() }
    try session.start(width: 100, height: 30, environment: environment, arguments: arguments)
    let plain = try await session.waitFor("PCI tree")
    let styled = session.capture(withEscapes: true)
    let hasColour = Self.hasForegroundColour(styled)
    if name == "NO_COLOR" || name == "--no-color" {
      #expect(!hasColour, "\(name): colour escapes found")
    } else {
      #expect(hasColour, "\(name): no colour escapes: \(styled.prefix(300).debugDescription)")
    }
    // Monochrome still shows the selection (reverse video) and emphasis (bold).
    #expect(
      styled.contains("\u{1b}[7m") || styled.contains(";7m") || styled.contains("[7;"), "\(name): no reverse video")
    let asciiOnly = plain.unicodeScalars.allSatisfy { $0.value < 0x80 }
    if name == "--ascii" || name == "C locale" {
      #expect(asciiOnly, "\(name): non-ASCII glyphs on screen:\n\(plain)")
      #expect(plain.contains("+-"), "\(name): no ASCII box corners")
    } else {
      #expect(plain.contains("┌─"), "\(name): no UTF-8 box drawing")
    }
  }

  /// Ctrl-Z gives the shell back with the terminal restored; `fg` brings the explorer back drawn.
  @Test(
    .enabled(if: tmuxPath != nil && FileManager.default.isExecutableFile(atPath: "/bin/bash"), "needs tmux and bash"))
  func suspendAndResume() async throws {
    let session = try TmuxSession(tmux: try #require(Self.tmuxPath), binary: try Self.explorerBinary())
    defer { session.tearDown() }
    try session.startRaw(
      "env -u NO_COLOR TERM=tmux-256color LANG=C.UTF-8 PS1='$ ' /bin/bash --norc --noprofile -i", width: 100, height: 30
    )
    try await session.waitFor("$")
    session.keys("'\(session.binary)'", "Enter")
    try await session.waitFor("PCI tree")
    _ = try session.run(["send-keys", "C-z"])
    try await session.waitFor("Stopped")
    #expect(session.display("#{alternate_on}") == "0", "alternate screen still on after Ctrl-Z")
    #expect(session.display("#{cursor_flag}") == "1", "cursor hidden after Ctrl-Z")
    session.keys("fg", "Enter")
    try await session.waitFor("PCI tree")
    #expect(session.display("#{alternate_on}") == "1", "explorer not back on the alternate screen after fg")
    // The very first key after fg must arrive (issue 13: it was reported lost): 'q' alone quits.
    session.keys("q")
    try await session.waitUntil("the shell prompt after quitting") { !$0.contains("PCI tree") }
    session.keys("echo rc=$?", "Enter")
    try await session.waitFor("rc=0")
  }

  /// Issue 13 item 9: `--topology -` on a terminal says it waits for input instead of sitting
  /// silent, then reads what is typed up to Ctrl-D.
  @Test(
    .enabled(if: tmuxPath != nil && FileManager.default.isExecutableFile(atPath: "/bin/bash"), "needs tmux and bash"))
  func standardInputOnATerminalSaysItWaits() async throws {
    let session = try TmuxSession(tmux: try #require(Self.tmuxPath), binary: try Self.explorerBinary())
    defer { session.tearDown() }
    try session.startRaw(
      "env -u NO_COLOR TERM=tmux-256color LANG=C.UTF-8 PS1='$ ' /bin/bash --norc --noprofile -i", width: 120, height: 30
    )
    try await session.waitFor("$")
    session.keys("'\(session.binary)' tree --topology - --format summary 2>&1", "Enter")
    try await session.waitFor("reading lspci output from standard input (Ctrl-D to end)")
    session.keys("00:00.0 Host bridge: Intel Corporation Device 09a2", "Enter")
    _ = try session.run(["send-keys", "C-d"])
    try await session.waitFor("<stdin>: 1 functions")
  }

  @Test func refusesToRunWithoutATerminal() throws {
    let binary = try Self.explorerBinary()
    let result = try Spawn.run([binary], stdinPath: "/dev/null")
    #expect(result.status == 2)
    #expect(result.stderr.contains("needs a terminal"))
    #expect(result.stderr.contains("'dmabuf-explorer tree'"))
  }

  /// True when an SGR sequence sets a foreground colour (30-37, 90-97, or 38;5;n).
  static func hasForegroundColour(_ text: String) -> Bool {
    let scalars = Array(text.unicodeScalars)
    var index = 0
    while index + 1 < scalars.count {
      defer { index += 1 }
      guard scalars[index] == "\u{1b}", scalars[index + 1] == "[" else { continue }
      var end = index + 2
      var parameters = ""
      while end < scalars.count, scalars[end] == ";" || ("0"..."9").contains(scalars[end]) {
        parameters.unicodeScalars.append(scalars[end])
        end += 1
      }
      guard end < scalars.count, scalars[end] == "m" else { continue }
      for parameter in parameters.split(separator: ";") {
        guard let value = Int(parameter) else { continue }
        if (30...37).contains(value) || (90...97).contains(value) || value == 38 { return true }
      }
    }
    return false
  }

  /// The built `dmabuf-explorer`, next to the test bundle (`.build/<config>/`).
  static func explorerBinary() throws -> String {
    let candidates = [
      Bundle.main.executablePath, CommandLine.arguments.first,
      try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"),
    ]
    for candidate in candidates.compactMap({ $0 }) {
      var directory = URL(fileURLWithPath: candidate).deletingLastPathComponent()
      for _ in 0..<4 {
        let binary = directory.appendingPathComponent("dmabuf-explorer").path
        if FileManager.default.isExecutableFile(atPath: binary) { return binary }
        directory = directory.deletingLastPathComponent()
      }
    }
    throw EndToEndError("dmabuf-explorer binary not found next to the test bundle; run 'swift build' first")
  }
}

struct EndToEndError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// A private tmux server in a temporary directory.
final class TmuxSession {
  let tmux: String
  let binary: String
  let directory: URL
  var socket: String { directory.appendingPathComponent("sock").path }
  var exitFile: String { directory.appendingPathComponent("exit").path }

  init(tmux: String, binary: String) throws {
    self.tmux = tmux
    self.binary = binary
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "dmabuf-e2e-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  func start(
    width: Int, height: Int, environment: String = "-u NO_COLOR LANG=C.UTF-8 LC_ALL=C.UTF-8", arguments: String = "",
    term: String = "tmux-256color"
  ) throws {
    // The pane runs the explorer, then records its exit status and stays open so we can inspect it.
    let command =
      "env \(environment) TERM=\(term) '\(binary)' \(arguments); echo EXIT=$? > '\(exitFile)'; sleep 60"
    let result = try run(["-f", "/dev/null", "new-session", "-d", "-x", "\(width)", "-y", "\(height)", command])
    guard result.status == 0 else { throw EndToEndError("tmux new-session failed: \(result.stderr)") }
    _ = try? run(["set", "-sg", "escape-time", "10"])
  }

  /// Starts the session running `command` as it is (a shell, for job-control tests).
  func startRaw(_ command: String, width: Int, height: Int) throws {
    let result = try run(["-f", "/dev/null", "new-session", "-d", "-x", "\(width)", "-y", "\(height)", command])
    guard result.status == 0 else { throw EndToEndError("tmux new-session failed: \(result.stderr)") }
  }

  @discardableResult
  func run(_ arguments: [String]) throws -> Spawn.Result { try Spawn.run([tmux, "-S", socket] + arguments) }

  /// Sends keys; each argument is a tmux key name or literal text.
  func keys(_ keys: String...) {
    for key in keys {
      let isKeyName = ["Enter", "Escape", "Tab", "Up", "Down", "End", "Home", "Space", "F3"].contains(key)
      _ = try? run(isKeyName ? ["send-keys", key] : ["send-keys", "-l", key])
    }
  }

  func resize(width: Int, height: Int) {
    _ = try? run(["resize-window", "-x", "\(width)", "-y", "\(height)"])
  }

  func capture(withEscapes: Bool = false) -> String {
    (try? run(withEscapes ? ["capture-pane", "-p", "-e"] : ["capture-pane", "-p"]))?.stdout ?? ""
  }

  func display(_ format: String) -> String {
    ((try? run(["display-message", "-p", format]))?.stdout ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// Polls the pane until `text` shows; returns the capture that had it.
  @discardableResult
  func waitFor(_ text: String, timeout: Double = 10) async throws -> String {
    let deadline = Date().addingTimeInterval(timeout)
    var last = ""
    // One look after the deadline too: a test thread starved by other suites must not time out
    // on a screen it never looked at.
    repeat {
      last = capture()
      if last.contains(text) { return last }
      try await Task.sleep(for: .milliseconds(50))
    } while Date() < deadline
    last = capture()
    if last.contains(text) { return last }
    throw EndToEndError("'\(text)' did not appear within \(timeout) s; the pane shows:\n\(last)")
  }

  /// Waits for `text`, then until two captures 100 ms apart agree: under load a capture can land
  /// in the middle of a frame, with the header of the new step and the body of the old one.
  func waitForSettled(_ text: String, timeout: Double = 10) async throws -> String {
    var last = try await waitFor(text, timeout: timeout)
    let deadline = Date().addingTimeInterval(2)
    while Date() < deadline {
      try await Task.sleep(for: .milliseconds(100))
      let next = capture()
      if next == last { break }
      last = next
    }
    return last
  }

  /// Polls the pane until `condition` holds for its capture.
  @discardableResult
  func waitUntil(_ what: String, timeout: Double = 10, _ condition: (String) -> Bool) async throws -> String {
    let deadline = Date().addingTimeInterval(timeout)
    var last = ""
    repeat {
      last = capture()
      if condition(last) { return last }
      try await Task.sleep(for: .milliseconds(50))
    } while Date() < deadline
    last = capture()
    if condition(last) { return last }
    throw EndToEndError("\(what) did not appear within \(timeout) s; the pane shows:\n\(last)")
  }

  func waitForFile(_ path: String, timeout: Double) async throws -> String {
    let deadline = Date().addingTimeInterval(timeout)
    repeat {
      if let text = try? String(contentsOfFile: path, encoding: .utf8), text.contains("\n") { return text }
      try await Task.sleep(for: .milliseconds(50))
    } while Date() < deadline
    if let text = try? String(contentsOfFile: path, encoding: .utf8), text.contains("\n") { return text }
    throw EndToEndError("the explorer did not exit within \(timeout) s; the pane shows:\n\(capture())")
  }

  /// The explorer's process id: the child of the pane's shell.
  func explorerPID() -> pid_t? {
    guard let shell = pid_t(display("#{pane_pid}")) else { return nil }
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    for entry in entries {
      guard let pid = pid_t(entry),
        let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
      else { continue }
      // Fields after the command name: state, ppid, ...
      let fields = stat[stat.index(after: close)...].split(separator: " ")
      if fields.count > 1, pid_t(fields[1]) == shell, stat.contains("(dmabuf-explore") { return pid }
    }
    return nil
  }

  func tearDown() {
    _ = try? run(["kill-server"])
    try? FileManager.default.removeItem(at: directory)
  }
}

/// `posix_spawn` + `waitpid` with an empty signal mask and default signal dispositions.
enum Spawn {
  struct Result {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  static func run(_ arguments: [String], stdinPath: String = "/dev/null") throws -> Result {
    let directory = FileManager.default.temporaryDirectory
    let token = UInt32.random(in: 0...UInt32.max)
    let outPath = directory.appendingPathComponent("spawn-\(getpid())-\(token).out").path
    let errPath = directory.appendingPathComponent("spawn-\(getpid())-\(token).err").path
    defer {
      unlink(outPath)
      unlink(errPath)
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, stdinPath, O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var emptyMask = sigset_t()
    sigemptyset(&emptyMask)
    posix_spawnattr_setsigmask(&attributes, &emptyMask)
    var defaults = sigset_t()
    sigfillset(&defaults)
    sigdelset(&defaults, SIGKILL)
    sigdelset(&defaults, SIGSTOP)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    // The environment from ProcessInfo: Swift 6 rejects the C global `environ`.
    var envp: [UnsafeMutablePointer<CChar>?] =
      ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { for pointer in envp { free(pointer) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, arguments[0], &actions, &attributes, &argv, &envp)
    guard spawned == 0 else { throw EndToEndError("cannot start \(arguments[0]): errno \(spawned)") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0, errno == EINTR {}
    let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
    return Result(status: exitStatus, stdout: out, stderr: err)
  }
}
