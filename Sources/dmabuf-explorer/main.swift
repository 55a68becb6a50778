import ExplorerCLI
import Foundation

exit(await CommandLineEntry.main())
