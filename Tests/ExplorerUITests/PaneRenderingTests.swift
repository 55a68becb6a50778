import ExplorerUI
import P2PDMA
import PCITopology
import Testing

@Suite("Panes render what a user reads")
struct PaneRenderingTests {
  @Test func treeShowsRailsNamesAndACSWarnings() {
    let screen = Fixtures.state().screen
    expectOnScreen(screen, "[0000:00] host bridge")
    expectOnScreen(screen, "├──00:00.0 Root Complex")
    expectOnScreen(screen, "03:00.0 Navi 31 GPU")
    // The downstream port with RR and CR set carries a warning; the one without does not.
    let redirecting = screen.lines.first { $0.contains("02:01.0") } ?? ""
    #expect(redirecting.contains("02:01.0 ACS:RR CR Switch Down 1"))
    let clean = screen.lines.first { $0.contains("02:00.0") } ?? ""
    #expect(clean.contains("02:00.0 Switch Down 0"))
    #expect(!clean.contains("ACS:"))
  }

  @Test func treeRailsNestBelowTheSwitch() {
    let lines = Fixtures.state().screen.lines
    // The GPU sits four levels deep: root port, switch upstream, downstream port, GPU.
    #expect(lines.contains { $0.contains("│ │ └─▾01:00.0") || $0.contains("│ └─▾01:00.0") })
    #expect(lines.contains { $0.contains("└──03:00.0 Navi 31 GPU") })
  }

  @Test func detailsDecodeACSCapabilityVersusControl() {
    var state = Fixtures.state()
    state.highlight(Fixtures.redirectingSwitchPort)
    let screen = state.screen
    expectOnScreen(screen, "0000:02:01.0  Switch Down 1")
    expectOnScreen(screen, "ACS     cap SV RR CR UF EC")
    expectOnScreen(screen, "ctl SV RR CR UF")
    expectOnScreen(screen, "RR CR set: P2P via host bridge")
    expectOnScreen(screen, "Port    Downstream Port")
  }

  @Test func detailsListExporterBuffersWithBARFit() {
    var state = Fixtures.state()
    state.highlight(Fixtures.gpu)
    let screen = state.screen
    expectOnScreen(screen, "BAR0    0x7000000000  16 GiB  64-bit pref")
    expectOnScreen(screen, "IOMMU   group 12")
    expectOnScreen(screen, "Driver  amdgpu  (profile amdgpu)")
    expectOnScreen(screen, "0 frame  256 MiB  VRAM  inside BAR")
    expectOnScreen(screen, "1 staging  64 MiB  SYSTEM")
  }

  @Test func statusLineShowsSourceKnobsAndHints() {
    let status = Fixtures.state().screen.lines[39]
    #expect(status.contains("built-in scenario: UI test fixture"))
    #expect(status.contains("CPU amd-zen"))
    #expect(status.contains("IOMMU off"))
    #expect(status.contains("kernel mainline"))
    #expect(status.contains("?:help"))
  }

  @Test func sequenceInvitesToStartBeforeAShare() {
    let screen = Fixtures.state().screen
    expectOnScreen(screen, "No share yet.")
    expectOnScreen(screen, "Decisions appear here once a share runs")
  }

  @Test func tooSmallTerminalShowsANote() {
    let screen = Fixtures.state(width: 60, height: 20).screen
    expectOnScreen(screen, "Terminal too small")
    expectOnScreen(screen, "60x20, need 80x24")
  }

  @Test func asciiModeDrawsOnlyASCII() {
    var state = Fixtures.state(glyphs: .ascii)
    state.press(.character("?"))
    let text = state.screen.text
    #expect(text.unicodeScalars.allSatisfy { $0.value < 0x80 })
    #expect(text.contains("+-"))
  }

  @Test func compactLayoutStillShowsEveryPane() {
    let screen = Fixtures.state(width: 80, height: 24).screen
    for title in ["PCI tree", "Details", "Sequence", "Decision", "sg table"] {
      #expect(screen.contains(title), "\(title) missing at 80x24")
    }
  }

  @Test func monochromeDistinctionsAreCarriedByAttributes() {
    // Badges and warnings are bold, the cursor is reverse: visible without colour.
    var state = Fixtures.state()
    state.highlight(Fixtures.gpu)
    state.press(.character("e"), .enter)
    let screen = state.screen
    guard let badge = screen.find("[EXP]"), let warning = screen.find("ACS:RR CR") else {
      Issue.record("badge or ACS warning missing")
      return
    }
    #expect(screen.style(x: badge.x, y: badge.y)?.bold == true)
    #expect(screen.style(x: badge.x, y: badge.y)?.reverse == true)  // the cursor row
    let warningStyle = screen.style(x: warning.x, y: warning.y)
    #expect(warningStyle?.bold == true)
    #expect(warningStyle?.role == .warning)
  }
}
