// CLI (plain Node). `duplicates [--threshold T] [--max-hash-bits B] --json`: near-duplicate groups of the
// library (embedding neighbours over T in the active pack's space, confirmed by perceptual hash), one JSON
// line per group: {ids, paths, minSimilarity, maxHashBits, excluded}.
import type { OpOutput } from '@shared/contract'
import { createServices } from '../../services/services'
import { defaultDataDir } from '../../services/data-dir'
import { emit, log, parse, type CliCommand } from '../command'
import { imagePaths, numberIn } from './search-support'

export const duplicatesCommand: CliCommand = {
  name: 'duplicates',
  summary: 'Near-duplicate groups (embedding similarity confirmed by perceptual hash), one JSON line per group',
  usage: `usage: caption-studio duplicates [--threshold 0.9] [--max-hash-bits 10] --json [--data-dir DIR]

  --threshold T       cosine two images' embeddings must reach (0.5–1; active pack; run \`library index\` first)
  --max-hash-bits B   perceptual hashes may differ in at most B of 64 bits (0–32)
  Prints {"ids", "paths", "minSimilarity", "maxHashBits", "excluded"} per group, largest first; a summary on
  stderr. Nothing is changed (exclude copies from export in the studio's duplicate review).`,
  async run(argv) {
    const { values } = parse(argv, { threshold: { type: 'string' }, 'max-hash-bits': { type: 'string' }, json: { type: 'boolean' }, 'data-dir': { type: 'string' } }, false)
    if (!values.json) {
      log(this.usage)
      return 2
    }
    const threshold = numberIn(values.threshold, '--threshold', 0.9, 0.5, 1)
    const maxHashBits = numberIn(values['max-hash-bits'], '--max-hash-bits', 10, 0, 32)
    const services = createServices(values['data-dir'] ?? defaultDataDir(), 'cli', { resumeJobs: false })
    try {
      const r = (await services.call('duplicates.groups', { threshold, maxHashBits: Math.round(maxHashBits), limit: 100_000 })) as OpOutput<'duplicates.groups'>
      log(`${r.groupCount} groups (${r.imagesInGroups} images; ${r.candidateGroups} by embedding alone) among ${r.indexed} indexed images, pack ${r.packId} ${r.version}, threshold ${r.threshold}`)
      for (const g of r.groups) emit({ ids: g.ids, paths: imagePaths(services, g.ids), minSimilarity: Number(g.minSimilarity.toFixed(6)), maxHashBits: g.maxHashBits, excluded: g.excluded })
      return 0
    } finally {
      await services.close()
    }
  }
}
