// Main process / serve / CLI (plain Node). [Note: absolute paths] The host's half of the rule: the contract
// checks the syntax on every platform (it cannot know the host's), and the host refuses a path its own
// platform would resolve against the working folder, e.g. "C:\x" on Linux (it made cwd/C:\x, found by the
// contract fuzz).
import { isAbsolute } from 'node:path'
import { StudioError } from '@shared/errors'

/** `p` unchanged when it is absolute on this platform; invalid_input naming `what` otherwise. */
export function hostAbsolutePath(p: string, what: string): string {
  if (!isAbsolute(p)) throw new StudioError('invalid_input', `${what} "${p.slice(0, 200)}" is not an absolute path on this ${process.platform} host`)
  return p
}
