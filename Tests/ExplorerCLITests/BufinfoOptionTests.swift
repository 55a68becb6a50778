import ExplorerCLI
import Testing

/// `--bufinfo` is an option of the explorer (root) command and of `buffers`; the parser must give
/// each its own value, not keep the subcommand's at the root.
@Suite("--bufinfo on the explorer and on buffers")
struct BufinfoOptionTests {
  @Test func theExplorerCommandTakesBufinfo() throws {
    let command = try DMABufExplorerCommand.parseAsRoot(["--bufinfo", "saved.txt"])
    let explorer = try #require(command as? DMABufExplorerCommand)
    #expect(explorer.bufinfo.bufinfo == "saved.txt")
  }

  @Test func theBuffersSubcommandStillGetsItsOwnBufinfo() throws {
    let command = try DMABufExplorerCommand.parseAsRoot(["buffers", "--bufinfo", "saved.txt", "--format", "json"])
    let buffers = try #require(command as? BuffersCommand)
    #expect(buffers.bufinfo == "saved.txt")
  }
}
