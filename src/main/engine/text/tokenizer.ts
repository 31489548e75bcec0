// Engine worker / any Node process (pure). Tokenizers behind one interface.
// [Note: tokenizer seam] The engine only needs `encode` (text → ids with special tokens), `decode`
// (ids → text, special tokens dropped) and `batch` (padded int64 ids + mask for the text encoder). The
// word-level tokenizer of `caption-studio-pack/1` is implemented here; the CLIP BPE tokenizer (pack
// `tokenizer.type: "clip-bpe"`, tokenizer-bpe.ts) and the hub tokenizer (`"hf-tokenizer-json"`, a Hugging Face
// tokenizer.json + tokenizer_config.json run by @huggingface/tokenizers, hf-tokenizer.ts) implement the same
// interface.
import * as v from 'valibot'
import { StudioError } from '@shared/errors'
import { ClipBpeTokenizer } from './tokenizer-bpe'
import { padBatch } from './token-batch'
import { HF_TOKENIZER_TYPE, HfTokenizer, type TokenizerConfigFile } from './hf-tokenizer'

export interface TokenBatch {
  ids: BigInt64Array
  mask: BigInt64Array
  batch: number
  seq: number
}

export interface Tokenizer {
  readonly type: string
  readonly vocabSize: number
  readonly bos: number
  readonly eos: number
  readonly pad: number
  readonly maxLength: number
  /** Normalised words/pieces of a text, before ids. */
  normalize(text: string): string
  encode(text: string): number[]
  decode(ids: readonly number[]): string
  /** Encode texts and pad to the longest sequence, attention mask 1 on real tokens. */
  batch(texts: readonly string[]): TokenBatch
  hasWord(word: string): boolean
}

export const WordTokenizerJson = v.object({
  type: v.literal('word'),
  vocab: v.pipe(v.array(v.string()), v.minLength(4)),
  pad: v.pipe(v.number(), v.integer(), v.minValue(0)),
  bos: v.pipe(v.number(), v.integer(), v.minValue(0)),
  eos: v.pipe(v.number(), v.integer(), v.minValue(0)),
  unk: v.pipe(v.number(), v.integer(), v.minValue(0)),
  maxLength: v.pipe(v.number(), v.integer(), v.minValue(3)),
  lowercase: v.optional(v.boolean(), true)
})
export type WordTokenizerJson = v.InferOutput<typeof WordTokenizerJson>

export class WordTokenizer implements Tokenizer {
  readonly type = 'word'
  readonly vocabSize: number
  readonly bos: number
  readonly eos: number
  readonly pad: number
  readonly unk: number
  readonly maxLength: number
  private readonly lowercase: boolean
  private readonly vocab: readonly string[]
  private readonly index = new Map<string, number>()

  constructor(spec: WordTokenizerJson) {
    this.vocab = spec.vocab
    this.vocabSize = spec.vocab.length
    for (const [name, id] of [['pad', spec.pad], ['bos', spec.bos], ['eos', spec.eos], ['unk', spec.unk]] as const) {
      if (id >= spec.vocab.length) throw new StudioError('model_error', `tokenizer: ${name} id ${id} is outside the vocabulary (${spec.vocab.length})`)
    }
    this.pad = spec.pad
    this.bos = spec.bos
    this.eos = spec.eos
    this.unk = spec.unk
    this.maxLength = spec.maxLength
    this.lowercase = spec.lowercase
    spec.vocab.forEach((w, i) => {
      if (!this.index.has(w)) this.index.set(w, i)
    })
  }

  normalize(text: string): string {
    const t = this.lowercase ? text.toLowerCase() : text
    return t
      .replace(/[^\p{L}\p{N}\s]+/gu, '')
      .split(/\s+/)
      .filter(Boolean)
      .join(' ')
  }

  encode(text: string): number[] {
    const words = this.normalize(text).split(' ').filter(Boolean)
    // bos + words + eos must fit in maxLength: long texts are truncated, eos is always kept.
    const kept = words.slice(0, this.maxLength - 2)
    return [this.bos, ...kept.map((w) => this.index.get(w) ?? this.unk), this.eos]
  }

  decode(ids: readonly number[]): string {
    const out: string[] = []
    for (const id of ids) {
      if (id === this.eos) break
      if (id === this.bos || id === this.pad) continue
      out.push(this.vocab[id] ?? this.vocab[this.unk] ?? '<unk>')
    }
    return out.join(' ')
  }

  batch(texts: readonly string[]): TokenBatch {
    return padBatch(texts.map((t) => this.encode(t)), this.pad)
  }

  hasWord(word: string): boolean {
    return this.index.has(this.lowercase ? word.toLowerCase() : word)
  }
}

/** Build the tokenizer a pack declares from its parsed tokenizer file and, for `hf-tokenizer-json`, its
 *  optional parsed tokenizer_config.json (`pack.json` `tokenizer.config`). */
export function createTokenizer(type: string, json: unknown, fileName: string, config?: TokenizerConfigFile): Tokenizer {
  if (type === HF_TOKENIZER_TYPE) return new HfTokenizer(json, fileName, config)
  if (config) throw new StudioError('model_error', `${config.file}: tokenizer.config is read only by tokenizer type "${HF_TOKENIZER_TYPE}", not "${type}"`)
  if (type === 'word') {
    const parsed = v.safeParse(WordTokenizerJson, json)
    if (!parsed.success) {
      const issue = parsed.issues[0]
      const where = issue?.path?.map((p) => String(p.key)).join('.') ?? ''
      throw new StudioError('model_error', `${fileName}: not a word tokenizer (${where ? where + ': ' : ''}${issue?.message ?? 'invalid'})`)
    }
    return new WordTokenizer(parsed.output)
  }
  if (type === 'clip-bpe') return new ClipBpeTokenizer(json, fileName)
  throw new StudioError('unsupported', `${fileName}: unknown tokenizer type "${type}"`)
}
