// Any Node process. Describes the machine and the code a measurement was taken on, for results.md and
// benchmarks.md: CPU model and cores, memory, OS, Node and onnxruntime-node versions, and the git commit
// (marked "+ uncommitted changes" when the working tree differs from it, so a figure is never attributed
// to a commit it was not measured on).
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { arch, cpus, platform, release, totalmem } from 'node:os'
import { join } from 'node:path'

export interface MachineInfo {
  cpu: string
  cores: number
  memoryGiB: number
  os: string
  node: string
  onnxruntime: string
  commit: string
  dirty: boolean
  date: string
}

function git(root: string, args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return ''
  }
}

function pkgVersion(root: string, name: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version?: string }).version ?? '?'
  } catch {
    return 'not installed'
  }
}

/** `paths` limits the dirty check to the files that influence the measurement (default: the whole tree). */
export function machineInfo(root: string, paths: string[] = []): MachineInfo {
  const c = cpus()
  const status = git(root, ['status', '--porcelain', '--untracked-files=no', '--', ...paths])
  return {
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()} ${arch()}`,
    node: process.version,
    onnxruntime: pkgVersion(root, 'onnxruntime-node'),
    commit: git(root, ['rev-parse', '--short=12', 'HEAD']) || 'unknown',
    dirty: status.length > 0,
    date: new Date().toISOString()
  }
}

export function machineMarkdown(m: MachineInfo, command: string): string {
  return [
    `- Command: \`${command}\``,
    `- Commit: \`${m.commit}\`${m.dirty ? ' + uncommitted changes' : ''}, measured ${m.date}`,
    `- Machine: ${m.cpu}, ${m.cores} logical cores, ${m.memoryGiB} GiB RAM, ${m.os}`,
    `- Node ${m.node}, onnxruntime-node ${m.onnxruntime}`
  ].join('\n')
}

export function findRepoRoot(start = process.cwd()): string {
  return git(start, ['rev-parse', '--show-toplevel']) || start
}
