// Engine worker / any Node process (pure). Seeded randomness for noise injection.
// [Note: seeded noise] Noise samples must be reproducible from a seed so that a caption can be regenerated
// and tests can check determinism. mulberry32 gives a fast 32-bit stream; Box–Muller turns two uniforms
// into two independent standard normals (the second one is cached). Each noise sample i of a request gets
// its own stream seeded with `deriveSeed(seed, i)`, so sample i is the same whatever N is.

export interface Rng {
  /** Uniform in [0, 1). */
  uniform(): number
  /** Standard normal N(0, 1). */
  normal(): number
}

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function createRng(seed: number): Rng {
  const next = mulberry32(seed)
  let spare: number | null = null
  return {
    uniform: next,
    normal() {
      if (spare !== null) {
        const s = spare
        spare = null
        return s
      }
      // u1 in (0, 1] so that log(u1) is finite.
      const u1 = 1 - next()
      const u2 = next()
      const r = Math.sqrt(-2 * Math.log(u1))
      spare = r * Math.sin(2 * Math.PI * u2)
      return r * Math.cos(2 * Math.PI * u2)
    }
  }
}

/** A well-mixed 32-bit seed for sub-stream `index` of `seed` (splitmix-style finaliser). */
export function deriveSeed(seed: number, index: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca77)) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0
  return (h ^ (h >>> 16)) >>> 0
}
