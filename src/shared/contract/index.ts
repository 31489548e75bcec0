// Shared by every process: the one contract. [Note: one contract] Every operation is a dotted name with
// an input and an output schema. Hosts (Electron IPC, serve HTTP, CLI) dispatch through the same table
// and validate both directions; the renderer calls `client.call(name, input)` without knowing the host.
import type * as v from 'valibot'
import { analysis } from './analysis'
import { captions } from './captions'
import { catalog } from './catalog'
import { exportsDomain } from './exports'
import { interop } from './interop'
import { engine } from './engine'
import { jobs } from './jobs'
import { models } from './models'
import { suggest } from './suggest'
import { library } from './library'
import { review } from './review'
import { health } from './health'
import { search } from './search'
import { system } from './system'

export const operations = {
  ...system,
  ...library,
  ...captions,
  ...exportsDomain,
  ...jobs,
  ...engine,
  ...models,
  ...catalog,
  ...suggest,
  ...analysis,
  ...review,
  ...health,
  ...interop,
  ...search
} as const

export type Operations = typeof operations
export type OpName = keyof Operations
export type OpInput<K extends OpName> = v.InferInput<Operations[K]['input']>
export type OpParsedInput<K extends OpName> = v.InferOutput<Operations[K]['input']>
export type OpOutput<K extends OpName> = v.InferOutput<Operations[K]['output']>

export const OP_NAMES = Object.keys(operations) as OpName[]
/** The operations a renderer may call over IPC or HTTP ([Note: contract tiers]). */
export const PUBLIC_OP_NAMES = OP_NAMES.filter((n) => operations[n].tier === 'public')

export function isPublicOp(name: string): boolean {
  return isOpName(name) && operations[name].tier === 'public'
}

export function isOpName(name: string): name is OpName {
  return Object.prototype.hasOwnProperty.call(operations, name)
}

export * from './events'
