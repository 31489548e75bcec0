// TEMPORARY (not committed): dumps demo-pack caption results for a before/after byte-identity diff.
import { readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { it } from 'vitest'
import { captionFiles, Engine } from '../../src/main/engine/worker'

it('dump', async () => {
  const PACK = resolve(__dirname, '../../models/shapes-demo')
  const refs = JSON.parse(readFileSync(join(PACK, 'samples', 'refs.json'), 'utf8')) as Record<string, string[]>
  const files = Object.keys(refs).sort().map((f) => ({ file: join(PACK, 'samples', f), references: refs[f] }))
  const engine = await Engine.open(PACK, { intraOpThreads: 1 })
  const out: unknown[] = []
  for (const o of [{}, { noiseSamples: 0, cleanSample: false, retrieval: true, retrievalK: 5, align: 'off' as const }, { noiseSamples: 0, cleanSample: false, retrieval: true, retrievalK: 10, align: 'ridge' as const }]) {
    const r = await captionFiles(engine, files, o)
    out.push(r.map((x) => ('error' in x ? x : { ...x, timings: undefined })))
  }
  writeFileSync(process.env.DUMP_OUT ?? '/tmp/wt-c/dump.json', JSON.stringify(out))
  await engine.close()
}, 600_000)
