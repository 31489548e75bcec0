// CLI (plain Node). The shape of one CLI command. [Note: CLI output] Results go to stdout as JSON lines
// (one object per line) when --json is given; logs and progress go to stderr, so stdout stays machine-readable.
import { parseArgs, type ParseArgsConfig } from 'node:util'

export interface CliCommand {
  name: string
  summary: string
  usage: string
  run(argv: string[]): Promise<number>
}

export function parse<T extends ParseArgsConfig['options']>(argv: string[], options: T, allowPositionals = true) {
  return parseArgs({ args: argv, options, allowPositionals, strict: true })
}

export function log(message: string): void {
  process.stderr.write(message + '\n')
}

export function emit(obj: unknown): void {
  process.stdout.write(JSON.stringify(obj) + '\n')
}
