import Testing

@testable import P2PDMA

@Suite struct KernelReleaseTests {
  @Test func parsesShortAndUnameForms() throws {
    let plain = try KernelRelease(parsing: "6.12")
    #expect(plain == KernelRelease(major: 6, minor: 12))
    #expect(plain.description == "6.12")
    let ubuntu = try KernelRelease(parsing: "6.8.0-49-generic")
    #expect(ubuntu.major == 6 && ubuntu.minor == 8 && ubuntu.sublevel == 0)
    #expect(ubuntu.suffix == "-49-generic")
    #expect(ubuntu.description == "6.8.0-49-generic")
    #expect(ubuntu.series == "6.8")
    let rhel9 = try KernelRelease(parsing: "5.14.0-362.el9.x86_64")
    #expect(rhel9.series == "5.14" && !rhel9.isRHEL8Backport)
    #expect(try KernelRelease(parsing: " v5.10.198 ").description == "5.10.198")
    #expect(try KernelRelease(parsing: "MainLine") == .mainline)
  }

  @Test(arguments: ["", "abc", "6", "6.", "6.x", "6.8junk", "6.8.", "1.2", "6.99", "mainline2"])
  func rejectsGarbage(text: String) {
    #expect(throws: KernelReleaseError.self) { try KernelRelease(parsing: text) }
  }

  @Test func ordersReleasesWithMainlineLast() throws {
    let releases = try ["mainline", "6.12", "5.4", "4.20", "6.1", "5.10.198"].map(KernelRelease.init(parsing:))
    #expect(releases.sorted().map(\.description) == ["4.20", "5.4", "5.10.198", "6.1", "6.12", "mainline"])
    #expect(try KernelRelease(parsing: "6.8") < KernelRelease(parsing: "6.8.0-49-generic"))
  }

  @Test func rhel8CarriesTheBackportAndOlderReleasesHaveNoP2PDMA() throws {
    let rhel8 = try KernelRelease(parsing: "4.18.0-553.el8_10.x86_64")
    #expect(rhel8.isRHEL8Backport && rhel8.hasP2PDMA)
    #expect(rhel8.has(.amdRootComplexAllowlist))
    #expect(!rhel8.has(.acsRedirectThroughHostBridge))
    let stock = try KernelRelease(parsing: "4.19")
    #expect(!stock.hasP2PDMA)
    #expect(stock.modelNotes.contains { $0.contains("P2PDMA did not exist in 4.19") })
    #expect(try KernelRelease(parsing: "4.20").hasP2PDMA)
  }

  @Test func changesApplyFromTheReleaseTheyLandedIn() throws {
    #expect(!(try KernelRelease(parsing: "5.8")).has(.cpuRuleAMDZen))
    #expect(try KernelRelease(parsing: "5.9").has(.cpuRuleAMDZen))
    #expect(!(try KernelRelease(parsing: "7.3")).has(.allowlistZhaoxin))
    #expect(KernelRelease.mainline.has(.allowlistZhaoxin))
    #expect(KernelChange.allCases.allSatisfy { KernelRelease.mainline.has($0) })
  }

  @Test func everyChangeHasOneRowWithASource() {
    #expect(KernelChanges.all.count == KernelChange.allCases.count)
    #expect(Set(KernelChanges.all.map(\.id)).count == KernelChange.allCases.count)
    for entry in KernelChanges.all {
      #expect(!entry.source.isEmpty && !entry.summary.isEmpty)
      if !entry.confirmed { #expect(entry.note?.isEmpty == false, "\(entry.id) is UNCONFIRMED without saying why") }
    }
  }

  @Test func moveNotifyExistsFrom5Point7UntilSevenPointZero() throws {
    #expect(try KernelRelease(parsing: "5.6").moveNotifyOption == .absent)
    #expect(try KernelRelease(parsing: "5.7").moveNotifyOption == .configurable)
    #expect(try KernelRelease(parsing: "7.0").moveNotifyOption == .configurable)
    #expect(try KernelRelease(parsing: "7.1").moveNotifyOption == .alwaysOn)
    #expect(KernelContext(release: try KernelRelease(parsing: "6.12"), source: .given).dmabufMoveNotify == false)
    #expect(KernelContext.mainline.dmabufMoveNotify == true)
    let set = try KernelContext(
      release: try KernelRelease(parsing: "6.12"), source: .given, dmabufMoveNotify: true, moveNotifySource: "given")
    #expect(set.dmabufMoveNotify)
    #expect(throws: KernelContextError.self) {
      try KernelContext(release: .mainline, source: .given, dmabufMoveNotify: false, moveNotifySource: "given")
    }
    #expect(throws: KernelContextError.self) {
      try KernelContext(
        release: try KernelRelease(parsing: "5.4"), source: .given, dmabufMoveNotify: true, moveNotifySource: "given")
    }
  }

  @Test func cycleWrapsAndStartsFromMainline() throws {
    #expect(KernelRelease.mainline.next() == KernelRelease.rhel8)
    #expect(KernelRelease.interfaceCycle.last!.next() == .mainline)
    #expect(try KernelRelease(parsing: "6.9").next() == .mainline)
    let context = KernelContext.mainline.nextInCycle()
    #expect(context.release == .rhel8 && context.source == .given && context.dmabufMoveNotify == false)
    let withMoveNotify = try KernelContext(
      release: KernelRelease(major: 6, minor: 8), source: .running, dmabufMoveNotify: true, moveNotifySource: "config")
    #expect(withMoveNotify.nextInCycle().release.series == "6.12" && withMoveNotify.nextInCycle().dmabufMoveNotify)
    #expect(withMoveNotify.switched(to: .mainline).dmabufMoveNotify)
  }
}
