// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "dmabuf-explorer",
  products: [
    .executable(name: "dmabuf-explorer", targets: ["dmabuf-explorer"])
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
  ],
  targets: [
    // Pure model: PCI functions, buses, BARs, ACS; loaders for dumps, lspci text, sysfs, scenarios.
    .target(name: "PCITopology"),
    // The kernel's P2PDMA decision (drivers/pci/p2pdma.c), on top of a topology.
    .target(name: "P2PDMA", dependencies: ["PCITopology"]),
    // The dma-buf lifecycle: exporters, importers, placement, sg tables.
    .target(name: "DMABufSim", dependencies: ["PCITopology", "P2PDMA"]),
    // Built-in scenarios and lessons (assets/), shipped as resources.
    .target(
      name: "Assets", path: "assets", exclude: ["README.md"],
      sources: ["Assets.swift"], resources: [.copy("topologies"), .copy("lessons")]),
    // State, update and views rendered into an in-memory cell screen. No ncurses here.
    .target(name: "ExplorerUI", dependencies: ["PCITopology", "P2PDMA", "DMABufSim"]),
    // Thin C shim over ncursesw: macros and globals Swift cannot import.
    .target(
      name: "CNcurses",
      cSettings: [.define("NCURSES_WIDECHAR", to: "1"), .define("_XOPEN_SOURCE", to: "600")],
      linkerSettings: [.linkedLibrary("ncursesw")]),
    // Subcommands and their text/JSON output; testable without a process. No ncurses: the
    // interactive explorer is reached through `InteractiveFrontEnd`, which the executable passes in.
    .target(
      name: "ExplorerCLI",
      dependencies: [
        "PCITopology", "P2PDMA", "DMABufSim", "Assets", "ExplorerUI",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    // The terminal app: ncurses backend, event loop, launcher and the UI benchmark. The only
    // target that links ncurses; it implements the command line's `InteractiveFrontEnd`.
    .target(
      name: "ExplorerTerminal",
      dependencies: ["PCITopology", "P2PDMA", "DMABufSim", "ExplorerUI", "ExplorerCLI", "CNcurses"]),
    // Wires the command line to the terminal app.
    .executableTarget(name: "dmabuf-explorer", dependencies: ["ExplorerCLI", "ExplorerTerminal"]),

    .target(name: "TestSupport", dependencies: ["PCITopology"], path: "Tests/TestSupport"),
    .testTarget(name: "PCITopologyTests", dependencies: ["PCITopology", "Assets", "TestSupport"]),
    .testTarget(name: "P2PDMATests", dependencies: ["P2PDMA", "PCITopology", "Assets", "TestSupport"]),
    .testTarget(
      name: "DMABufSimTests", dependencies: ["DMABufSim", "P2PDMA", "PCITopology", "Assets", "TestSupport"],
      exclude: ["Golden"]),
    .testTarget(name: "ExplorerUITests", dependencies: ["ExplorerUI", "PCITopology", "Assets", "TestSupport"]),
    .testTarget(
      name: "ExplorerCLITests",
      dependencies: [
        "ExplorerCLI", "PCITopology", "P2PDMA", "DMABufSim", "Assets", "TestSupport", "dmabuf-explorer",
      ]),
  ],
  swiftLanguageModes: [.v6]
)
