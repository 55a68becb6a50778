import ExplorerUI
import Foundation

/// The event loop: render the state into an in-memory screen, flush it, wait for an event, update.
/// It blocks in the terminal read with no timeout unless a share is playing, so an idle explorer
/// uses no CPU.
@MainActor
struct TerminalApp {
  var state: ExplorerState
  var stats = FrameStats()
  /// When the program started, for the "first frame after launch" figure.
  let launchedAt: ContinuousClock.Instant
  private(set) var launchToFirstFrame: Duration?

  init(state: ExplorerState, launchedAt: ContinuousClock.Instant) {
    self.state = state
    self.launchedAt = launchedAt
  }

  /// Runs until the user quits.
  mutating func run(on terminal: NcursesTerminal) {
    let clock = ContinuousClock()
    var nextTick: ContinuousClock.Instant?
    // The terminal may not have the size the state was created with.
    let (width, height) = terminal.size
    state.handle(.resize(width: width, height: height))
    var frameStart = clock.now
    var dirty = true
    while true {
      if dirty {
        let screen = ExplorerRenderer.render(state)
        terminal.flush(screen, force: state.needsFullRedraw)
        state.needsFullRedraw = false
        let frameEnd = clock.now
        stats.record(milliseconds: Self.milliseconds(frameEnd - frameStart))
        if launchToFirstFrame == nil { launchToFirstFrame = frameEnd - launchedAt }
      }
      if state.shouldQuit { return }
      // Wait: forever when idle (no CPU), until the next tick when playing.
      var timeout: Int?
      if state.isAnimating {
        let deadline = nextTick ?? clock.now.advanced(by: .milliseconds(state.playback.interval))
        nextTick = deadline
        timeout = max(0, Int(Self.milliseconds(deadline - clock.now).rounded(.up)))
      } else {
        nextTick = nil
      }
      let event = terminal.nextEvent(timeoutMilliseconds: timeout)
      frameStart = clock.now
      dirty = false
      if let event {
        state.handle(event)
        dirty = true
        // Drain what is already queued (key repeat, a burst of resizes) before drawing again;
        // this also empties ncurses' own buffer, so the next poll() cannot miss buffered keys.
        while !state.shouldQuit, let queued = terminal.nextEvent(timeoutMilliseconds: 0) {
          state.handle(queued)
        }
      } else if let deadline = nextTick, clock.now >= deadline {
        state.handle(.tick)
        nextTick = nil
        dirty = true
      }
    }
  }

  static func milliseconds(_ duration: Duration) -> Double {
    let (seconds, attoseconds) = duration.components
    return Double(seconds) * 1000 + Double(attoseconds) / 1e15
  }

  /// `first frame 120.5 ms after launch; frames 42, ... p50 ..., p99 ...`.
  var statsReport: String {
    let first = launchToFirstFrame.map { "\((Self.milliseconds($0) * 10).rounded() / 10) ms" } ?? "-"
    return "render: first frame \(first) after launch; \(stats.summary)"
  }
}
