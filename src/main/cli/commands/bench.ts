// CLI (plain Node). `bench` (= `npm run bench`): speed of the CLIP towers, decoders and caption pipeline
// against raw onnxruntime-node and transformers.js, library import, SQLite inserts, and a studio batch's
// event-loop stalls and memory curve, and the caption datastore's retrieval at COCO scale → docs/benchmarks.md
// and docs/benchmarks-rss.svg.
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { dirname, join, relative, resolve } from 'node:path'
import { readPackJson } from '../../engine/packs/pack'
import { ensureDemoSplit, readPackProvenance, worldSeed } from '../../eval/demo-splits'
import { findRepoRoot, machineInfo } from '../../eval/machine'
import { benchInProcessStall, benchStudioBatch } from '../../eval/bench/batch'
import { benchClip, type ClipBenchResult } from '../../eval/bench/clip-bench'
import { benchImport, benchSqlite, makePhotos } from '../../eval/bench/library'
import { benchImportScale } from '../../eval/bench/import-scale'
import { benchMarkdown, type BenchDoc } from '../../eval/bench/report'
import { benchRetrieval } from '../../eval/bench/retrieval-bench'
import { DEFAULT_INDEX_PARAMS } from '../../engine/packs/datastore-index'
import { compareRatios, parseRatioRecord, ratiosOf, type RatioRecord } from '../../eval/bench/reproduce'
import { loadTransformers } from '../../eval/bench/tjs'
import { lineChartSvg } from '../../eval/bench/svg'
import { benchPhoto } from '../../eval/bench/photo-bench'
import { benchProvider, providerUnavailable, setBenchProvider } from '../../eval/bench/raw-ort'
import { log, parse, type CommandBody } from '../command'

const PARTS = ['clip', 'vitb32', 'overlap', 'decode', 'ort-options', 'import', 'sqlite', 'batch', 'retrieval', 'photo', 'fleet', 'search'] as const

function images(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.png')).sort().map((f) => join(dir, f))
}

/** The ViT-B/32-size random-weight pack from the model kit, exported into the cache on first use. */
function ensureVitB32(root: string, cacheDir: string): { dir: string } | { skip: string } {
  const dir = join(cacheDir, 'vitb32-random-kv')
  if (existsSync(join(dir, 'pack.json'))) return { dir }
  const script = join(root, 'tools', 'modelkit', 'export_random_vitb32.py')
  if (!existsSync(script)) return { skip: `ViT-B/32-size models: ${relative(root, script)} does not exist yet` }
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' })
  } catch {
    return { skip: 'ViT-B/32-size models: PyTorch is not installed for /usr/bin/python3 (apt install python3-torch), so the random-weight export cannot run' }
  }
  log(`exporting ViT-B/32-size random-weight models: /usr/bin/python3 ${relative(root, script)} ${dir}`)
  try {
    execFileSync('/usr/bin/python3', [script, dir], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] })
  } catch (err) {
    return { skip: `ViT-B/32-size models: the export failed: ${(err as Error).message.split('\n')[0]}` }
  }
  if (!existsSync(join(dir, 'pack.json'))) return { skip: `ViT-B/32-size models: the export wrote no pack.json in ${dir}` }
  return { dir }
}

export const benchCommand: CommandBody = {
  usage: `usage: caption-studio bench [--pack models/shapes-demo] [--only clip|vitb32|overlap|decode|ort-options|import|sqlite|batch|retrieval|photo|fleet|search]… [--quick]
                           [--provider cpu|cuda] [--batch-images 5000] [--cache DIR] [--out docs/benchmarks.md]
                           [--retrieval-rows 590000] [--retrieval-connectivity N] [--retrieval-expansion-add N]
                           [--retrieval-expansion-search N] [--retrieval-quantization b1|i8]
                           [--retrieval-shard-rows N] [--import-files 50000] [--import-previous-files 5000]

  --quick   shorter measurements (1 s per row instead of 3 s) and smaller batches of data (for trying it out);
            the retrieval part uses 100,000 rows instead of 590,000 (the full one takes several minutes: the
            index build dominates); the search part 100,000 synthetic rows instead of 500,000
  --import-*  the import part's generated 640×480 library (made once into the cache, albums of 1,000) and how
            many of its files the previous scan path imports (its files/s is compared with the pipeline's)
  --retrieval-*   datastore size and HNSW parameters of the retrieval part (defaults: the engine's own)
  --provider cuda   every session of every part on CUDA (onnxruntime-node installed with
            ONNXRUNTIME_NODE_INSTALL=cuda12, an NVIDIA GPU); where it cannot run, says why and measures nothing
  --only ort-options   session options per model kind and int8 vs fp32, on the ViT-B/32-size models
  --only decode   the decoder rows alone (greedy and beam 3, both packs; also part of clip and vitb32), for
            working on decoding; a partial run writes only its own sections, so point --out elsewhere
  The ViT-B/32-size models are exported by tools/modelkit/export_random_vitb32.py into the cache (needs torch).`,
  async run(argv) {
    const { values } = parse(
      argv,
      {
        pack: { type: 'string' },
        only: { type: 'string', multiple: true },
        quick: { type: 'boolean' },
        'batch-images': { type: 'string' },
        cache: { type: 'string' },
        out: { type: 'string' },
        threads: { type: 'string' },
        'import-files': { type: 'string' },
        'import-previous-files': { type: 'string' },
        provider: { type: 'string' },
        'retrieval-rows': { type: 'string' },
        'retrieval-connectivity': { type: 'string' },
        'retrieval-expansion-add': { type: 'string' },
        'retrieval-expansion-search': { type: 'string' },
        'retrieval-quantization': { type: 'string' },
        'retrieval-shard-rows': { type: 'string' }
      },
      false
    )
    const t0 = performance.now()
    const root = findRepoRoot()
    const packDir = resolve(values.pack ?? join(root, 'models', 'shapes-demo'))
    const cacheDir = resolve(values.cache ?? join(root, '.cache', 'bench'))
    const out = resolve(values.out ?? join(root, 'docs', 'benchmarks.md'))
    const only = new Set(values.only ?? PARTS)
    for (const p of only) if (!(PARTS as readonly string[]).includes(p)) throw new Error(`--only ${p}: expected one of ${PARTS.join(', ')}`)
    const quick = !!values.quick
    const provider = values.provider ?? 'cpu'
    if (provider !== 'cpu' && provider !== 'cuda') throw new Error(`--provider ${provider}: expected cpu or cuda`)
    const unavailable = await providerUnavailable(provider)
    if (unavailable) {
      log(`--provider ${provider} cannot run on this machine: ${unavailable}. Nothing was measured and nothing was written.`)
      return 1
    }
    setBenchProvider(provider)
    const threads = Number(values.threads ?? 2)
    // issue 15: RSS stays flat over a 5,000-image batch ([Note: flat RSS] in eval/bench/report.ts)
    const batchImages = Number(values['batch-images'] ?? (quick ? 300 : 5000))
    const m = { warmup: 2, minIters: quick ? 3 : 5, minSeconds: quick ? 1 : 3, rounds: quick ? 3 : 5 }
    const pack = await readPackJson(packDir)
    const seed = worldSeed(readPackProvenance(packDir))
    const tjs = await loadTransformers()
    const doc: BenchDoc = {
      command: argv.length ? `npm run bench -- ${argv.join(' ')}` : 'npm run bench',
      machine: machineInfo(root, ['src', 'models', 'package-lock.json']),
      threads,
      transformers: 'error' in tjs ? `not available (${tjs.error})` : `@huggingface/transformers ${tjs.version}`,
      clip: [],
      skipped: [],
      findings: [],
      seconds: 0
    }
    const clip: ClipBenchResult[] = []
    if (only.has('clip')) {
      const val = ensureDemoSplit('val', { root, cacheDir: join(root, '.cache', 'eval'), seed, size: pack.preprocess.size, count: 256, log })
      clip.push(await benchClip({ packDir, pack, images: images(val.imagesDir), threads, cacheDir, imageBatches: [1, 16], textBatches: [1, 64], decodeBatch: 9, captionImages: quick ? 64 : 256, measure: m, log }))
    }
    if (only.has('vitb32')) {
      const v = ensureVitB32(root, cacheDir)
      if ('skip' in v) {
        doc.skipped.push(v.skip)
        log(`skipping: ${v.skip}`)
      } else {
        const vpack = await readPackJson(v.dir)
        const val = ensureDemoSplit('val', { root, cacheDir: join(root, '.cache', 'eval'), seed, size: 256, count: 64, log })
        clip.push(await benchClip({ packDir: v.dir, pack: vpack, images: images(val.imagesDir), threads, cacheDir, imageBatches: [1, 8], textBatches: [1, 32], decodeBatch: 9, captionImages: quick ? 4 : 8, measure: m, log }))
      }
    }
    if (only.has('overlap')) {
      // issue 16 item 4: decoding hidden behind the encoder, per thread setting (eval/bench/overlap-bench.ts)
      const v = ensureVitB32(root, cacheDir)
      if ('skip' in v) doc.skipped.push(`overlap: ${v.skip}`)
      else {
        const { benchOverlap, overlapFindings } = await import('../../eval/bench/overlap-bench')
        const vpack = await readPackJson(v.dir)
        const val = ensureDemoSplit('val', { root, cacheDir: join(root, '.cache', 'eval'), seed, size: 256, count: 64, log })
        const rows = await benchOverlap({ packDir: v.dir, pack: vpack, images: images(val.imagesDir), batches: [1, 8], measure: m, log })
        doc.findings.push(...overlapFindings(rows, `${vpack.id}@${vpack.version}`))
      }
    }
    if (only.has('decode') && !only.has('clip') && !only.has('vitb32')) {
      const { benchDecodeOnly } = await import('../../eval/bench/decode-bench')
      const { Engine } = await import('../../engine/worker')
      const targets: { dir: string; size: number }[] = [{ dir: packDir, size: pack.preprocess.size }]
      const v = ensureVitB32(root, cacheDir)
      if ('skip' in v) doc.skipped.push(v.skip)
      else targets.push({ dir: v.dir, size: 256 })
      for (const t of targets) {
        const tp = await readPackJson(t.dir)
        const val = ensureDemoSplit('val', { root, cacheDir: join(root, '.cache', 'eval'), seed, size: t.size, count: 64, log })
        const engine = await Engine.open(t.dir, { providers: [benchProvider()], intraOpThreads: threads })
        await engine.warm()
        clip.push(await benchDecodeOnly({ engine, packDir: t.dir, pack: tp, images: images(val.imagesDir), decodeBatch: 9, threads, measure: m, beams: [1, 3], rerunRows: false, log }))
        await engine.close()
      }
    }
    doc.clip = clip
    if (only.has('ort-options')) {
      const v = ensureVitB32(root, cacheDir)
      const target = 'skip' in v ? packDir : v.dir
      if ('skip' in v) doc.skipped.push(`ort-options on ${pack.id} instead: ${v.skip}`)
      else {
        try {
          execFileSync('/usr/bin/python3', [join(root, 'tools', 'modelkit', 'quantize_random_vitb32.py'), v.dir], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] })
        } catch (err) {
          doc.skipped.push(`int8 towers: the quantization failed: ${(err as Error).message.split('\n')[0]}`)
        }
      }
      const { benchOrtOptions } = await import('../../eval/bench/ort-options')
      const { Engine } = await import('../../engine/worker')
      const tp = await readPackJson(target)
      const val = ensureDemoSplit('val', { root, cacheDir: join(root, '.cache', 'eval'), seed, size: 'skip' in v ? pack.preprocess.size : 256, count: 64, log })
      const engine = await Engine.open(target, { providers: [benchProvider()], intraOpThreads: threads })
      const { syntheticTexts } = await import('../../eval/bench/clip-bench')
      const words = [...new Set(engine.pack.datastoreCaptions.flatMap((c) => c.split(/\s+/)).filter(Boolean))]
      doc.ortOptions = await benchOrtOptions({ engine, packDir: target, pack: tp, images: images(val.imagesDir), texts: syntheticTexts(words.length >= 5 ? words : ['a', 'photo', 'of', 'the', 'scene'], 64), threads, measure: m, log })
      await engine.close()
    }
    if (only.has('import')) {
      const photos = join(cacheDir, 'photos-1600x1200')
      log('library import: preparing photos')
      await makePhotos(photos, quick ? 60 : 200)
      doc.importBench = await benchImport(photos, join(cacheDir, 'scratch-import'), join(root, 'models'))
      log(`library import: ${JSON.stringify(doc.importBench)}`)
      const files = Number(values['import-files'] ?? (quick ? 2000 : 50_000))
      const previousFiles = Number(values['import-previous-files'] ?? Math.min(files, quick ? 1000 : 5000))
      doc.importScale = await benchImportScale({
        photosDir: join(cacheDir, `photos-640x480-n${files}`),
        scratch: join(cacheDir, 'scratch-import-scale'),
        bundledPacksDir: join(root, 'models'),
        files,
        previousFiles,
        log
      })
    }
    if (only.has('sqlite')) {
      doc.sqlite = benchSqlite(join(cacheDir, 'scratch-sqlite'))
      log(`sqlite: ${JSON.stringify(doc.sqlite)}`)
    }
    if (only.has('batch')) {
      const split = ensureDemoSplit('train', { root, cacheDir: join(root, '.cache', 'eval'), seed, size: pack.preprocess.size, count: batchImages, log })
      log(`studio batch over ${batchImages} images`)
      doc.batch = await benchStudioBatch(split.imagesDir, join(cacheDir, 'scratch-batch'), join(root, 'models'), pack.id, log)
      doc.inProcess = await benchInProcessStall(packDir, images(split.imagesDir).slice(0, quick ? 50 : 200), threads)
      const svgPath = out.replace(/\.md$/, '') + '-rss.svg'
      mkdirSync(dirname(svgPath), { recursive: true })
      writeFileSync(
        svgPath,
        lineChartSvg(
          [{ label: `RSS, caption job over ${doc.batch.images} images`, colour: '#1f6fb2', points: doc.batch.rss.map((r) => ({ x: r.seconds, y: r.rssMiB })) }],
          { title: 'Resident memory during a studio batch (host + engine worker)', xLabel: 'seconds since the job started', yLabel: 'RSS (MiB)' }
        )
      )
      doc.rssSvg = relative(resolve(out, '..'), svgPath)
      // issue 16 item 2: the same job on the random ViT-B/32 pack (64 images), the pack served as a bundled one
      const v = ensureVitB32(root, cacheDir)
      if ('skip' in v) doc.skipped.push(`studio batch on the ViT-B/32 pack: ${v.skip}`)
      else {
        const vpack = await readPackJson(v.dir)
        const bundled = join(cacheDir, 'vitb32-bundled')
        mkdirSync(bundled, { recursive: true })
        if (!existsSync(join(bundled, 'vitb32', 'pack.json'))) symlinkSync(v.dir, join(bundled, 'vitb32'), 'dir')
        const val = ensureDemoSplit('val', { root, cacheDir: join(root, '.cache', 'eval'), seed, size: 256, count: 64, log })
        log(`studio batch over 64 images on ${vpack.id}`)
        const batch = await benchStudioBatch(val.imagesDir, join(cacheDir, 'scratch-batch-vitb32'), bundled, vpack.id, log)
        const inProcess = await benchInProcessStall(v.dir, images(val.imagesDir).slice(0, quick ? 16 : 64), threads)
        doc.batchVitb32 = { pack: `${vpack.id}@${vpack.version}`, batch, inProcess }
      }
    }
    if (only.has('retrieval')) {
      const num = (x: string | undefined, d: number) => (x === undefined ? d : Number(x))
      const quantization = values['retrieval-quantization'] ?? DEFAULT_INDEX_PARAMS.quantization
      if (quantization !== 'b1' && quantization !== 'i8') throw new Error(`--retrieval-quantization ${quantization}: expected b1 or i8`)
      const params = {
        quantization: quantization as 'b1' | 'i8',
        shardRows: num(values['retrieval-shard-rows'], DEFAULT_INDEX_PARAMS.shardRows),
        connectivity: num(values['retrieval-connectivity'], DEFAULT_INDEX_PARAMS.connectivity),
        expansionAdd: num(values['retrieval-expansion-add'], DEFAULT_INDEX_PARAMS.expansionAdd),
        expansionSearch: num(values['retrieval-expansion-search'], DEFAULT_INDEX_PARAMS.expansionSearch)
      }
      const rows = num(values['retrieval-rows'], quick ? 100_000 : 590_000)
      log(`retrieval: ${rows} synthetic rows, ${JSON.stringify(params)}`)
      doc.retrieval = await benchRetrieval({ rows, params, threads, scratch: join(cacheDir, 'scratch-retrieval'), cli: [process.execPath, process.argv[1]!], log })
    }
    if (only.has('photo')) {
      const p = await benchPhoto({ root, cacheDir, quick, threads, log })
      if ('skip' in p) doc.skipped.push(p.skip)
      else doc.photo = p
    }
    if (only.has('fleet')) {
      const { benchFleet, fleetFindings } = await import('../../eval/bench/fleet')
      const f = await benchFleet({ root, packDir, scratch: join(cacheDir, 'scratch-fleet'), images: quick ? 200 : 400, rounds: quick ? 2 : 3, log })
      if ('skip' in f) doc.skipped.push(f.skip)
      else doc.findings.push(...fleetFindings(f, `${pack.id}@${pack.version}`))
    }
    if (only.has('search')) {
      const { benchSearch, searchFindings } = await import('../../eval/bench/search-bench')
      const s = await benchSearch({ packDir, scratch: join(cacheDir, 'scratch-search'), quick, log })
      doc.findings.push(...searchFindings(s, `${pack.id}@${pack.version}`))
    }
    doc.seconds = (performance.now() - t0) / 1000
    const jsonPath = out.replace(/\.md$/, '') + '.json'
    const previous = existsSync(jsonPath) ? parseRatioRecord(readFileSync(jsonPath, 'utf8')) : null
    const record: RatioRecord = { commit: doc.machine.commit, date: doc.machine.date, command: doc.command, ratios: ratiosOf(doc) }
    if (previous) doc.reproduction = { previous: { commit: previous.commit, date: previous.date, command: previous.command }, rows: compareRatios(previous, record.ratios) }
    mkdirSync(dirname(out), { recursive: true })
    writeFileSync(out, benchMarkdown(doc))
    writeFileSync(jsonPath, JSON.stringify(record, null, 1) + '\n')
    log(`wrote ${relative(root, out)}`)
    return 0
  }
}
