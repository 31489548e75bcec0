// Shared by every process: host information.
import * as v from 'valibot'
import { Empty, op } from './define'

export const SystemInfo = v.object({
  host: v.picklist(['electron', 'serve', 'cli']),
  version: v.string(),
  dataDir: v.string(),
  platform: v.string()
})
export type SystemInfo = v.InferOutput<typeof SystemInfo>

export const system = {
  'system.info': op(Empty, SystemInfo, 'Which host runs the studio, and where its data lives')
} as const
