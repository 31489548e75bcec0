// CLI (plain Node). What the search, duplicates and library index commands share: absolute image paths by
// id, and integer options.
import { join } from 'node:path'
import { StudioError } from '@shared/errors'
import type { Services } from '../../services/services'

export function imagePaths(services: Services, ids: readonly number[]): (string | null)[] {
  return ids.map((id) => {
    const img = services.ctx.images.get(id)
    const root = img ? services.ctx.images.root(img.root_id) : undefined
    return img && root ? join(root.path, img.rel_path) : null
  })
}

export function positiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new StudioError('invalid_input', `${name} must be a positive integer, not "${value}"`)
  return n
}

export function numberIn(value: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || n < min || n > max) throw new StudioError('invalid_input', `${name} must be a number from ${min} to ${max}, not "${value}"`)
  return n
}
