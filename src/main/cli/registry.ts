// CLI (plain Node). Every CLI command, by name. Add a command by adding its module here.
import type { CliCommand } from './command'
import { exportCommand } from './commands/export'
import { libraryCommand } from './commands/library'

export const COMMANDS: CliCommand[] = [libraryCommand, exportCommand]
