// The Electron audit in CI: Electronegativity (@doyensec/electronegativity 1.10.3, through
// tools/electronegativity.js, [Note: electronegativity commander]) over the sources (src: the Electron
// main process, the preload, the renderer's index.html with its CSP) and, when built, the bundles in out/
// (what ships). Its CSV output is parsed; every finding of severity medium or high must be listed as justified in docs/security.md ("Electron audit" table:
// check id and file), so a new finding fails here. A canary window with nodeIntegration on proves the tool
// really scans (a broken CLI that finds nothing would pass otherwise).
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../fixtures/images'

const ROOT = resolve(__dirname, '../..')
const TOOL = join(ROOT, 'tools/electronegativity.js')
const ELECTRON = (JSON.parse(readFileSync(join(ROOT, 'node_modules/electron/package.json'), 'utf8')) as { version: string }).version
const run = promisify(execFile)

interface Finding { check: string; file: string; line: string; severity: string }

/** RFC 4180 CSV (quoted fields, doubled quotes, newlines inside quotes). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"'
        i++
      } else if (c === '"') quoted = false
      else field += c
    } else if (c === '"') quoted = true
    else if (c === ',') {
      row.push(field)
      field = ''
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++
      row.push(field)
      if (row.some((f) => f !== '')) rows.push(row)
      row = []
      field = ''
    } else field += c
  }
  if (field !== '' || row.length) rows.push([...row, field])
  return rows
}

/** Run the CLI over `input` (relative to `cwd`) with CSV output; its findings. (The wrapper makes the CSV
 *  complete: [Note: electronegativity csv].) */
async function audit(input: string, cwd = ROOT): Promise<Finding[]> {
  const csv = join(tempDir('electronegativity'), 'findings.csv')
  // AvailableSecurityFixesGlobalCheck asks GitHub for Electron's release list (no network in CI; it waits out
  // got's retries): Electron is pinned by package-lock.json and upgraded by hand
  await run(process.execPath, [TOOL, '-i', input, '-r', '-e', ELECTRON, '-x', 'AvailableSecurityFixesGlobalCheck', '-o', csv], { cwd, timeout: 240_000 })
  const rows = parseCsv(readFileSync(csv, 'utf8'))
  expect(rows[0]?.[0], 'the CSV starts with its header').toBe('issue')
  return rows.slice(1).map((r) => ({ check: r[0]!, severity: r[1]!.toUpperCase(), file: r[3] === 'N/A' ? 'N/A' : `${input}/${r[3]}`, line: r[4]!.split(':')[0]! }))
}

/** The justified findings: rows of the "Electron audit" table in docs/security.md, `| CHECK | path | … |`. */
function justified(): Set<string> {
  const md = readFileSync(join(ROOT, 'docs/security.md'), 'utf8')
  const section = md.split(/^## /m).find((s) => s.startsWith('Electron audit'))
  if (!section) throw new Error('docs/security.md has no "## Electron audit" section')
  const out = new Set<string>()
  for (const m of section.matchAll(/^\| `([A-Z_]+)` \| `([^`]+)` \|/gm)) out.add(`${m[1]}|${m[2]}`)
  return out
}

const serious = (f: Finding) => f.severity !== 'LOW' && f.severity !== 'INFORMATIONAL'

describe('Electron audit (Electronegativity)', () => {
  // every CLI run starts at once (each waits seconds on the network it does not have, not on the CPU)
  let canary: Promise<Finding[]>
  let app: Promise<Finding[][]>
  const inputs = existsSync(join(ROOT, 'out/main/index.js')) ? ['src', 'out'] : ['src']
  beforeAll(() => {
    const dir = tempDir('electronegativity-canary')
    mkdirSync(join(dir, 'app'))
    writeFileSync(join(dir, 'app', 'main.js'), `const { BrowserWindow } = require('electron')\nnew BrowserWindow({ webPreferences: { nodeIntegration: true, contextIsolation: false, sandbox: false } })\n`)
    canary = audit('app', dir)
    app = Promise.all(inputs.map((i) => audit(i)))
    canary.catch(() => undefined)
    app.catch(() => undefined)
  })

  it('finds a misconfigured window (the tool really scans)', async () => {
    const found = await canary
    expect(found.map((f) => f.check)).toEqual(expect.arrayContaining(['CONTEXT_ISOLATION_JS_CHECK', 'SANDBOX_JS_CHECK', 'LIMIT_NAVIGATION_GLOBAL_CHECK']))
    expect(found.filter(serious).length).toBeGreaterThan(0)
  }, 300_000)

  it('every medium or high finding over src/ and out/ is justified in docs/security.md', async () => {
    if (inputs.length === 1) console.warn('electronegativity.test.ts: out/ is not built (npx electron-vite build): auditing src/ only')
    const found = (await app).flat()
    const ok = justified()
    process.stdout.write(`[electronegativity] Electron ${ELECTRON}, ${inputs.join(' + ')}: ${found.length} findings: ${found.map((f) => `${f.check} ${f.severity} ${f.file}:${f.line}`).join('; ')}\n`)
    const unjustified = found.filter(serious).filter((f) => !ok.has(`${f.check}|${f.file}`))
    expect(unjustified, 'findings to fix, or to justify in the "Electron audit" table of docs/security.md').toEqual([])
    // the sources were scanned: the preload is always there to be reviewed
    expect(found.some((f) => f.check === 'PRELOAD_JS_CHECK' && f.file.startsWith('src/main/electron/'))).toBe(true)
  }, 300_000)
})
