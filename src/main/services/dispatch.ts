// Main process / serve / CLI (plain Node). [Note: one contract] The single dispatch path every host uses:
// validate the input against the contract, run the handler, validate the output. A handler can never see
// unvalidated input, and a bad output is a bug reported as `internal`, not silently passed on.
import * as v from 'valibot'
import { isOpName, operations, type OpName, type OpOutput, type OpParsedInput } from '@shared/contract'
import { describeIssues } from '@shared/contract/define'
import { StudioError } from '@shared/errors'

export type Handler<K extends OpName> = (input: OpParsedInput<K>) => Promise<OpOutput<K>> | OpOutput<K>
export type Handlers = { [K in OpName]: Handler<K> }

export async function dispatch(handlers: Handlers, name: string, rawInput: unknown): Promise<unknown> {
  if (!isOpName(name)) throw new StudioError('not_found', `unknown operation "${name.slice(0, 80)}"`)
  const def = operations[name]
  const parsed = v.safeParse(def.input, rawInput ?? {})
  if (!parsed.success) throw new StudioError('invalid_input', `${name}: ${describeIssues(parsed.issues)}`)
  const handler = handlers[name] as (input: unknown) => unknown
  const output = await handler(parsed.output)
  const checked = v.safeParse(def.output, output)
  if (!checked.success) throw new StudioError('internal', `${name} produced an invalid result: ${describeIssues(checked.issues)}`)
  return checked.output
}
