import Foundation
import PCITopology
import Testing

/// `PCIIDDatabase` on a small inline `pci.ids`, so the lookups are tested without the system file.
@Suite struct PCIIDsTests {
  static let sample = """
    # comment
    10de  NVIDIA Corporation
    \t2684  AD102 [GeForce RTX 4090]
    \t\t1043 889d  ROG Strix RTX 4090
    \t22ba  AD102 High Definition Audio Controller
    8086  Intel Corporation
    \t1533  I210 Gigabit Network Connection
    \t1538  I210 Gigabit Network Connection
    \t460d  12th Gen Core Processor PCI Express x16 Controller #1
    C 03  Display controller
    \t00  VGA compatible controller
    \t\t00  VGA controller
    \t02  3D controller
    C 06  Bridge
    \t04  PCI bridge

    """

  static let database = PCIIDDatabase(bytes: Array(sample.utf8))

  @Test func forwardLookups() {
    let database = Self.database
    #expect(database.vendorName(0x10de) == "NVIDIA Corporation")
    #expect(database.deviceName(vendor: 0x10de, device: 0x2684) == "AD102 [GeForce RTX 4090]")
    #expect(database.displayName(vendor: 0x10de, device: 0x2684) == "NVIDIA Corporation AD102 [GeForce RTX 4090]")
    // Unknown device of a known vendor, and an unknown vendor, the way lspci prints them.
    #expect(database.displayName(vendor: 0x10de, device: 0x1234) == "NVIDIA Corporation Device 1234")
    #expect(database.displayName(vendor: 0x1d0f, device: 0xefa0) == "Device 1d0f:efa0")
    // Subsystem lines are not devices.
    #expect(database.deviceName(vendor: 0x10de, device: 0x1043) == nil)
  }

  @Test func classNames() {
    #expect(Self.database.classCode(named: "VGA compatible controller") == 0x0300)
    #expect(Self.database.classCode(named: "3D controller") == 0x0302)
    #expect(Self.database.classCode(named: "PCI bridge") == 0x0604)
    // Built-in fallback for names this small file lacks.
    #expect(Self.database.classCode(named: "Non-Volatile memory controller") == 0x0108)
    #expect(Self.database.classCode(named: "No such class") == nil)
  }

  @Test func reverseLookups() {
    let database = Self.database
    let gpu = database.resolveIDs(fromName: "NVIDIA Corporation AD102 [GeForce RTX 4090]")
    #expect(gpu?.vendor == 0x10de && gpu?.device == 0x2684)
    // Two IDs share the name: the vendor is known, the device is not guessed.
    let nic = database.resolveIDs(fromName: "Intel Corporation I210 Gigabit Network Connection")
    #expect(nic?.vendor == 0x8086 && nic?.device == nil)
    // `Vendor Device 1234` and `Device vvvv:dddd`.
    let unknownDevice = database.resolveIDs(fromName: "Intel Corporation Device 4641")
    #expect(unknownDevice?.vendor == 0x8086 && unknownDevice?.device == 0x4641)
    let unknownVendor = database.resolveIDs(fromName: "Device 1d0f:efa0")
    #expect(unknownVendor?.vendor == 0x1d0f && unknownVendor?.device == 0xefa0)
    #expect(database.resolveIDs(fromName: "Acme Widgets Frobnicator") == nil)
  }

  @Test func systemDatabaseWhenInstalled() {
    guard let system = PCIIDDatabase.system else {
      print("note: no pci.ids installed; system database test skipped")
      return
    }
    #expect(system.vendorName(0x8086) == "Intel Corporation")
    #expect(system.classCode(named: "Host bridge") == 0x0600)
  }
}
