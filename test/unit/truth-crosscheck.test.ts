// Unit test (Node + /usr/bin/python3): the TypeScript truth checker agrees with the model kit's Python
// checker (tools/modelkit/shapesworld.py, caption_is_true) on generated scenes and on captions that are
// true, false, perturbed or outside the language. Skipped, with the reason, when Python or numpy is missing.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseScene } from '../../src/main/eval/dataset'
import { isTrue } from '../../src/main/eval/shapesworld-truth'

const root = join(__dirname, '..', '..')
const kit = join(root, 'tools', 'modelkit', 'shapesworld.py')

// Deterministic cases built in Python: each reference caption; each with one word replaced by another of
// the same class (colour, shape, size, background, count, relation) or by any grammar word; references of
// another scene; and random word strings from the grammar's vocabulary.
const SCRIPT = `
import json, sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import shapesworld as sw
rng = np.random.default_rng(123)
classes = [list(sw.COLOURS), sw.SHAPES, list(sw.SIZES), list(sw.BACKGROUNDS), ["one", "two", "three"],
           ["above", "below", "left", "right"], ["a", "an"], ["shape", "shapes", "object", "objects"]]
words = sw.GRAMMAR_WORDS
out = []
for split in ["test", "test-heldout"]:
    scenes = sw.generate_scenes(split, 150, seed=11)
    for si, s in enumerate(scenes):
        caps = list(s["captions"])
        for c in s["captions"]:
            w = c.split()
            k = int(rng.integers(len(w)))
            cls = next((cl for cl in classes if w[k] in cl), words)
            w2 = list(w); w2[k] = cls[int(rng.integers(len(cls)))]
            caps.append(" ".join(w2))
            w3 = list(w); w3[int(rng.integers(len(w)))] = words[int(rng.integers(len(words)))]
            caps.append(" ".join(w3))
        other = scenes[(si + 1) % len(scenes)]
        caps += other["captions"][:2]
        caps.append(" ".join(words[int(rng.integers(len(words)))] for _ in range(int(rng.integers(2, 9)))))
        for c in caps:
            out.append({"scene": s, "caption": c, "truth": bool(sw.caption_is_true(c, s))})
json.dump(out, sys.stdout)
`

function pythonCases(): { cases: { scene: unknown; caption: string; truth: boolean }[] } | { skip: string } {
  if (!existsSync(kit)) return { skip: `${kit} is missing` }
  try {
    const out = execFileSync('/usr/bin/python3', ['-c', SCRIPT, join(root, 'tools', 'modelkit')], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] })
    return { cases: JSON.parse(out) as { scene: unknown; caption: string; truth: boolean }[] }
  } catch (err) {
    return { skip: `cannot run the Python checker: ${(err as Error).message.split('\n')[0]}` }
  }
}

const got = pythonCases()

describe('truth checker: TypeScript port vs tools/modelkit/shapesworld.py', () => {
  it.skipIf('skip' in got)(`agrees on every case${'skip' in got ? ` (skipped: ${got.skip})` : ''}`, () => {
    if (!('cases' in got)) return
    const cases = got.cases
    expect(cases.length).toBeGreaterThan(3000)
    const trues = cases.filter((c) => c.truth).length
    // both verdicts are well represented, so agreement is not trivial
    expect(trues).toBeGreaterThan(cases.length * 0.3)
    expect(trues).toBeLessThan(cases.length * 0.8)
    const disagree = cases.filter((c) => isTrue(c.caption, parseScene(c.scene, 'python scene')) !== c.truth)
    expect(disagree.slice(0, 5).map((c) => `${c.caption} → python ${c.truth}`)).toEqual([])
  })
})
