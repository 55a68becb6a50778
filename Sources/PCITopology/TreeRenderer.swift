/// Draws a topology the way `lspci -tv` (pciutils 3.9) does, so users can put the two side by
/// side: `-[0000:00]-` host buses, `+-`/`\-` sibling rails, `|` continuation rails,
/// `-[SS-UU]-` bridge ranges, `--` for an only child, names after two spaces.
///
/// The drawing mirrors pciutils' `show_tree_bridge` / `show_tree_bus` / `show_tree_dev` and its
/// line-buffer trick (`print_it`): after a line is printed, every `+` or `|` in it turns into `|`
/// and everything else into a space, which is exactly the rail prefix of the next line.
///
/// The structure drawn is the topology's own (`Topology.children(of:)`, `rootBuses`), the one the
/// P2P code uses. On well-formed inputs it is the same as lspci's. Differences on broken inputs:
/// lspci files a bus that lies inside a bridge's range but is nobody's secondary bus under that
/// bridge; the topology (like the kernel's `pci_upstream_bridge`) treats it as a root bus and
/// warns. Like pciutils 3.9, bus 0000:00 is always listed, even when the input has no function
/// on it (partial dumps show an empty `[0000:00]` line).
public enum TreeRenderer {
  /// Renders the whole topology. `names`: append `  Name` as `lspci -tv` (false: `lspci -t`).
  public static func render(_ topology: Topology, names: Bool = true) -> String {
    var drawer = Drawer(topology: topology, names: names)
    drawer.showHost()
    return String(decoding: drawer.output, as: UTF8.self)
  }

  /// The buses the host bridge lists, in order: 0000:00 first (pciutils 3.9 always creates it),
  /// then every root bus by domain and number.
  public static func hostBuses(of topology: Topology) -> [BusID] {
    let busZero = BusID(domain: 0, bus: 0)
    return [busZero] + topology.rootBuses.filter { $0 != busZero }
  }

  private struct Drawer {
    let topology: Topology
    let names: Bool
    var line: [UInt8] = []
    var output: [UInt8] = []

    init(topology: Topology, names: Bool) {
      self.topology = topology
      self.names = names
      output.reserveCapacity(topology.count * 64)
    }

    /// Writes `text` at column `position` (dropping anything after it) and returns the new end.
    mutating func write(_ text: String, at position: Int) -> Int {
      if position < line.count { line.removeSubrange(position...) }
      line.append(contentsOf: text.utf8)
      return line.count
    }

    /// Prints the line up to `end`, then turns it into the rail prefix for the next line.
    mutating func printLine(upTo end: Int) {
      output.append(contentsOf: line[0..<end])
      output.append(0x0a)
      for index in 0..<end {
        line[index] = line[index] == 0x2b || line[index] == 0x7c ? 0x7c : 0x20
      }
    }

    mutating func showHost() {
      let buses = TreeRenderer.hostBuses(of: topology)
      let start = write("-", at: 0)
      if buses.count == 1 {
        let next = write("[\(buses[0])]-", at: start)
        showBus(topology.functions(onBus: buses[0]), at: next)
        return
      }
      for (offset, bus) in buses.enumerated() {
        let connector = offset == buses.count - 1 ? "\\-" : "+-"
        let next = write("\(connector)[\(bus)]-", at: start)
        showBus(topology.functions(onBus: bus), at: next)
      }
    }

    mutating func showBus(_ members: [Int], at position: Int) {
      if members.isEmpty {
        printLine(upTo: position)
        return
      }
      if members.count == 1 {
        let next = write("--", at: position)
        showDevice(members[0], at: next)
        return
      }
      for (offset, member) in members.enumerated() {
        let next = write(offset == members.count - 1 ? "\\-" : "+-", at: position)
        showDevice(member, at: next)
      }
    }

    mutating func showDevice(_ index: Int, at position: Int) {
      let function = topology[index]
      var next = write(function.bdf.slotDescription, at: position)
      if function.isBridge, let secondary = function.secondaryBus {
        let subordinate = function.subordinateBus ?? secondary
        let range =
          secondary == subordinate
          ? "-[\(hex(secondary, width: 2))]-" : "-[\(hex(secondary, width: 2))-\(hex(subordinate, width: 2))]-"
        next = write(range + "-", at: next)
        showBus(topology.children(of: index), at: next)
        return
      }
      // A function known only by its address (from `lspci -t` without `-v`) has no name to show;
      // vendor ID 0 is never assigned, so it means "unknown" here.
      if names, function.name != nil || function.vendorID != 0 {
        next = write("  " + function.displayName, at: next)
      }
      printLine(upTo: next)
    }
  }
}
