// Main process code paths (plain Node: better-sqlite3, sharp). Library import speed against plain sharp
// thumbnailing, and SQLite insert rates through the store's repository.
// [Note: what is compared] "ours" is the studio's real import: services → library.addRoot → the scanner
// (walk, stat, sha256 of the file, header probe, one INSERT per file, then a sharp thumbnail per file, all
// in sequence) until library.waitForScans resolves. The baseline is the thumbnail step alone with the same
// sharp settings (rotate, 256 px inside, WebP q82), once sequentially like the scanner and once with one
// file in flight per core. The gap between them is what the rest of the import costs.
import { mkdirSync, readdirSync, rmSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { createServices } from '../../services/services'
import { openDatabase } from '../../store/db'
import { ImagesRepo, type NewImage } from '../../store/images-repo'
import { isImageFile } from '../../library/image-types'

export interface ImportBench {
  files: number
  oursFilesPerSec: number
  sharpSequentialFilesPerSec: number
  sharpParallelFilesPerSec: number
  parallelism: number
}

async function thumbnail(src: string, out: string): Promise<void> {
  await sharp(src, { failOn: 'warning' }).rotate().resize(256, 256, { fit: 'inside', withoutEnlargement: true }).webp({ quality: 82 }).toFile(out)
}

async function pool<T>(items: readonly T[], width: number, fn: (x: T, i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++
        await fn(items[i]!, i)
      }
    })
  )
}

export async function benchImport(photosDir: string, scratch: string, bundledPacksDir: string): Promise<ImportBench> {
  const files = readdirSync(photosDir).filter(isImageFile).sort().map((f) => join(photosDir, f))
  const width = availableParallelism()
  rmSync(scratch, { recursive: true, force: true })
  const thumbs = join(scratch, 'thumbs')
  mkdirSync(thumbs, { recursive: true })
  // warm sharp/libvips once, untimed
  await thumbnail(files[0]!, join(thumbs, 'warm.webp'))

  let t = performance.now()
  for (const [i, f] of files.entries()) await thumbnail(f, join(thumbs, `s${i}.webp`))
  const seq = files.length / ((performance.now() - t) / 1000)

  t = performance.now()
  await pool(files, width, (f, i) => thumbnail(f, join(thumbs, `p${i}.webp`)))
  const par = files.length / ((performance.now() - t) / 1000)

  const services = createServices(join(scratch, 'data'), 'cli', { bundledPacksDir })
  let ours: number
  try {
    t = performance.now()
    await services.call('library.addRoot', { path: photosDir })
    await services.call('library.waitForScans', {})
    ours = files.length / ((performance.now() - t) / 1000)
  } finally {
    await services.close()
  }
  rmSync(scratch, { recursive: true, force: true })
  return { files: files.length, oursFilesPerSec: ours, sharpSequentialFilesPerSec: seq, sharpParallelFilesPerSec: par, parallelism: width }
}

export interface SqliteBench {
  autocommitRowsPerSec: number
  autocommitRows: number
  transactionRowsPerSec: number
  transactionRows: number
  transactionSize: number
}

function row(rootId: number, i: number): NewImage {
  return { rootId, relPath: `dir/${i}.jpg`, hash: i.toString(16).padStart(64, '0'), bytes: 100_000 + i, mtimeMs: 1_700_000_000_000 + i, width: 4000, height: 3000, orientation: 1, format: 'jpeg', error: null, scanGen: 1 }
}

/** ImagesRepo.insert as the scanner calls it (one statement, autocommit), and inside transactions. */
export function benchSqlite(scratch: string, autocommitRows = 2000, transactionRows = 20_000, transactionSize = 1000): SqliteBench {
  rmSync(scratch, { recursive: true, force: true })
  mkdirSync(scratch, { recursive: true })
  const db = openDatabase(join(scratch, 'bench.sqlite'))
  try {
    const repo = new ImagesRepo(db)
    const rootA = repo.addRoot('/bench/a').id
    let t = performance.now()
    for (let i = 0; i < autocommitRows; i++) repo.insert(row(rootA, i), null)
    const auto = autocommitRows / ((performance.now() - t) / 1000)
    const rootB = repo.addRoot('/bench/b').id
    const tx = db.transaction((from: number) => {
      for (let i = from; i < from + transactionSize; i++) repo.insert(row(rootB, i), null)
    })
    t = performance.now()
    for (let i = 0; i < transactionRows; i += transactionSize) tx(i)
    const txRate = transactionRows / ((performance.now() - t) / 1000)
    return { autocommitRowsPerSec: auto, autocommitRows, transactionRowsPerSec: txRate, transactionRows, transactionSize }
  } finally {
    db.close()
    rmSync(scratch, { recursive: true, force: true })
  }
}

/** Photo-like JPEGs (smooth colour fields plus noise) for the import benchmark, made once into `dir`. */
export async function makePhotos(dir: string, count: number, width = 1600, height = 1200, first = 0): Promise<void> {
  mkdirSync(dir, { recursive: true })
  const have = new Set(readdirSync(dir))
  for (let i = first; i < first + count; i++) {
    const name = `photo_${String(i).padStart(4, '0')}.jpg`
    if (have.has(name)) continue
    const w = 64
    const h = 48
    const raw = Buffer.alloc(w * h * 3)
    let s = (i + 1) * 2654435761
    for (let k = 0; k < raw.length; k++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0
      const y = Math.floor(k / 3 / w)
      raw[k] = ((k % 3) * 60 + y * 3 + (i * 37) % 120 + (s >>> 28)) & 0xff
    }
    await sharp(raw, { raw: { width: w, height: h, channels: 3 } })
      .resize(width, height, { kernel: 'cubic' })
      .blur(2)
      .jpeg({ quality: 88 })
      .toFile(join(dir, name))
  }
}
