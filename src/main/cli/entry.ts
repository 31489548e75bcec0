// CLI (plain Node) entry: `npm run cli -- <command> …` or the `caption-studio` bin.
import { COMMANDS, loadCommand } from './registry'
import { StudioError } from '@shared/errors'

function usage(): string {
  const lines = COMMANDS.filter((c) => !('hidden' in c && c.hidden)).map((c) => `  ${c.name.padEnd(16)} ${c.summary}`)
  return ['usage: caption-studio <command> [options]', '', 'commands:', ...lines, '', 'Run `caption-studio <command> --help` for options.'].join('\n')
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n')
    return name ? 0 : 1
  }
  const entry = COMMANDS.find((c) => c.name === name)
  if (!entry) {
    process.stderr.write(`unknown command "${name}"\n\n${usage()}\n`)
    return 2
  }
  const command = await loadCommand(entry)
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.usage}\n`)
    return 0
  }
  return command.run(rest)
}

// A closed stdout (e.g. piped into `head`) ends the command quietly instead of crashing with EPIPE.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0)
  throw err
})

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    const msg = err instanceof StudioError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err)
    process.stderr.write(`error: ${msg}\n`)
    process.exitCode = 1
  }
)
