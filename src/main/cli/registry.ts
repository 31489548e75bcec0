// CLI (plain Node). Every CLI command, by name. Add a command by adding its module here.
// [Note: engine fences] Commands that run the engine in-process (eval, eval-demo, bench) are loaded only when
// they run, so `library add` or `export` never load onnxruntime-node; the others reach the engine through its
// worker (cli-support.ts cliEngine). `worker` loads lazily too, so only it (and `caption --queue`) loads BullMQ.
import type { CliCommand, CommandBody } from './command'
import { captionCommand } from './commands/caption'
import { embedCaptionsCommand } from './commands/embed-captions'
import { exportCommand } from './commands/export'
import { exportCorpusCommand } from './commands/export-corpus'
import { gapCommand } from './commands/gap'
import { libraryCommand } from './commands/library'
import { modelsCommand } from './commands/models'
import { vqaCommand } from './commands/vqa'
import { searchCommand } from './commands/search'
import { duplicatesCommand } from './commands/duplicates'

/** A command listed by name and summary whose module loads on first use. */
export interface LazyCommand {
  name: string
  summary: string
  load(): Promise<CommandBody>
  /** Internal (spawned by another command); left out of the help listing. */
  hidden?: boolean
}

export type CommandEntry = CliCommand | LazyCommand

export const COMMANDS: CommandEntry[] = [
  libraryCommand,
  exportCommand,
  captionCommand,
  embedCaptionsCommand,
  exportCorpusCommand,
  gapCommand,
  vqaCommand,
  searchCommand,
  duplicatesCommand,
  modelsCommand,
  { name: 'worker', summary: 'Caption batches from a worker-fleet queue in Redis (BullMQ); never opens a library', load: async () => (await import('./commands/worker')).workerCommand },
  { name: 'eval', summary: 'Caption an image folder with each configuration and score it (CIDEr-D, BLEU, ROUGE-L, truth, CLIP-S)', load: async () => (await import('./commands/eval')).evalCommand },
  { name: 'eval-demo', summary: 'Ablation table of the demo pack on ShapesWorld test and test-heldout → docs/results.md', load: async () => (await import('./commands/eval-demo')).evalDemoCommand },
  { name: 'bench', summary: 'Speed: CLIP/decoder vs raw ONNX Runtime and transformers.js, import, SQLite, batch stalls and memory → docs/benchmarks.md', load: async () => (await import('./commands/bench')).benchCommand },
  { name: 'bench-retrieval-child', summary: 'internal: the child process of `bench --only retrieval`', hidden: true, load: async () => (await import('./commands/bench-retrieval-child')).benchRetrievalChildCommand }
]

export async function loadCommand(entry: CommandEntry): Promise<CommandBody> {
  return 'load' in entry ? entry.load() : entry
}
