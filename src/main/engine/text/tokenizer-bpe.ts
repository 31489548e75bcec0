// Engine worker / any Node process (pure). CLIP byte-level BPE tokenizer (pack `tokenizer.type: "clip-bpe"`)
// reading a Hugging Face `tokenizer.json` (model.type "BPE", `vocab` map, `merges` as "a b" strings or
// [a, b] pairs, end-of-word suffix "</w>"), as in methods.md §0.2: text is NFC-normalised,
// whitespace-collapsed and lowercased (ftfy's fixes are not reproduced), split by CLIP's regex, each piece
// byte-encoded with the GPT-2 byte→unicode table, merged by rank, and wrapped as SOT … EOT, zero-padded.
import * as v from 'valibot'
import { StudioError } from '@shared/errors'
import { padBatch } from './token-batch'
import type { TokenBatch, Tokenizer } from './tokenizer'
import { decodeUtf8Dropping } from './utf8'

const SPLIT = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/gu

/** GPT-2/CLIP byte → printable unicode character table. */
export function bytesToUnicode(): string[] {
  const bs: number[] = []
  for (let b = 33; b <= 126; b++) bs.push(b)
  for (let b = 161; b <= 172; b++) bs.push(b)
  for (let b = 174; b <= 255; b++) bs.push(b)
  const cs = [...bs]
  let n = 0
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b)
      cs.push(256 + n++)
    }
  }
  const table: string[] = new Array(256)
  bs.forEach((b, i) => (table[b] = String.fromCodePoint(cs[i]!)))
  return table
}

const HfBpe = v.object({
  model: v.object({
    type: v.literal('BPE'),
    vocab: v.record(v.string(), v.number()),
    merges: v.array(v.union([v.string(), v.tuple([v.string(), v.string()])])),
    end_of_word_suffix: v.optional(v.nullable(v.string()))
  }),
  added_tokens: v.optional(v.array(v.object({ id: v.number(), content: v.string() })), [])
})

export class ClipBpeTokenizer implements Tokenizer {
  readonly type = 'clip-bpe'
  readonly vocabSize: number
  readonly bos: number
  readonly eos: number
  readonly pad = 0
  readonly maxLength = 77
  private readonly vocab: Map<string, number>
  private readonly inverse: string[]
  private readonly ranks = new Map<string, number>()
  private readonly byteEnc = bytesToUnicode()
  private readonly byteDec = new Map<string, number>()
  private readonly suffix: string
  private readonly cache = new Map<string, number[]>()

  constructor(json: unknown, fileName: string) {
    const parsed = v.safeParse(HfBpe, json)
    if (!parsed.success) throw new StudioError('model_error', `${fileName}: not a Hugging Face BPE tokenizer.json (${parsed.issues[0]?.message ?? 'invalid'})`)
    const m = parsed.output.model
    this.vocab = new Map(Object.entries(m.vocab))
    for (const t of parsed.output.added_tokens) this.vocab.set(t.content, t.id)
    this.suffix = m.end_of_word_suffix ?? '</w>'
    m.merges.forEach((mg, i) => this.ranks.set(typeof mg === 'string' ? mg : `${mg[0]} ${mg[1]}`, i))
    const sot = this.vocab.get('<|startoftext|>')
    const eot = this.vocab.get('<|endoftext|>')
    if (sot === undefined || eot === undefined) throw new StudioError('model_error', `${fileName}: no <|startoftext|> / <|endoftext|> tokens`)
    this.bos = sot
    this.eos = eot
    this.inverse = []
    for (const [tok, id] of this.vocab) this.inverse[id] = tok
    this.vocabSize = this.inverse.length
    this.byteEnc.forEach((c, b) => this.byteDec.set(c, b))
  }

  normalize(text: string): string {
    return text.normalize('NFC').replace(/\s+/g, ' ').trim().toLowerCase()
  }

  private bpe(piece: string): number[] {
    const hit = this.cache.get(piece)
    if (hit) return hit
    const chars = [...piece]
    let word = chars.map((c, i) => (i === chars.length - 1 ? c + this.suffix : c))
    for (;;) {
      let best = -1
      let bestRank = Infinity
      for (let i = 0; i < word.length - 1; i++) {
        const r = this.ranks.get(`${word[i]} ${word[i + 1]}`)
        if (r !== undefined && r < bestRank) {
          bestRank = r
          best = i
        }
      }
      if (best < 0) break
      const a = word[best]!
      const b = word[best + 1]!
      const next: string[] = []
      for (let i = 0; i < word.length; i++) {
        if (i < word.length - 1 && word[i] === a && word[i + 1] === b) {
          next.push(a + b)
          i++
        } else next.push(word[i]!)
      }
      word = next
    }
    const ids = word.map((s) => this.vocab.get(s) ?? this.eos)
    if (this.cache.size < 50_000) this.cache.set(piece, ids)
    return ids
  }

  encode(text: string): number[] {
    const ids: number[] = []
    for (const m of this.normalize(text).matchAll(SPLIT)) {
      const piece = m[0]
      if (piece === '<|startoftext|>' || piece === '<|endoftext|>') continue
      const enc = [...Buffer.from(piece, 'utf8')].map((b) => this.byteEnc[b]!).join('')
      ids.push(...this.bpe(enc))
    }
    return [this.bos, ...ids.slice(0, this.maxLength - 2), this.eos]
  }

  decode(ids: readonly number[]): string {
    const parts: string[] = []
    for (const id of ids) {
      if (id === this.eos) break
      if (id === this.bos || id === this.pad) continue
      parts.push(this.inverse[id] ?? '')
    }
    const text = parts.join('')
    const bytes = [...text.replaceAll(this.suffix, ' ')].map((c) => (c === ' ' ? 32 : (this.byteDec.get(c) ?? 63)))
    // [Note: BPE fragments] bytes that are not UTF-8 are dropped, not shown as U+FFFD
    return decodeUtf8Dropping(Uint8Array.from(bytes)).trim()
  }

  batch(texts: readonly string[]): TokenBatch {
    return padBatch(texts.map((t) => this.encode(t)), this.pad)
  }

  hasWord(word: string): boolean {
    const ids = this.encode(word)
    return ids.length === 3
  }
}
