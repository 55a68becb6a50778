import PCITopology

/// One visible line of the PCI tree pane.
public struct TreeRow: Sendable, Equatable {
  public enum Kind: Sendable, Equatable {
    /// A root bus (host bridge) heading.
    case rootBus(BusID)
    /// A PCI function, by index in the topology.
    case function(Int)
  }
  public var kind: Kind
  /// Nesting level: 0 for root buses, 1 for functions on a root bus...
  public var depth: Int
  /// For each ancestor level above this row, whether a rail continues (more siblings follow).
  public var rails: [Bool]
  /// Last child of its parent (draw `└─` instead of `├─`).
  public var isLast: Bool
  /// Has children that can be collapsed or expanded.
  public var hasChildren: Bool
  /// Children currently hidden.
  public var isCollapsed: Bool

  public var functionIndex: Int? {
    if case .function(let index) = kind { return index }
    return nil
  }
}

/// The flattened, collapsible PCI tree. Rebuilt in O(functions) when a subtree is collapsed or
/// expanded; drawing reads only the visible rows.
public struct TreeModel: Sendable {
  public private(set) var rows: [TreeRow] = []
  /// Row of each function, or -1 when it is inside a collapsed subtree.
  public private(set) var rowOfFunction: [Int] = []
  /// Collapsed bridges (function indices) and root buses.
  public private(set) var collapsedFunctions: Set<Int> = []
  public private(set) var collapsedRootBuses: Set<BusID> = []
  /// Highlighted row.
  public var cursor: Int = 0
  /// First visible row.
  public var scroll: Int = 0

  public init(topology: Topology) {
    rebuild(topology: topology)
  }

  /// The function under the cursor, if the cursor is on a function.
  public var selectedFunction: Int? {
    guard cursor >= 0, cursor < rows.count else { return nil }
    return rows[cursor].functionIndex
  }

  /// Recomputes the visible rows from the collapse state.
  public mutating func rebuild(topology: Topology) {
    var rows: [TreeRow] = []
    rows.reserveCapacity(topology.count + topology.rootBuses.count)
    var rowOfFunction = [Int](repeating: -1, count: topology.count)
    var visited = [Bool](repeating: false, count: topology.count)
    let roots = topology.rootBuses
    // Iterative depth-first walk: a deep or malformed topology cannot overflow the stack.
    struct Frame {
      var children: [Int]
      var next: Int
      var rails: [Bool]
    }
    for (rootPosition, bus) in roots.enumerated() {
      let collapsedRoot = collapsedRootBuses.contains(bus)
      let onBus = topology.functions(onBus: bus)
      rows.append(
        TreeRow(
          kind: .rootBus(bus), depth: 0, rails: [], isLast: rootPosition == roots.count - 1,
          hasChildren: !onBus.isEmpty, isCollapsed: collapsedRoot))
      if collapsedRoot { continue }
      var stack = [Frame(children: onBus, next: 0, rails: [])]
      while var frame = stack.popLast() {
        guard frame.next < frame.children.count else { continue }
        let child = frame.children[frame.next]
        frame.next += 1
        let isLast = frame.next == frame.children.count
        let rails = frame.rails
        stack.append(frame)
        guard child >= 0, child < topology.count, !visited[child] else { continue }
        visited[child] = true
        let children = topology.children(of: child)
        let collapsed = collapsedFunctions.contains(child)
        rowOfFunction[child] = rows.count
        rows.append(
          TreeRow(
            kind: .function(child), depth: rails.count + 1, rails: rails, isLast: isLast,
            hasChildren: !children.isEmpty, isCollapsed: collapsed))
        if !children.isEmpty, !collapsed {
          stack.append(Frame(children: children, next: 0, rails: rails + [!isLast]))
        }
      }
    }
    self.rows = rows
    self.rowOfFunction = rowOfFunction
    cursor = min(max(0, cursor), max(0, rows.count - 1))
  }

  /// Collapses or expands the subtree at the cursor.
  public mutating func toggleCollapse(topology: Topology, expand: Bool? = nil) {
    guard cursor >= 0, cursor < rows.count, rows[cursor].hasChildren else { return }
    let row = rows[cursor]
    let collapse = expand.map { !$0 } ?? !row.isCollapsed
    switch row.kind {
    case .rootBus(let bus):
      if collapse { collapsedRootBuses.insert(bus) } else { collapsedRootBuses.remove(bus) }
    case .function(let index):
      if collapse { collapsedFunctions.insert(index) } else { collapsedFunctions.remove(index) }
    }
    rebuild(topology: topology)
    if let index = row.functionIndex, rowOfFunction.indices.contains(index), rowOfFunction[index] >= 0 {
      cursor = rowOfFunction[index]
    } else if case .rootBus(let bus) = row.kind, let found = rows.firstIndex(where: { $0.kind == .rootBus(bus) }) {
      cursor = found
    }
  }

  /// Puts the cursor on a function, expanding collapsed ancestors when needed.
  public mutating func reveal(_ function: Int, topology: Topology) {
    guard function >= 0, function < topology.count else { return }
    if rowOfFunction[function] < 0 {
      for ancestor in topology.pathToRoot(from: function).dropFirst() { collapsedFunctions.remove(ancestor) }
      collapsedRootBuses.remove(topology.rootBus(of: function))
      rebuild(topology: topology)
    }
    if rowOfFunction[function] >= 0 { cursor = rowOfFunction[function] }
  }

  /// Keeps the cursor inside the window of `height` rows.
  public mutating func scrollToCursor(height: Int) {
    guard height > 0 else { return }
    if cursor < scroll { scroll = cursor }
    if cursor >= scroll + height { scroll = cursor - height + 1 }
    scroll = min(max(0, scroll), max(0, rows.count - height))
  }
}
