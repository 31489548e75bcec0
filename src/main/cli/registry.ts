// CLI (plain Node). Every CLI command, by name. Add a command by adding its module here.
import type { CliCommand } from './command'
import { benchCommand } from './commands/bench'
import { captionCommand } from './commands/caption'
import { embedCaptionsCommand } from './commands/embed-captions'
import { evalCommand } from './commands/eval'
import { evalDemoCommand } from './commands/eval-demo'
import { exportCommand } from './commands/export'
import { gapCommand } from './commands/gap'
import { libraryCommand } from './commands/library'
import { modelsCommand } from './commands/models'
import { vqaCommand } from './commands/vqa'

export const COMMANDS: CliCommand[] = [libraryCommand, exportCommand, captionCommand, embedCaptionsCommand, gapCommand, vqaCommand, modelsCommand, evalCommand, evalDemoCommand, benchCommand]
