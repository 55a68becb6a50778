import Assets
import DMABufSim
import ExplorerCLI
import ExplorerUI
import Foundation
import P2PDMA
import PCITopology
import Testing

/// Lessons as data: every script loads, every outcome a lesson states holds in the engine (so a
/// lesson cannot drift from the code), a malformed script names its file and line, and a student
/// can walk a lesson from L to its end in the explorer.
@Suite("Lessons")
struct LessonTests {
  @Test func everyBuiltinLessonLoadsAndTheTourComesFirst() throws {
    let lessons = try LessonLibrary.builtin()
    #expect(lessons.map(\.name) == BuiltinAssets.lessonNames)
    #expect(lessons.count == 10)
    #expect(lessons.first?.name == "start-here")
    #expect(lessons.first?.machineName == "teaching-workstation")
    #expect((lessons.first?.pages.count ?? 0) >= 5)
  }

  /// Every `expect` of every script, checked against P2PEngine (pairs) and the dma-buf simulator
  /// (importers of the page's share), with the page's what-ifs.
  @Test func everyOutcomeALessonStatesHoldsInTheEngine() throws {
    var checked = 0
    for lesson in try LessonLibrary.builtin() {
      for page in lesson.pages where !page.expectations.isEmpty {
        let topology = try #require(lesson.machine, "\(lesson.source): a script with outcomes names its machine")
        var configuration = P2PConfiguration(inferringFrom: topology)
        if let cpu = page.cpu { configuration.cpu = cpu }
        if let iommu = page.iommu { configuration.iommu = iommu }
        configuration.disableACSRedirect = page.disableACSRedirect
        let engine = P2PEngine(topology: topology, configuration: configuration)
        var simulation: ShareSimulation?
        if let share = page.share {
          simulation = try DMABufSimulator.simulate(
            topology: topology,
            request: ShareRequest(
              exporter: share.exporter, bufferName: share.buffer, importers: share.importers,
              configuration: configuration))
        }
        for expectation in page.expectations {
          let place = "\(lesson.source):\(expectation.line)"
          if let provider = expectation.provider, let client = expectation.client {
            let providerIndex = try #require(topology.index(of: provider))
            let clientIndex = try #require(topology.index(of: client))
            let verdict = engine.verdict(providerIndex: providerIndex, clientIndex: clientIndex, verbose: false)
            #expect(verdict.mapType == expectation.mapType, "\(place): \(provider) -> \(client)")
          }
          if let importer = expectation.importer {
            let result = try #require(
              simulation?.attachments.first { $0.importer == importer }, "\(place): \(importer) is not in the share")
            if let mapType = expectation.mapType { #expect(result.mapType == mapType, "\(place): map type") }
            if let peer2peer = expectation.peer2peer { #expect(result.peer2peer == peer2peer, "\(place): peer2peer") }
            if let mapped = expectation.mapped {
              #expect(
                (result.sgTable != nil && result.error == nil) == mapped, "\(place): mapped (\(result.error ?? "-"))")
            }
            if let placement = expectation.placement {
              #expect(result.placement.rawValue == placement, "\(place): placement")
            }
          }
          checked += 1
        }
      }
    }
    #expect(checked >= 7, "the scripts state at least the tour's outcomes")
  }

  @Test(arguments: [
    ("{\n  \"pages\": [\n    { \"say\": \"x\", \"cpu\": \"arm\" }\n  ]\n}\n", 3, "cpu 'arm'"),
    ("{\n  \"pages\": [\n    { \"sayy\": \"x\" }\n  ]\n}\n", 3, "unknown key 'sayy'"),
    (
      "{\n  \"pages\": [\n    { \"say\": \"x\",\n      \"predict\": { \"question\": \"q\", \"choices\": [\"a\", \"b\"], \"answer\": 3, \"why\": \"w\" } }\n  ]\n}\n",
      4, "'answer' must be"
    ),
    (
      "{\n  \"machine\": \"teaching-workstation\",\n  \"pages\": [ { \"say\": \"x\", \"highlight\": \"0000:99:00.0\" } ]\n}\n",
      3, "not on the lesson's machine"
    ),
    ("{\n  \"pages\": [\n    { \"say\": \"x\" },,\n  ]\n}\n", 3, "expected a value"),
  ])
  func malformedScriptNamesFileAndLine(script: String, line: Int, words: String) throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lesson-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("mine.steps.json").path
    try Data(script.utf8).write(to: URL(fileURLWithPath: file))
    do {
      _ = try LessonLibrary.load(file: file)
      Issue.record("a malformed script was accepted")
    } catch {
      let message = "\(error)"
      #expect(message.hasPrefix("\(file):\(line): "), "message: \(message)")
      #expect(message.contains(words), "message: \(message)")
    }
  }

  /// A student finishes start-here in the explorer without reading any file: L, Enter, then
  /// ] through every page, answering each checkpoint.
  @Test func startHereCanBeFinishedFromL() throws {
    let lessons = try LessonLibrary.builtin()
    let topology = try TopologyResolver.resolve(nil)
    var state = ExplorerState(
      topology: topology, configuration: P2PConfiguration(inferringFrom: topology), width: 120, height: 40,
      lessons: lessons, backendFactory: KernelBackend.factory)
    #expect(ExplorerRenderer.render(state).text.contains("Press L for the guided tour"))
    state.handle(.key(.character("L")))
    #expect(state.overlay == .lessonList)
    state.handle(.key(.enter))
    let tour = lessons[0]
    for (number, page) in tour.pages.enumerated() {
      #expect(state.lessonRun?.page == number)
      let screen = ExplorerRenderer.render(state).text
      #expect(screen.contains("Lesson start-here — page \(number + 1)/\(tour.pages.count)"))
      if let predict = page.predict {
        #expect(screen.contains("Predict:"))
        // Before the answer, the panes must not show it: the playback waits before the step
        // named by predict_before.
        if let before = page.predictBefore, let run = state.run {
          let stop =
            run.steps.firstIndex { $0.function == before } ?? run.steps.firstIndex { $0.function.contains(before) }
          #expect(
            stop.map { state.playback.step == max(0, $0 - 1) } ?? false, "page \(number + 1) waits before \(before)")
        }
        state.handle(.key(.character(Character(String(predict.answer + 1)))))
        #expect(ExplorerRenderer.render(state).text.contains("✓ Right"), "page \(number + 1)")
        if let share = page.share {
          #expect(state.importers == share.importers.compactMap { state.topology.index(of: $0) })
        }
      }
      if page.share != nil {
        #expect(state.run != nil, "page \(number + 1) loads its share")
      }
      state.handle(.key(.character("]")))
    }
    #expect(state.lessonRun == nil)
    #expect(state.message == "lesson finished: L for another one")
  }

  /// Every lesson, scripted or not, can be walked from its first page to its end; every share a
  /// page loads simulates without an error.
  @Test func everyLessonCanBeWalkedToItsEnd() throws {
    let lessons = try LessonLibrary.builtin()
    let topology = try TopologyResolver.resolve(nil)
    for (index, lesson) in lessons.enumerated() {
      var state = ExplorerState(
        topology: topology, configuration: P2PConfiguration(inferringFrom: topology), width: 120, height: 40,
        lessons: lessons, backendFactory: KernelBackend.factory)
      state.startLesson(index)
      for page in lesson.pages {
        if let share = page.share {
          let expected = share.importers.compactMap { state.topology.index(of: $0) }
          #expect(state.importers == expected, "\(lesson.source):\(page.line): importers \(state.importers)")
          #expect(state.exporter == state.topology.index(of: share.exporter))
          #expect(state.run?.attachments.map(\.importer) == expected)
          #expect(
            state.run != nil, "\(lesson.source):\(page.line): the page's share did not run: \(state.message ?? "")")
        }
        #expect(state.overlay == nil, "\(lesson.source):\(page.line): \(String(describing: state.overlay))")
        state.handle(.key(.character("]")))
      }
      #expect(state.lessonRun == nil, "\(lesson.name) did not end")
    }
  }

  @Test func lessonsSubcommandListsAndPrints() throws {
    let list = try runCLI(["lessons"])
    #expect(list.status == 0)
    for name in BuiltinAssets.lessonNames { #expect(list.stdout.contains(name)) }
    #expect(list.stdout.hasPrefix("start-here "))
    let one = try runCLI(["lessons", "importers"])
    #expect(one.status == 0)
    #expect(one.stdout.hasPrefix("Static and dynamic importers\n============================\n"))
    #expect(!one.stdout.contains("**"))
    let missing = try runCLI(["lessons", "nope"])
    #expect(missing.status == 2)
    #expect(missing.stderr.contains("no lesson named 'nope'"))
  }
}
