// Any process (pure TypeScript). [Note: near-duplicate groups] Near-duplicates are found in two steps:
// 1. candidate edges: every image's nearest neighbours in its pack space with cosine ≥ the threshold;
// 2. confirmation: an edge is kept only when the two images' perceptual hashes (64-bit DCT pHash) differ in
//    at most `maxBits` bits. CLIP embeddings say "same content" (two photos of one scene from one burst are
//    close too), the pHash says "same picture": a resized, re-encoded, slightly cropped or recoloured copy
//    keeps its low DCT frequencies. Groups are the connected components of the kept edges (union-find),
//    largest first; a group lists its images in id order.
export interface Edge {
  a: number
  b: number
  similarity: number
}

export class UnionFind {
  private readonly parent = new Map<number, number>()

  find(x: number): number {
    let p = this.parent.get(x) ?? x
    if (p === x) return x
    const root = this.find(p)
    this.parent.set(x, root)
    p = root
    return p
  }

  union(a: number, b: number): void {
    const ra = this.find(a)
    const rb = this.find(b)
    if (ra !== rb) this.parent.set(Math.max(ra, rb), Math.min(ra, rb))
  }

  has(x: number): boolean {
    return this.parent.has(x)
  }
}

/** Connected components of size ≥ 2 over `edges` (those `keep` accepts), largest first, then by first id. */
export function componentsOf(edges: readonly Edge[], keep: (e: Edge) => boolean = () => true): number[][] {
  const uf = new UnionFind()
  const members = new Set<number>()
  for (const e of edges) {
    if (!keep(e)) continue
    uf.union(e.a, e.b)
    members.add(e.a)
    members.add(e.b)
  }
  const groups = new Map<number, number[]>()
  for (const id of members) {
    const r = uf.find(id)
    const g = groups.get(r)
    if (g) g.push(id)
    else groups.set(r, [id])
  }
  return [...groups.values()].map((g) => g.sort((x, y) => x - y)).sort((x, y) => y.length - x.length || x[0]! - y[0]!)
}

/** Bits that differ between two 64-bit hashes written as 16 hex digits. */
export function hammingHex(a: string, b: string): number {
  let n = 0
  for (let i = 0; i < a.length; i += 8) {
    let x = (parseInt(a.slice(i, i + 8), 16) ^ parseInt(b.slice(i, i + 8), 16)) >>> 0
    while (x) {
      x &= x - 1
      n++
    }
  }
  return n
}

/** Distance of two images' hash sets ([Note: crop windows]): each set is the whole image's hash followed by
 *  hashes of crop windows; the distance is the least over whole↔whole, window(a)↔whole(b), whole(a)↔window(b). */
export function pairBits(a: string, b: string): number {
  const whole = (s: string) => s.slice(0, 16)
  let best = hammingHex(whole(a), whole(b))
  for (let i = 16; i < a.length; i += 16) best = Math.min(best, hammingHex(a.slice(i, i + 16), whole(b)))
  for (let i = 16; i < b.length; i += 16) best = Math.min(best, hammingHex(whole(a), b.slice(i, i + 16)))
  return best
}

/** Precision and recall of found groups against known ones, counted over pairs of images. */
export function pairScores(found: readonly number[][], truth: readonly number[][]): { precision: number; recall: number; foundPairs: number; truePairs: number } {
  const pairs = (groups: readonly number[][]) => {
    const s = new Set<string>()
    for (const g of groups) for (let i = 0; i < g.length; i++) for (let j = i + 1; j < g.length; j++) s.add(g[i]! < g[j]! ? `${g[i]}:${g[j]}` : `${g[j]}:${g[i]}`)
    return s
  }
  const f = pairs(found)
  const t = pairs(truth)
  let both = 0
  for (const p of f) if (t.has(p)) both++
  return { precision: f.size ? both / f.size : 1, recall: t.size ? both / t.size : 1, foundPairs: f.size, truePairs: t.size }
}
