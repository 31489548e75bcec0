// Any process (pure TypeScript). [Note: embedding spaces] How a library embedding is stored: int8 with one
// scale per row, the same coding as the caption datastore's rows (packs/datastore-format.ts quantizeRow), so
// x ≈ scale·q with |q| ≤ 127 and the worst error per component is scale/2 = max|x|/254.
import { StudioError } from '@shared/errors'
import { quantizeRow } from '../engine/packs/datastore-format'

export interface Quantized {
  scale: number
  /** `dim` bytes: the int8 components as stored in a BLOB. */
  bytes: Buffer
}

export function quantize(x: ArrayLike<number>): Quantized {
  const dim = x.length
  if (dim === 0) throw new StudioError('invalid_input', 'an embedding needs at least one component')
  for (let k = 0; k < dim; k++) if (!Number.isFinite(x[k]!)) throw new StudioError('invalid_input', `embedding component ${k} is not finite`)
  const q = new Int8Array(dim)
  const scale = quantizeRow(x, 0, dim, q, 0)
  return { scale, bytes: Buffer.from(q.buffer, q.byteOffset, q.byteLength) }
}

/** The int8 view of a stored BLOB (no copy). */
export function int8View(bytes: Uint8Array): Int8Array {
  return new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

export function dequantize(scale: number, bytes: Uint8Array): Float32Array {
  const q = int8View(bytes)
  const out = new Float32Array(q.length)
  for (let k = 0; k < q.length; k++) out[k] = scale * q[k]!
  return out
}

/** Unit length (a zero vector stays zero). */
export function normalized(x: ArrayLike<number>): Float32Array {
  let n = 0
  for (let k = 0; k < x.length; k++) n += x[k]! * x[k]!
  const inv = n > 0 ? 1 / Math.sqrt(n) : 0
  const out = new Float32Array(x.length)
  for (let k = 0; k < x.length; k++) out[k] = x[k]! * inv
  return out
}
