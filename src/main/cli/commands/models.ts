// CLI (plain Node). `models list|verify|install|activate`: caption packs in the studio's data folder and the
// bundled models/ folder, through the same handlers as the app (services/engine-handlers.ts).
import { resolve } from 'node:path'
import { StudioError } from '@shared/errors'
import { isUrl } from '../../engine/packs/install'
import { cliEngine } from '../cli-support'
import { defaultDataDir } from '../../services/data-dir'
import { createEngineHandlers } from '../../services/engine-handlers'
import { emit, log, parse, type CliCommand } from '../command'
import { runModelsGet } from './models-get'

export const modelsCommand: CliCommand = {
  name: 'models',
  summary: 'List, verify, install or activate caption packs; get a photo pack from a catalog',
  usage: `usage: caption-studio models list [--data-dir DIR] [--bundled DIR]
       caption-studio models verify <id> [--data-dir DIR]
       caption-studio models install <folder|https://…/pack.json> [--activate] [--data-dir DIR]
       caption-studio models activate <id> [--data-dir DIR]
       caption-studio models catalog [--catalog FILE]… [--data-dir DIR]
       caption-studio models get <clip-id> --corpus <corpus-id> [--max-captions N] [--catalog FILE]… [--no-activate] [--data-dir DIR]

  get      download the pinned files (verified by sha256), embed the corpus captions and install the pack;
           Ctrl+C pauses, running it again resumes. Example: models get clip-vit-b32 --corpus coco-captions-2017
  catalog  the catalog entries (shipped models/catalog.json, STUDIO_CATALOG, --catalog files) as JSON`,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      'data-dir': { type: 'string' },
      bundled: { type: 'string' },
      activate: { type: 'boolean' },
      'no-activate': { type: 'boolean' },
      corpus: { type: 'string' },
      'max-captions': { type: 'string' },
      catalog: { type: 'string', multiple: true }
    })
    const [sub, arg] = positionals
    if (sub === 'get' || sub === 'catalog') {
      const max = values['max-captions'] === undefined ? undefined : Number(values['max-captions'])
      if (max !== undefined && (!Number.isInteger(max) || max < 10)) throw new StudioError('invalid_input', '--max-captions must be an integer ≥ 10')
      return runModelsGet({ sub, clipId: arg, corpus: values.corpus, maxCaptions: max, catalogs: values.catalog ?? [], dataDir: values['data-dir'], activate: !values['no-activate'] })
    }
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
          emit(await h['models.install']({ source: isUrl(arg) ? arg : resolve(arg), activate: !!values.activate }))
          return 0
        case 'activate':
          if (!arg) throw new StudioError('invalid_input', 'models activate <id>')
          emit(await h['models.activate']({ id: arg }))
          return 0
        default:
          throw new StudioError('invalid_input', `unknown subcommand "${sub ?? ''}" (list, verify, install, activate, catalog, get)`)
      }
    } finally {
      await engine.dispose()
    }
  }
}
