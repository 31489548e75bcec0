// CLI (plain Node). `bench-retrieval-child SPEC.json`: internal, spawned by `bench --only retrieval`
// (src/main/eval/bench/retrieval-bench.ts) so that the datastore's resident memory is measured in a fresh
// process that has loaded nothing else. Prints one JSON line (ChildResult) on stdout.
import { readFileSync } from 'node:fs'
import { runRetrievalChild, type ChildSpec } from '../../eval/bench/retrieval-child'
import { emit, type CommandBody } from '../command'

export const benchRetrievalChildCommand: CommandBody = {
  usage: 'usage: caption-studio bench-retrieval-child SPEC.json   (internal: spawned by bench --only retrieval)',
  async run(argv) {
    const [file] = argv
    if (!file) throw new Error(this.usage)
    emit(await runRetrievalChild(JSON.parse(readFileSync(file, 'utf8')) as ChildSpec))
    return 0
  }
}
