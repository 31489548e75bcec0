// CLI (plain Node). The shape of one CLI command. [Note: CLI output] Results go to stdout as JSON lines
// (one object per line) when --json is given; logs and progress go to stderr, so stdout stays machine-readable.
import { parseArgs, type ParseArgsConfig } from 'node:util'

/** What a command does when it runs; a lazily loaded command (registry.ts) is only this. */
export interface CommandBody {
  usage: string
  run(argv: string[]): Promise<number>
}

export interface CliCommand extends CommandBody {
  name: string
  summary: string
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
