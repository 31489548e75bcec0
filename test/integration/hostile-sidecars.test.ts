// Malicious sidecars: what sits where a `.txt` export writes (a link out of the folder, a link to a device,
// a FIFO, a folder, a huge file) is reported as a conflict and left alone, in every merge mode; nothing
// outside the library is written, nothing blocks, the other sidecars are written.
import { execFileSync } from 'node:child_process'
import { existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ExportResult } from '../../src/shared/contract/exports'
import { createServices, type Services } from '../../src/main/services/services'
import { encode } from '../fixtures/hostile-files'
import { tempDir } from '../fixtures/images'

let services: Services
let root: string
let outside: string
const NAMES = ['link-out', 'link-zero', 'fifo', 'folder', 'huge', 'plain']

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout
  return Promise.race([p, new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`no end within ${ms} ms`)), ms)))]).finally(() => clearTimeout(t))
}

beforeAll(async () => {
  root = tempDir('sidecars')
  outside = tempDir('sidecars-outside')
  for (const [i, n] of NAMES.entries()) writeFileSync(join(root, `${n}.jpg`), await encode('jpg', 400 + i))
  services = createServices(tempDir('sidecars-data'), 'cli', { resumeJobs: false })
  await services.call('library.addRoot', { path: root })
  await services.call('library.waitForScans', {})
  const { ids } = (await services.call('library.listIds', {})) as { ids: number[] }
  for (const id of ids) await services.call('captions.accept', { imageId: id, text: `caption ${id}` })
  writeFileSync(join(outside, 'victim.txt'), 'do not touch\n')
  symlinkSync(join(outside, 'victim.txt'), join(root, 'link-out.txt'))
  symlinkSync('/dev/zero', join(root, 'link-zero.txt'))
  execFileSync('mkfifo', [join(root, 'fifo.txt')])
  mkdirSync(join(root, 'folder.txt'))
  writeFileSync(join(root, 'huge.txt'), Buffer.alloc(20 * 1024 * 1024, 0x61))
})
afterAll(async () => {
  await services.close()
})

describe('malicious sidecars', () => {
  for (const merge of ['append', 'overwrite', 'skip'] as const) {
    it(`${merge}: links, devices, FIFOs, folders and huge files are conflicts left alone`, async () => {
      const r = (await within(services.call('exports.run', { format: 'txt', merge }), 20_000)) as ExportResult
      expect(readFileSync(join(outside, 'victim.txt'), 'utf8')).toBe('do not touch\n')
      expect(lstatSync(join(root, 'link-out.txt')).isSymbolicLink()).toBe(true)
      expect(lstatSync(join(root, 'link-zero.txt')).isSymbolicLink()).toBe(true)
      expect(lstatSync(join(root, 'fifo.txt')).isFIFO()).toBe(true)
      expect(lstatSync(join(root, 'folder.txt')).isDirectory()).toBe(true)
      for (const n of ['link-out', 'link-zero', 'fifo', 'folder']) expect(r.conflicts.some((c) => c.includes(`${n}.txt`)), `${merge} ${n}`).toBe(true)
      if (merge === 'append') expect(r.conflicts.some((c) => c.includes('huge.txt'))).toBe(true)
      expect(readFileSync(join(root, 'plain.txt'), 'utf8')).toMatch(/^caption \d+\n$/)
      expect(existsSync(join(outside, 'victim.txt.tmp'))).toBe(false)
    })
  }

  it('single-file exports: a link or folder where metadata.jsonl goes is a conflict left alone', async () => {
    const out = tempDir('sidecars-out')
    symlinkSync(join(outside, 'victim.txt'), join(out, 'metadata.jsonl'))
    mkdirSync(join(out, 'captions.csv'))
    for (const [format, what] of [['jsonl', 'a symbolic link'], ['csv', 'a folder']] as const) {
      const r = (await services.call('exports.run', { format, outDir: out, merge: 'overwrite' })) as ExportResult
      expect(r.written).toBe(0)
      // named as the sidecar export names it (sidecar-export's existing())
      expect(r.conflicts.join(' ')).toContain(`is ${what}, not a regular file`)
    }
    expect(readFileSync(join(outside, 'victim.txt'), 'utf8')).toBe('do not touch\n')
    expect(lstatSync(join(out, 'metadata.jsonl')).isSymbolicLink()).toBe(true)
  })
})
