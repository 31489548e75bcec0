// Engine worker / any Node process (pure). The tokenizer of hub packs (pack `tokenizer.type:
// "hf-tokenizer-json"`): a Hugging Face `tokenizer.json` (+ optional `tokenizer_config.json`) run by
// @huggingface/tokenizers, the library transformers.js itself uses, so ids are the hub's own.
// [Note: hf tokenizer semantics] The library runs normalizer → pre-tokenizer → model → post-processor; this
// wrapper adds what transformers.js leaves to its caller, with the Python references' behaviour:
// - bos/eos/pad are the tokenizer_config's `bos_token`/`eos_token`/`pad_token` (pad falls back to eos, as
//   transformers.js does: for CLIP the pad id is EOT's), else what the post-processor wraps an empty text
//   in. Either way the post-processor must wrap a text as exactly [bos] … [eos], and both must be special
//   added tokens, so `decode` drops them. Nothing is hard-coded (no 49406/49407).
// - maxLength is `model_max_length` (HF writes ~1e30 for "no limit": values above MAX_SANE count as none),
//   else the file's `truncation.max_length`, else 77 (CLIP's context).
// - Truncation keeps bos first and eos last: [bos, first maxLength-2 content ids, eos], which is what HF's
//   Rust tokenizers (truncate to max_length minus the post-processor's added tokens, then post-process)
//   and openai/CLIP's `tokenize(truncate=True)` (`tokens[:77]; tokens[-1] = eot`) both produce. The CLIP
//   text encoder pools at the EOT position, so a plain cut (what transformers.js 4.3.1's `truncation: true`
//   does, dropping EOT) would pool at a content token.
// - `decode` is the library's decode with special tokens skipped (byte-level decoding, `</w>` → space,
//   and the config's clean_up_tokenization_spaces, default true, as in transformers.js), except that the
//   U+FFFD it writes for bytes that are not UTF-8 is dropped ([Note: BPE fragments], utf8.ts).
import { Tokenizer as HfLibTokenizer } from '@huggingface/tokenizers'
import * as v from 'valibot'
import { StudioError } from '@shared/errors'
import { padBatch } from './token-batch'
import type { TokenBatch, Tokenizer } from './tokenizer'
import { dropReplacementChars } from './utf8'

export const HF_TOKENIZER_TYPE = 'hf-tokenizer-json'
/** CLIP's context length, used only when neither file states one. */
export const DEFAULT_MAX_LENGTH = 77
const MAX_SANE = 1_000_000

const Id = v.pipe(v.number(), v.integer(), v.minValue(0))
const Component = v.optional(v.nullable(v.looseObject({ type: v.string() })), null)
const HfTokenizerJson = v.looseObject({
  model: v.looseObject({
    type: v.string(),
    vocab: v.record(v.string(), Id),
    merges: v.array(v.union([v.string(), v.tuple([v.string(), v.string()])])),
    end_of_word_suffix: v.optional(v.nullable(v.string()))
  }),
  added_tokens: v.optional(v.array(v.looseObject({ id: Id, content: v.pipe(v.string(), v.minLength(1)), special: v.optional(v.boolean(), false) })), []),
  normalizer: Component,
  pre_tokenizer: Component,
  post_processor: Component,
  decoder: Component,
  truncation: v.optional(v.nullable(v.looseObject({ max_length: v.optional(v.number()) })))
})

const TokenRef = v.optional(v.nullable(v.union([v.string(), v.looseObject({ content: v.string() })])))
const HfTokenizerConfig = v.looseObject({
  model_max_length: v.optional(v.nullable(v.number())),
  bos_token: TokenRef,
  eos_token: TokenRef,
  pad_token: TokenRef,
  clean_up_tokenization_spaces: v.optional(v.boolean())
})

/** A parsed JSON side file and its path inside the pack (for error messages). */
export interface TokenizerConfigFile {
  json: unknown
  file: string
}

function issueText(issues: readonly v.BaseIssue<unknown>[]): string {
  const issue = issues[0]
  const where = issue?.path?.map((p) => String(p.key)).join('.') ?? ''
  return `${where ? where + ': ' : ''}${issue?.message ?? 'invalid'}`
}

function tokenName(ref: v.InferOutput<typeof TokenRef>): string | undefined {
  if (ref === null || ref === undefined) return undefined
  return typeof ref === 'string' ? ref : ref.content
}

export class HfTokenizer implements Tokenizer {
  readonly type = HF_TOKENIZER_TYPE
  readonly vocabSize: number
  readonly bos: number
  readonly eos: number
  readonly pad: number
  readonly maxLength: number
  private readonly lib: HfLibTokenizer
  private readonly special = new Set<number>()

  constructor(json: unknown, fileName: string, config?: TokenizerConfigFile) {
    const parsed = v.safeParse(HfTokenizerJson, json)
    if (!parsed.success) throw new StudioError('model_error', `${fileName}: not a Hugging Face tokenizer.json (${issueText(parsed.issues)})`)
    const tj = parsed.output
    if (tj.model.type !== 'BPE') throw new StudioError('model_error', `${fileName}: model.type "${tj.model.type}" is not supported (hf-tokenizer-json reads BPE tokenizers)`)
    const cfgFile = config?.file ?? 'tokenizer_config.json'
    const cfgJson = config?.json ?? {}
    const cfgParsed = v.safeParse(HfTokenizerConfig, cfgJson)
    if (!cfgParsed.success || Array.isArray(cfgJson)) {
      throw new StudioError('model_error', `${cfgFile}: not a tokenizer_config.json (${cfgParsed.success ? 'a JSON array' : issueText(cfgParsed.issues)})`)
    }
    const cfg = cfgParsed.output

    try {
      this.lib = new HfLibTokenizer({ ...(json as object), added_tokens: tj.added_tokens }, cfg)
    } catch (err) {
      throw new StudioError('model_error', `${fileName}: ${(err as Error).message}`)
    }
    const vocab = tj.model.vocab
    tj.model.merges.forEach((m, i) => {
      const [a, b] = typeof m === 'string' ? m.split(' ') : m
      if (a === undefined || b === undefined || !Object.hasOwn(vocab, a) || !Object.hasOwn(vocab, b) || !Object.hasOwn(vocab, a + b)) {
        throw new StudioError('model_error', `${fileName}: merge ${i} ("${typeof m === 'string' ? m : m.join(' ')}") uses or makes a token that is not in the vocabulary`)
      }
    })
    let size = 0
    for (const id of Object.values(vocab)) size = Math.max(size, id + 1)
    for (const t of tj.added_tokens) {
      size = Math.max(size, t.id + 1)
      if (t.special) this.special.add(t.id)
    }
    this.vocabSize = size

    const probe = this.libEncode('', true, fileName)
    const named = (role: string, ref: v.InferOutput<typeof TokenRef>): number | undefined => {
      const name = tokenName(ref)
      if (name === undefined) return undefined
      const id = this.lib.token_to_id(name)
      if (id === undefined) throw new StudioError('model_error', `${cfgFile}: ${role} "${name}" is not a token of ${fileName}`)
      return id
    }
    const bos = named('bos_token', cfg.bos_token) ?? probe[0]
    const eos = named('eos_token', cfg.eos_token) ?? probe[probe.length - 1]
    if (probe.length !== 2 || bos === undefined || eos === undefined || bos === eos || probe[0] !== bos || probe[1] !== eos) {
      const shown = probe.map((id) => this.lib.id_to_token(id) ?? String(id)).join(' ')
      throw new StudioError('model_error', `${fileName}: the post_processor must wrap a text as [start] … [end] with two different start/end tokens${config ? ` (those of ${cfgFile})` : ''}; an empty text gives [${shown}]`)
    }
    for (const [role, id] of [['start', bos], ['end', eos]] as const) {
      if (!this.special.has(id)) throw new StudioError('model_error', `${fileName}: the ${role} token "${this.lib.id_to_token(id)}" (id ${id}) is not a special token in added_tokens`)
    }
    this.bos = bos
    this.eos = eos
    this.pad = named('pad_token', cfg.pad_token) ?? eos

    const stated = [cfg.model_max_length, tj.truncation?.max_length].find((n) => typeof n === 'number' && n <= MAX_SANE)
    if (stated !== undefined && stated !== null && (!Number.isInteger(stated) || stated < 2)) {
      throw new StudioError('model_error', `${cfgFile}: model_max_length ${stated} cannot hold a start and an end token`)
    }
    this.maxLength = stated ?? DEFAULT_MAX_LENGTH
  }

  private libEncode(text: string, specials: boolean, fileName = 'tokenizer.json'): number[] {
    const enc = this.lib.encode(text, { add_special_tokens: specials })
    const missing = enc.ids.findIndex((id) => typeof id !== 'number')
    if (missing >= 0) throw new StudioError('model_error', `${fileName}: token "${enc.tokens[missing]}" is not in the vocabulary and the model has no unk_token`)
    return enc.ids
  }

  normalize(text: string): string {
    const n = this.lib.normalizer
    return (n ? n(text) : text).trim()
  }

  encode(text: string): number[] {
    const ids = this.libEncode(text, true)
    if (ids.length <= this.maxLength) return ids
    return [...ids.slice(0, this.maxLength - 1), this.eos]
  }

  decode(ids: readonly number[]): string {
    const kept = ids.filter((id) => Number.isInteger(id) && id >= 0 && id < this.vocabSize && !this.special.has(id))
    if (kept.length === 0) return ''
    // [Note: BPE fragments] bytes that are not UTF-8 come back as U+FFFD from the library: dropped
    return dropReplacementChars(this.lib.decode(kept, { skip_special_tokens: true }))
  }

  batch(texts: readonly string[]): TokenBatch {
    return padBatch(texts.map((t) => this.encode(t)), this.pad)
  }

  /** True when the word is one token of the vocabulary (`word</w>` for CLIP). */
  hasWord(word: string): boolean {
    const ids = this.libEncode(word, false)
    return ids.length === 1 && !this.special.has(ids[0]!)
  }

  /** The token strings of a text (no special tokens), for diagnostics and tests. */
  tokens(text: string): string[] {
    return this.lib.encode(text, { add_special_tokens: false }).tokens
  }
}
