import ExplorerCLI
import ExplorerTerminal
import Foundation

exit(await CommandLineEntry.main(frontEnd: TerminalFrontEnd()))
