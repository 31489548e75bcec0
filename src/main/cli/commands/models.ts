// CLI (plain Node). `models list|verify|install|activate`: caption packs in the studio's data folder and the
// bundled models/ folder, through the same handlers as the app (services/engine-handlers.ts).
import { StudioError } from '@shared/errors'
import { cliEngine } from '../cli-support'
import { defaultDataDir } from '../../services/data-dir'
import { createEngineHandlers } from '../../services/engine-handlers'
import { emit, log, parse, type CliCommand } from '../command'

export const modelsCommand: CliCommand = {
  name: 'models',
  summary: 'List, verify, install or activate caption packs',
  usage: `usage: caption-studio models list [--data-dir DIR] [--bundled DIR]
       caption-studio models verify <id> [--data-dir DIR]
       caption-studio models install <folder|https://…/pack.json> [--activate] [--data-dir DIR]
       caption-studio models activate <id> [--data-dir DIR]`,
  async run(argv) {
    const { values, positionals } = parse(argv, { 'data-dir': { type: 'string' }, bundled: { type: 'string' }, activate: { type: 'boolean' } })
    const [sub, arg] = positionals
    const engine = cliEngine()
    let lastPct = -1
    const h = createEngineHandlers({
      dataDir: values['data-dir'] ?? defaultDataDir(),
      bundledPacksDir: values.bundled,
      engine,
      imagePath: () => {
        throw new StudioError('unsupported', 'no library in this command')
      },
      emit: (e) => {
        if (e.type !== 'models.install') return
        const pct = e.total ? Math.floor((100 * e.received) / e.total) : 0
        if (pct !== lastPct || e.phase !== 'fetching') log(`${e.phase} ${e.file ?? ''} ${pct}%${e.message ? ` ${e.message}` : ''}`)
        lastPct = pct
      }
    })
    try {
      switch (sub) {
        case 'list':
          emit(await h['models.list']({}))
          return 0
        case 'verify': {
          if (!arg) throw new StudioError('invalid_input', 'models verify <id>')
          const r = await h['models.verify']({ id: arg })
          emit(r)
          return r.ok ? 0 : 1
        }
        case 'install':
          if (!arg) throw new StudioError('invalid_input', 'models install <folder|url>')
          emit(await h['models.install']({ source: arg, activate: !!values.activate }))
          return 0
        case 'activate':
          if (!arg) throw new StudioError('invalid_input', 'models activate <id>')
          emit(await h['models.activate']({ id: arg }))
          return 0
        default:
          throw new StudioError('invalid_input', `unknown subcommand "${sub ?? ''}" (list, verify, install, activate)`)
      }
    } finally {
      await engine.dispose()
    }
  }
}
