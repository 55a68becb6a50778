/// Rebuilds the bridge hierarchy of a listing that names bridges but not their bus numbers
/// (plain `lspci`, `lspci -nn`, `lspci -k`): without `Bus: primary= secondary= subordinate=`
/// every bus would look like a root bus, and every pair across buses like a host-bridge path.
///
/// The model is how firmware (and Linux with `pci=assign-busses`) numbers buses: depth first,
/// bridges in devfn order on each bus, and every bridge takes the next free number as its
/// secondary bus, *whether or not anything sits below it*; its subordinate is the last number
/// used in its subtree. So a bus number missing from the listing is the secondary bus of an
/// empty bridge, and the gaps tell which bridges are empty. (Taking "the lowest bus present in
/// the listing" instead gets real machines wrong: on the gpu-8 server root port 00:01.0 is
/// empty with bus 01, and the switch on bus 02 belongs to 00:02.0.)
///
/// Two things break pure consecutive numbering, and both are handled:
/// * Several root complexes in one domain (EPYC: buses 00/20/40/60...; Xeon uncore bus ff): a
///   bus the depth-first walk does not reach starts a new root bus. A root bus normally starts
///   with a host bridge (class 0600) at 00.0, which is how AMD and Intel root complexes appear;
///   Ice Lake and later Xeon stacks start with VT-d at 00.0 and root ports after it, and uncore
///   buses have functions above device 0. Neither can be behind a PCIe port (only device 0
///   answers there), so they are root buses too.
/// * Firmware reserving bus numbers for hotplug ports (Thunderbolt `[04-2d]`, ExpressCard):
///   a bus that no bridge reaches consecutively and that does not look like a root bus is
///   placed after such a reservation. Every explanation is tried (which bridge takes the bus,
///   or a root bus), each reservation and each root bus without a host bridge costs, and the
///   cheapest wins. Ties between sibling bridges go to the last one: reservations belong to the
///   empty ports before it. Ties between different parent buses are ambiguous: the bus is
///   treated as a root bus (what the loader did before) and a warning names it.
///
/// What no listing without bus numbers can reveal (hence the warning asking for `lspci -t`):
/// firmware that does not number in devfn order (a Dell R730-class server numbers its onboard
/// NICs' root ports first) gets a plausible but wrong order among sibling root ports; bridges
/// that firmware left unconfigured (Linux numbers them after everything else) are read as
/// empty bridges in devfn order.
enum BusNumberInference {
  /// True when the functions have bridges and no bridge knows its secondary bus.
  static func isNeeded(_ functions: [PCIFunction]) -> Bool {
    functions.contains { $0.isBridge } && !functions.contains { $0.isBridge && $0.secondaryBus != nil }
  }

  /// Sets primary/secondary/subordinate bus numbers on the bridges and returns the warnings to
  /// show (always at least the one saying the hierarchy was inferred).
  static func infer(_ functions: inout [PCIFunction], path: String?) -> [LoadWarning] {
    var byDomain: [UInt32: [Int]] = [:]
    for index in functions.indices { byDomain[functions[index].bdf.domain, default: []].append(index) }
    var roots: [BusID] = []
    var notes: [String] = []
    for domain in byDomain.keys.sorted() {
      guard let members = byDomain[domain] else { continue }
      var solver = DomainSolver(functions: functions, members: members)
      let solution = solver.solve()
      for assignment in solution.assignments {
        functions[assignment.bridge].primaryBus = functions[assignment.bridge].bdf.bus
        functions[assignment.bridge].secondaryBus = assignment.secondary
        functions[assignment.bridge].subordinateBus = assignment.subordinate
      }
      roots += solution.roots.map { BusID(domain: domain, bus: $0) }
      // Root buses without a host bridge in one line: Ice Lake Xeons have a dozen of them.
      var unexplained: [BusID] = []
      for note in solution.notes {
        if case .unexplainedRoot(let bus) = note {
          unexplained.append(BusID(domain: domain, bus: bus))
        } else {
          notes.append(note.message(domain: domain, functions: functions))
        }
      }
      if !unexplained.isEmpty {
        let plural = unexplained.count > 1
        notes.append(
          "bus\(plural ? "es" : "") \(list(unexplained)): no host bridge at 00.0 and no bridge reaches "
            + "\(plural ? "them" : "it") in depth-first numbering: treated as root bus\(plural ? "es" : "")")
      }
      if solver.budgetExhausted {
        notes.append(
          "domain \(hex(domain, width: 4)): too many gaps in the bus numbers to weigh every explanation; "
            + "later buses went to the first explanations tried, or became root buses")
      }
    }
    return [
      LoadWarning(
        "hierarchy inferred from bus numbers (plain lspci listing has no bridge bus numbers); check with lspci -t "
          + "(root buses: \(list(roots)))", file: path)
    ] + notes.map { LoadWarning($0, file: path) }
  }

  /// `0000:00, 0000:20, ...`, at most 12 shown so a warning stays one readable line.
  static func list(_ buses: [BusID]) -> String {
    let names = buses.prefix(12).map(\.description).joined(separator: ", ")
    return buses.count > 12 ? names + ", ..." : names
  }

  // MARK: Search

  /// A bridge's inferred bus numbers.
  struct Assignment: Equatable {
    var bridge: Int
    var secondary: UInt8
    var subordinate: UInt8
  }

  /// Something the user should know about one bus, kept as data while the search runs (copied
  /// on every branch) and worded once the domain is solved.
  enum PendingNote {
    /// The bus came after a gap no consecutive numbering explains; `bridge` took it.
    case reservation(bus: UInt8, bridge: Int)
    /// Root bus without a host bridge at 00.0 that no bridge could reach.
    case unexplainedRoot(bus: UInt8)
    /// Several parents explain the bus equally well: it was made a root bus.
    case ambiguous(bus: UInt8, candidates: [Int])
    /// A bridge would have taken a root complex's bus: left unnumbered.
    case unnumbered(bridge: Int, bus: UInt8?)

    func message(domain: UInt32, functions: [PCIFunction]) -> String {
      func name(_ bus: UInt8) -> String { BusID(domain: domain, bus: bus).description }
      switch self {
      case .reservation(let bus, let bridge):
        return "bus \(name(bus)) follows a gap in the bus numbers that only reserved numbers explain "
          + "(hotplug port?): placed under \(functions[bridge].bdf); a guess, check with lspci -t"
      case .unexplainedRoot(let bus):
        return "bus \(name(bus)): no host bridge at 00.0 and no bridge reaches it: treated as a root bus"
      case .ambiguous(let bus, let candidates):
        let shown = candidates.prefix(4).map { functions[$0].bdf.description }.joined(separator: ", ")
        return "bus \(name(bus)) could hang below \(shown)\(candidates.count > 4 ? ", ..." : "") equally well: "
          + "treated as a root bus; check with lspci -t"
      case .unnumbered(let bridge, let bus):
        let reason =
          bus.map { "its bus number would be \(name($0)), which looks like a root complex's bus" }
          ?? "no bus numbers left in the domain"
        return "bridge \(functions[bridge].bdf) left without bus numbers: \(reason)"
      }
    }
  }

  /// Costs of the explanations: consecutive numbering is free; a reserved gap is cheaper than a
  /// root bus without a host bridge (a bus with devices behind an unexplained gap is more often
  /// a hotplug port's than a host bridge's); a bridge that cannot be numbered is worst.
  static let reservationCost = 2
  static let unexplainedRootCost = 3
  static let unnumberedCost = 4
  /// Explanations tried per domain before giving up on the search (each costs one walk).
  static let searchBudget = 400

  /// One bus on the depth-first stack.
  struct Frame {
    var bus: UInt8
    /// Position in `bridgesOnBus[bus]` of the next bridge to number.
    var position: Int
    /// Index in `State.assignments` of the bridge whose secondary bus this is (nil for a
    /// root bus), so its subordinate can be set when the walk leaves the bus.
    var above: Int?
  }

  /// The walk so far: everything the rest of the walk depends on, plus what it produced.
  struct State {
    var counter = -1
    /// Index into `presentBuses` of the lowest bus not yet placed: buses are placed in
    /// increasing order, so the placed ones are a prefix.
    var next = 0
    var stack: [Frame] = []
    var cost = 0
    /// Bridges still to leave empty before `jumpTarget` is taken (a chosen explanation).
    var emptyBeforeJump = 0
    var jumpTarget: Int?
    var assignments: [Assignment] = []
    var roots: [UInt8] = []
    var notes: [PendingNote] = []
  }

  struct Solution {
    var assignments: [Assignment]
    var roots: [UInt8]
    var notes: [PendingNote]
  }

  struct DomainSolver {
    let functions: [PCIFunction]
    /// Buses with at least one function, ascending.
    let presentBuses: [UInt8]
    /// Bridges on each bus in devfn order (indices into `functions`).
    let bridgesOnBus: [[Int]]
    /// Buses that cannot sit below a bridge: a host bridge at 00.0 (AMD, older Intel), or a
    /// non-bridge at 00.0 with bridges at other devices (Ice Lake and later Xeon stacks: VT-d
    /// at 00.0, root ports after it). Behind a port only device 0 answers, and a switch's
    /// internal bus holds downstream ports, so neither shape can be a bridge's bus.
    let isRootComplexBus: [Bool]
    /// Buses that are probably root buses: the above, or non-bridge functions above device 0
    /// (Intel uncore buses). Conventional PCI buses behind a PCIe-to-PCI bridge can look like
    /// that too, so consecutive numbering may still put such a bus below a bridge; it only
    /// decides that a bus after a gap is a root bus rather than a reservation.
    let looksLikeRoot: [Bool]
    var budget = BusNumberInference.searchBudget
    var budgetExhausted = false

    init(functions: [PCIFunction], members: [Int]) {
      self.functions = functions
      var byBus = [[Int]](repeating: [], count: 256)
      for index in members { byBus[Int(functions[index].bdf.bus)].append(index) }
      for bus in 0..<256 { byBus[bus].sort { functions[$0].bdf.devfn < functions[$1].bdf.devfn } }
      presentBuses = (0..<256).filter { !byBus[$0].isEmpty }.map { UInt8($0) }
      bridgesOnBus = byBus.map { bus in bus.filter { functions[$0].isBridge && !functions[$0].isPoweredOff } }
      let rootComplex = byBus.map { bus -> Bool in
        guard let first = bus.first, functions[first].bdf.devfn == 0 else { return false }
        if functions[first].isHostBridgeClass { return true }
        return !functions[first].isBridge
          && bus.contains { functions[$0].isBridge && functions[$0].bdf.device != 0 }
      }
      isRootComplexBus = rootComplex
      looksLikeRoot = byBus.indices.map { bus in
        // Below a PCIe port only device 0 answers (Linux `only_one_child`).
        rootComplex[bus]
          || byBus[bus].contains { !functions[$0].isBridge && functions[$0].bdf.device != 0 }
      }
    }

    mutating func solve() -> Solution {
      let state = run(State())
      return Solution(assignments: state.assignments, roots: state.roots, notes: state.notes)
    }

    /// How many bridges are still to be numbered on the stack.
    func remainingCount(_ stack: [Frame]) -> Int {
      stack.reduce(0) { $0 + bridgesOnBus[Int($1.bus)].count - $1.position }
    }

    /// Bridges still to be numbered on the stack, in walk order (top frame first).
    func remainingBridges(_ stack: [Frame]) -> [Int] {
      var result: [Int] = []
      for frame in stack.reversed() {
        let bridges = bridgesOnBus[Int(frame.bus)]
        if frame.position < bridges.count { result += bridges[frame.position...] }
      }
      return result
    }

    /// Walks from `state` to the end of the domain, choosing the cheapest explanation at every
    /// point where consecutive numbering cannot reach the next bus.
    mutating func run(_ start: State) -> State {
      var state = start
      while true {
        guard var frame = state.stack.last else {
          // A new root bus: the lowest bus not placed yet.
          guard state.next < presentBuses.count else { return state }
          let bus = presentBuses[state.next]
          if !state.roots.isEmpty, !looksLikeRoot[Int(bus)] {
            state.cost += BusNumberInference.unexplainedRootCost
            state.notes.append(.unexplainedRoot(bus: bus))
          }
          state.roots.append(bus)
          state.next += 1
          // A root bus chosen at a gap ends that choice.
          state.jumpTarget = nil
          state.emptyBeforeJump = 0
          state.counter = max(state.counter, Int(bus))
          state.stack.append(Frame(bus: bus, position: 0, above: nil))
          continue
        }
        let bridges = bridgesOnBus[Int(frame.bus)]
        if frame.position == bridges.count {
          state.stack.removeLast()
          if let above = frame.above { state.assignments[above].subordinate = UInt8(state.counter) }
          continue
        }
        let bridge = bridges[frame.position]
        let number = state.counter + 1
        let target = state.next < presentBuses.count ? Int(presentBuses[state.next]) : nil

        if state.jumpTarget == nil, let target, target > number, !looksLikeRoot[target] {
          // The next bus lies beyond a gap. Consecutive numbering reaches it when enough
          // bridges remain to use up the gap; otherwise choose an explanation.
          if target - number + 1 > remainingCount(state.stack) {
            return choose(state, target: target, remaining: remainingBridges(state.stack))
          }
        }

        frame.position += 1
        state.stack[state.stack.count - 1] = frame
        if number > 0xff {
          state.cost += BusNumberInference.unnumberedCost
          state.notes.append(.unnumbered(bridge: bridge, bus: nil))
          continue
        }
        if state.emptyBeforeJump == 0, let target, target == number {
          if isRootComplexBus[target] {
            // A root complex behind a bridge does not happen: the numbering is not
            // consecutive here, and the bus stays a root bus.
            state.cost += BusNumberInference.unnumberedCost
            state.notes.append(.unnumbered(bridge: bridge, bus: UInt8(target)))
            continue
          }
          state.jumpTarget = nil
          state.assignments.append(Assignment(bridge: bridge, secondary: UInt8(number), subordinate: UInt8(number)))
          state.counter = number
          state.next += 1
          state.stack.append(Frame(bus: UInt8(number), position: 0, above: state.assignments.count - 1))
          continue
        }
        // An empty bridge: it still uses one bus number.
        var subordinate = number
        if state.emptyBeforeJump > 0 {
          state.emptyBeforeJump -= 1
          if state.emptyBeforeJump == 0, let jump = state.jumpTarget {
            // The last empty bridge before the chosen one holds the reserved numbers.
            subordinate = max(number, jump - 1)
          }
        }
        state.assignments.append(
          Assignment(bridge: bridge, secondary: UInt8(number), subordinate: UInt8(subordinate)))
        state.counter = subordinate
      }
    }

    /// At a gap consecutive numbering cannot cross: try each remaining bridge as the one that
    /// takes `target` (those before it empty, the last of them holding reserved numbers), and
    /// `target` as a root bus; keep the cheapest.
    mutating func choose(_ state: State, target: Int, remaining: [Int]) -> State {
      var rootOption = state
      rootOption.emptyBeforeJump = remaining.count
      rootOption.jumpTarget = nil
      // Once the budget is spent, fall back to the loader's old answer (a root bus).
      guard budget > 0 else {
        budgetExhausted = true
        return runRootOption(rootOption)
      }
      var results: [(cost: Int, state: State, taker: Int)] = []
      for (skip, taker) in remaining.enumerated() {
        // Keep what was weighed so far; each further option is another whole walk.
        guard budget > 0 else {
          budgetExhausted = true
          break
        }
        budget -= 1
        var option = state
        option.cost += BusNumberInference.reservationCost
        option.notes.append(.reservation(bus: UInt8(target), bridge: taker))
        option.jumpTarget = target
        option.emptyBeforeJump = skip
        if skip == 0 { option.counter = target - 1 }  // the gap comes before this bridge
        let finished = run(option)
        results.append((finished.cost, finished, taker))
      }
      budget -= 1
      let rootResult = runRootOption(rootOption)
      let best = min(rootResult.cost, results.map(\.cost).min() ?? Int.max)
      let tied = results.filter { $0.cost == best }
      if tied.isEmpty { return rootResult }
      let parents = Set(tied.map { functions[$0.taker].bdf.bus })
      if parents.count > 1 {
        var fallback = rootResult
        // As good as the explanations it stands for, so choices further up are not skewed.
        fallback.cost = best
        // One warning for the bus: the ambiguity, not also "no bridge reaches it".
        fallback.notes.removeAll { note in
          if case .unexplainedRoot(let bus) = note { return Int(bus) == target }
          return false
        }
        fallback.notes.append(.ambiguous(bus: UInt8(target), candidates: tied.map(\.taker)))
        return fallback
      }
      // Siblings: the last one (reserved numbers belong to the empty ports before it).
      return tied[tied.count - 1].state
    }

    /// Leaves every remaining bridge empty so `target` becomes a root bus.
    mutating func runRootOption(_ option: State) -> State {
      var option = option
      // No jump target: the remaining bridges stay empty without another choice for this bus;
      // the next root bus clears the marker.
      option.jumpTarget = -1
      return run(option)
    }
  }
}
