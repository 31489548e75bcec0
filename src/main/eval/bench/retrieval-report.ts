// Any Node process (pure). The "Caption datastore retrieval" section of docs/benchmarks.md, rendered from a
// RetrievalBench run object (retrieval-bench.ts); every figure comes from the run.
import type { RetrievalBench } from './retrieval-bench'

const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–')
const ms = (x: number) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)) : '–')
const mb = (bytes: number) => (bytes / 1e6).toFixed(1)
const int = (n: number) => n.toLocaleString('en-US')

/** The issue's targets: p50 ≤ 10 ms per query, recall@10 ≥ 0.95, datastore RSS ≤ 400 MB. */
export const RETRIEVAL_TARGETS = { p50Ms: 10, recall: 0.95, rssMB: 400 }

export function retrievalVerdicts(r: RetrievalBench): string[] {
  const c = r.child
  const delta = c.rssAfterSoakMB - c.rssBaseMB
  const mark = (ok: boolean) => (ok ? 'met' : '**not met**')
  return [
    `datastore retrieval, ${int(r.rows)} × ${r.dim}: p50 ${ms(c.chosen.p50)} ms per query (target ≤ ${RETRIEVAL_TARGETS.p50Ms}) → ${mark(c.chosen.p50 <= RETRIEVAL_TARGETS.p50Ms)}; recall@10 ${f(c.chosen.recall, 3)} (≥ ${RETRIEVAL_TARGETS.recall}) → ${mark(c.chosen.recall >= RETRIEVAL_TARGETS.recall)}; resident memory of the loaded datastore ${f(delta, 0)} MB after ${int(c.soakQueries)} further queries (≤ ${RETRIEVAL_TARGETS.rssMB}) → ${mark(delta <= RETRIEVAL_TARGETS.rssMB)}`
  ]
}

export function retrievalMarkdown(r: RetrievalBench): string[] {
  const c = r.child
  const p = r.params
  const out = [
    `## Caption datastore retrieval (${int(r.rows)} synthetic ${r.dim}-d rows)`,
    '',
    `The photo pack's datastore at COCO scale: ${int(r.rows)} synthetic caption embeddings (${int(r.rows / 5)} "images" × 5 captions, ${int(r.topics)} topic clusters around a shared direction, one caption in ten a near-copy; [Note: synthetic datastore] in src/main/eval/bench/synthetic-embeddings.ts) streamed through DatastoreWriter; usearch HNSW coding the rows as ${p.quantization === 'b1' ? 'sign bits of the centred rows (b1, Hamming)' : 'int8 with a per-row scale (i8, cosine)'}, ${r.fileBytes.shards} shard${r.fileBytes.shards > 1 ? 's' : ''} of up to ${int(p.shardRows)} rows ([Note: index shards]), connectivity ${p.connectivity}, expansion_add ${p.expansionAdd}, built with ${r.threads} threads; candidates re-scored exactly on the int8 rows. ${r.queries} queries (fresh captions of stored images), one at a time on one thread as in the studio; recall@10 is against the exact float32 top-10, computed while the rows were generated. Latency and memory are measured in a child process that opens the datastore as the engine does.`,
    '',
    '| measure | value |',
    '|---|---:|',
    `| generate rows / exact float32 top-10 of the queries / quantize + write (writer.add) | ${f(r.generateSeconds)} s / ${f(r.exactTruthSeconds)} s / ${f(r.writeSeconds)} s |`,
    `| index build (writer.finish, ${r.threads} threads) | ${f(r.buildSeconds)} s (finish() in all, with sha256 of the files: ${f(r.finishSeconds)} s) |`,
    `| files: int8 vectors + scales / captions blob / index (all shards) | ${mb(r.fileBytes.vectors)} / ${mb(r.fileBytes.captions)} / ${mb(r.fileBytes.index)} MB |`,
    `| open the datastore (headers, scales, captions table, mmap the index) | ${ms(c.loadMs)} ms |`,
    `| **query p50 / p95** (${p.quantization} index, expansion_search ${c.chosen.expansionSearch}, ${c.chosen.candidates} candidates per shard re-scored, plain top-10) | **${ms(c.chosen.p50)} / ${ms(c.chosen.p95)} ms** |`,
    `| **recall@10** against exact float32 search | **${f(c.chosen.recall, 3)}** |`,
    ...c.diverse.map((d) => `| diverse top-${d.k} (the studio's retrieval): p50 / p95; rows replaced per query because a better one was a near-duplicate | ${ms(d.p50)} / ${ms(d.p95)} ms; ${f(d.droppedPerQuery, 2)} |`),
    `| child RSS: Node + modules / datastore opened / after the timed queries / after ${int(c.soakQueries)} more queries (peak) | ${f(c.rssBaseMB, 0)} / ${f(c.rssLoadedMB, 0)} / ${f(c.rssAfterQueriesMB, 0)} / ${f(c.rssAfterSoakMB, 0)} MB (${f(c.maxRssMB, 0)}) |`,
    `| **resident memory of the loaded datastore** (RSS after all queries − RSS before opening it) | **${f(c.rssAfterSoakMB - c.rssBaseMB, 0)} MB** |`,
    ...(c.split
      ? [`| of which file-backed (pages of the mmapped ${mb(r.fileBytes.index)} MB index the searches touched; clean, the OS may drop them) / anonymous (captions table, scales, usearch's in-memory structures, JS heap) | ${f(c.split.after.fileMB - c.split.base.fileMB, 0)} / ${f(c.split.after.anonMB - c.split.base.anonMB, 0)} MB (right after opening: ${f(c.split.loaded.fileMB - c.split.base.fileMB, 0)} / ${f(c.split.loaded.anonMB - c.split.base.anonMB, 0)}) |`]
      : []),
    `| latency over those ${int(c.soakQueries)} further queries (diverse top-5, as the studio asks) p50 / p95 | ${ms(c.soak.p50)} / ${ms(c.soak.p95)} ms |`,
    `| exact scan for comparison: JavaScript, float query × every int8 row (${c.exact.jsQueries} queries) | p50 ${ms(c.exact.jsP50)} ms (recall@10 of this exact int8 search: ${f(c.exact.int8Recall, 3)}) |`,
    `| brute force in usearch (SIMD int8 cosine over every row, then the same re-scoring; ${c.exact.bruteQueries} queries) | p50 ${ms(c.exact.bruteP50)} ms |`,
    `| exact JS scan ÷ index, p50 | ${f(c.exact.jsP50 / c.chosen.p50, 0)}× |`,
    ''
  ]
  out.push('Search settings (same index, same queries; the default row is the one above; usearch explores max(expansion_search, candidates) nodes):', '', '| expansion_search | candidates per shard | p50 ms | p95 ms | recall@10 |', '|---:|---:|---:|---:|---:|')
  const rows = [c.chosen, ...c.sweep].sort((a, b) => a.expansionSearch - b.expansionSearch || a.candidates - b.candidates)
  for (const x of rows) out.push(`| ${x.expansionSearch}${x === c.chosen ? ' (default)' : ''} | ${x.candidates} | ${ms(x.p50)} | ${ms(x.p95)} | ${f(x.recall, 3)} |`)
  out.push('')
  if (c.cutover.length) {
    out.push(`Brute force (no index) p50 by datastore size, for the exact-scan cut-over (datastores up to EXACT_SCAN_MAX_ROWS rows get no index): ${c.cutover.map((x) => `${int(x.rows)} rows ${ms(x.bruteP50)} ms`).join(', ')}; ${int(r.rows)} rows ${ms(c.exact.bruteP50)} ms.`, '')
  }
  const fr = r.format
  out.push(`Storage format, on the first ${int(fr.sampleRows)} rows × ${fr.sampleQueries} queries (|Δ similarity| against float32; recall@10 of an exact search in that format against float32):`, '', '| format | bytes per row | at ' + int(r.rows) + ' rows | mean abs Δ | max abs Δ | recall@10 |', '|---|---:|---:|---:|---:|---:|')
  for (const x of fr.rows) out.push(`| ${x.format} | ${x.bytesPerRow} | ${mb(x.bytesPerRow * r.rows)} MB | ${x.meanAbs.toExponential(1)} | ${x.maxAbs.toExponential(1)} | ${f(x.recall, 3)} |`)
  const cl = r.captionsLoad
  out.push('', `Caption table load, ${int(r.rows)} captions: one JSON array (${mb(cl.jsonBytes)} MB) JSON.parse ${ms(cl.jsonMs)} ms and ≈ ${f(cl.jsonHeapMiB, 0)} MiB of JS heap; the offsets + UTF-8 blob file (${mb(cl.blobBytes)} MB, off the JS heap) read and checked in ${ms(cl.blobMs)} ms, each caption decoded only when retrieved.`, '')
  return out
}
