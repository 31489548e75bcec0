// Engine worker / any Node process (pure). The text-encoder input every tokenizer builds: token id rows
// padded to the longest row with the tokenizer's pad id, attention mask 1 on real tokens.
import type { TokenBatch } from './tokenizer'

export function padBatch(encoded: readonly (readonly number[])[], pad: number): TokenBatch {
  const seq = Math.max(1, ...encoded.map((e) => e.length))
  const ids = new BigInt64Array(encoded.length * seq).fill(BigInt(pad))
  const mask = new BigInt64Array(encoded.length * seq)
  encoded.forEach((e, b) =>
    e.forEach((id, t) => {
      ids[b * seq + t] = BigInt(id)
      mask[b * seq + t] = 1n
    })
  )
  return { ids, mask, batch: encoded.length, seq }
}
