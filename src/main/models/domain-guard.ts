// Main process / serve / CLI (plain Node). [Note: domain guard] A pack declares the images it knows
// (`domain`: `synthetic-shapes` for the demo, `photos` for the photo pack). When the demo pack is active and
// the library holds anything but the demo's own samples, its suggestions are meaningless (it only knows
// ShapesWorld), so the studio says so plainly where suggestions appear and offers the photo pack; the CLI
// prints the same sentence once. Pure: the caller passes the pack.json and the library roots.
import { isAbsolute, relative, resolve } from 'node:path'

export interface DomainCheck {
  packId: string | null
  domain: string | null
  /** A sentence for the user, or null when the pack fits the library (or nothing can be said). */
  notice: string | null
  /** What to offer instead. */
  offer: 'photo-pack' | null
  /** The demo pack's sample folder, when one is bundled (for "Open the demo library"). */
  demoLibrary: string | null
}

const inside = (root: string, p: string) => {
  const r = relative(resolve(root), resolve(p))
  return r === '' || (!r.startsWith('..') && !isAbsolute(r))
}

export function demoNotice(packId: string): string {
  return `The active model (${packId}) only knows ShapesWorld's synthetic shapes: its suggestions for real photos are meaningless. Get the photo pack in Models.`
}

/** `samplesDir`: the active pack's own sample folder (pack.json `samples.dir`), if any. */
export function checkDomain(pack: { id: string; domain?: string; dir: string; samplesDir?: string } | null, roots: readonly string[], demoLibrary: string | null): DomainCheck {
  if (!pack) return { packId: null, domain: null, notice: null, offer: 'photo-pack', demoLibrary }
  const domain = pack.domain ?? null
  if (domain !== 'synthetic-shapes') return { packId: pack.id, domain, notice: null, offer: null, demoLibrary }
  const samples = pack.samplesDir ? resolve(pack.dir, pack.samplesDir) : null
  const foreign = roots.filter((r) => !samples || !inside(samples, r))
  return { packId: pack.id, domain, notice: foreign.length ? demoNotice(pack.id) : null, offer: foreign.length ? 'photo-pack' : null, demoLibrary }
}
