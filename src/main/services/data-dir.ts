// Main process / serve / CLI (plain Node). Where the studio keeps its database, thumbnails and settings.
// `--data-dir` or STUDIO_DATA_DIR override; otherwise the platform's per-user data folder (the same
// folder Electron's userData would use for "Caption Studio", so all three hosts share one library).
import { homedir } from 'node:os'
import { join } from 'node:path'

export function defaultDataDir(): string {
  if (process.env.STUDIO_DATA_DIR) return process.env.STUDIO_DATA_DIR
  const home = homedir()
  if (process.platform === 'win32') return join(process.env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'Caption Studio')
  if (process.platform === 'darwin') return join(home, 'Library', 'Application Support', 'Caption Studio')
  return join(process.env.XDG_CONFIG_HOME ?? join(home, '.config'), 'Caption Studio')
}
