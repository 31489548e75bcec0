// CLI eval tools and tests (Node). A CLIP-format Hugging Face tokenizer.json + tokenizer_config.json learned from a
// corpus, shaped like the hub's CLIP files (openai/clip-vit-base-patch32, as transformers' CLIPConverter
// writes them): normalizer NFC → `\s+`→" " → lowercase; pre-tokenizer CLIP's split regex (matches kept)
// then ByteLevel; BPE with end_of_word_suffix "</w>", unk "<|endoftext|>"; vocab = the 256 byte symbols in
// GPT-2's bytes_to_unicode order, their "</w>" forms, one token per merge, then <|startoftext|> and
// <|endoftext|> as the last two ids (also in added_tokens, special); RobertaProcessing wraps SOT … EOT;
// ByteLevel decoder. Merges are plain BPE counting (most frequent adjacent pair over word counts, ties
// broken by the smaller "a b" string), so the output is a pure function of (corpus, merges).
// Written from the format's documentation for the tests and the bench; no hub data is copied.
import { bytesToUnicode } from '../engine/text/tokenizer-bpe'

export const SOT = '<|startoftext|>'
export const EOT = '<|endoftext|>'
export const SUFFIX = '</w>'
export const CLIP_SPLIT = "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+"

export interface ClipTokenizerFiles {
  tokenizerJson: Record<string, unknown>
  tokenizerConfig: Record<string, unknown>
  vocabSize: number
}

/** The 256 byte symbols in bytes_to_unicode's order: printable Latin-1 first, then the remapped bytes. */
export function byteSymbols(): string[] {
  const table = bytesToUnicode()
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)
  const order = [...Array(256).keys()].filter(printable).concat([...Array(256).keys()].filter((b) => !printable(b)))
  return order.map((b) => table[b]!)
}

const BYTE_TABLE = bytesToUnicode()
const SPLIT_RE = new RegExp(CLIP_SPLIT, 'gu')

/** What the tokenizer does before BPE: normalise, split, byte-encode (one string per pre-token). */
export function preTokenize(text: string): string[] {
  const norm = text.normalize('NFC').replace(/\s+/gu, ' ').toLowerCase()
  return (norm.match(SPLIT_RE) ?? []).map((p) => [...Buffer.from(p, 'utf8')].map((b) => BYTE_TABLE[b]!).join(''))
}

interface Word {
  syms: string[]
  count: number
}

/** Max-heap of (count, pair) with lazy deletion: stale entries are skipped when popped. */
class PairHeap {
  private readonly a: Array<[number, string]> = []
  private better(x: [number, string], y: [number, string]): boolean {
    return x[0] > y[0] || (x[0] === y[0] && x[1] < y[1])
  }
  push(e: [number, string]): void {
    const a = this.a
    a.push(e)
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1
      if (!this.better(a[i]!, a[p]!)) break
      ;[a[i], a[p]] = [a[p]!, a[i]!]
      i = p
    }
  }
  pop(): [number, string] | undefined {
    const a = this.a
    const top = a[0]
    const last = a.pop()
    if (a.length > 0 && last) {
      a[0] = last
      for (let i = 0; ; ) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < a.length && this.better(a[l]!, a[m]!)) m = l
        if (r < a.length && this.better(a[r]!, a[m]!)) m = r
        if (m === i) break
        ;[a[i], a[m]] = [a[m]!, a[i]!]
        i = m
      }
    }
    return top
  }
}

/** Learn up to `merges` BPE merges from the corpus (fewer when every word is already one symbol). */
export function learnMerges(corpus: readonly string[], merges: number): string[][] {
  const counts = new Map<string, number>()
  for (const line of corpus) for (const p of preTokenize(line)) counts.set(p, (counts.get(p) ?? 0) + 1)
  const words: Word[] = [...counts].map(([w, count]) => {
    const syms = [...w]
    syms[syms.length - 1] += SUFFIX
    return { syms, count }
  })
  const pairCount = new Map<string, number>()
  const where = new Map<string, Set<number>>()
  const heap = new PairHeap()
  const add = (wi: number, sign: 1 | -1, touched: Set<string>) => {
    const w = words[wi]!
    for (let i = 0; i + 1 < w.syms.length; i++) {
      const key = `${w.syms[i]} ${w.syms[i + 1]}`
      pairCount.set(key, (pairCount.get(key) ?? 0) + sign * w.count)
      if (sign > 0) {
        let s = where.get(key)
        if (!s) where.set(key, (s = new Set()))
        s.add(wi)
      }
      touched.add(key)
    }
  }
  const touched = new Set<string>()
  words.forEach((_, wi) => add(wi, 1, touched))
  for (const k of touched) heap.push([pairCount.get(k)!, k])

  const out: string[][] = []
  while (out.length < merges) {
    const top = heap.pop()
    if (!top) break
    const [c, key] = top
    if (pairCount.get(key) !== c || c <= 0) continue
    const [a, b] = key.split(' ') as [string, string]
    out.push([a, b])
    const changed = new Set<string>()
    for (const wi of [...where.get(key)!].sort((x, y) => x - y)) {
      const w = words[wi]!
      add(wi, -1, changed)
      const next: string[] = []
      for (let i = 0; i < w.syms.length; i++) {
        if (i + 1 < w.syms.length && w.syms[i] === a && w.syms[i + 1] === b) {
          next.push(a + b)
          i++
        } else next.push(w.syms[i]!)
      }
      w.syms = next
      add(wi, 1, changed)
    }
    where.delete(key)
    pairCount.delete(key)
    for (const k of changed) {
      const n = pairCount.get(k)
      if (n !== undefined && n > 0) heap.push([n, k])
    }
  }
  return out
}

export interface BuildOptions {
  merges: number
  /** tokenizer_config.json `model_max_length` (77 like the hub's; `null` leaves it out). */
  maxLength?: number | null
}

export function buildClipTokenizerJson(corpus: readonly string[], opts: BuildOptions): ClipTokenizerFiles {
  const merges = learnMerges(corpus, opts.merges)
  const vocab: Record<string, number> = {}
  let next = 0
  const put = (t: string) => {
    if (!Object.hasOwn(vocab, t)) vocab[t] = next++
  }
  const bytes = byteSymbols()
  bytes.forEach(put)
  bytes.forEach((s) => put(s + SUFFIX))
  for (const [a, b] of merges) put(a! + b!)
  put(SOT)
  put(EOT)
  const sot = vocab[SOT]!
  const eot = vocab[EOT]!
  const added = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true })
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [added(sot, SOT), added(eot, EOT)],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }] },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: CLIP_SPLIT }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }
      ]
    },
    post_processor: { type: 'RobertaProcessing', sep: [EOT, eot], cls: [SOT, sot], trim_offsets: false, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: EOT,
      continuing_subword_prefix: '',
      end_of_word_suffix: SUFFIX,
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: merges.map(([a, b]) => `${a} ${b}`)
    }
  }
  const decoderEntry = (content: string) => ({ content, lstrip: false, normalized: true, rstrip: false, single_word: false, special: true })
  const maxLength = opts.maxLength === undefined ? 77 : opts.maxLength
  const tokenizerConfig: Record<string, unknown> = {
    add_prefix_space: false,
    added_tokens_decoder: { [sot]: decoderEntry(SOT), [eot]: decoderEntry(EOT) },
    bos_token: SOT,
    clean_up_tokenization_spaces: true,
    do_lower_case: true,
    eos_token: EOT,
    errors: 'replace',
    ...(maxLength === null ? {} : { model_max_length: maxLength }),
    pad_token: EOT,
    tokenizer_class: 'CLIPTokenizer',
    unk_token: EOT
  }
  return { tokenizerJson, tokenizerConfig, vocabSize: next }
}

const ADJ = ['red', 'small', 'large', 'old', 'young', 'happy', 'wooden', 'white', 'black', 'striped', 'shiny', 'wet', 'busy', 'quiet', 'green', 'brown', 'tiny', 'crowded', 'empty', 'colorful']
const NOUN = ['dog', 'cat', 'man', 'woman', 'child', 'bicycle', 'car', 'train', 'horse', 'bird', 'table', 'kitchen', 'street', 'beach', 'pizza', 'umbrella', 'giraffe', 'skateboard', 'boat', 'clock', 'elephant', 'sandwich', 'laptop', 'bench']
const VERB = ['sitting', 'standing', 'running', 'riding', 'eating', 'holding', 'looking', 'walking', 'lying', 'playing', 'parked', 'flying']
const PREP = ['on', 'in', 'next to', 'near', 'under', 'behind', 'with', 'across']
const EXTRA = ['', '', '', ' at night', ' in the rain', ' on a sunny day', ", it's cute", ' (2 of them)', ' near 3 trees', '.']
const SYL = ['ka', 'lo', 'mi', 'ne', 'ru', 'ta', 'vo', 'shi', 'ar', 'en', 'ul', 'bra', 'gor', 'fen', 'dii', 'qua', 'zel', 'pho', 'wyn', 'ix', 'to', 'sa', 'ber', 'mont', 'ville', 'dor', 'ki', 'yu', 'han', 'ost']

/** Deterministic COCO-like captions (mulberry32 stream), e.g. "A small dog sitting on the red table in
 *  Ruvoka."; place names made of syllables give the corpus enough distinct words for thousands of merges. */
export function generateCaptions(n: number, seed = 1): string[] {
  let s = seed >>> 0
  const rnd = () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = Math.imul(s ^ (s >>> 15), s | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!
  const name = () => {
    const w = Array.from({ length: 2 + Math.floor(rnd() * 3) }, () => pick(SYL)).join('')
    return w[0]!.toUpperCase() + w.slice(1)
  }
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    const noun = pick(NOUN) + (rnd() < 0.3 ? 's' : '')
    const subject = `${pick(['A', 'a', 'The', 'Two', 'An old'])} ${pick(ADJ)} ${noun}`
    const place = rnd() < 0.8 ? ` ${pick(['in', 'at', 'near'])} ${name()}${rnd() < 0.5 ? ` by ${name()}` : ''}` : ''
    out.push(`${subject} ${pick(VERB)} ${pick(PREP)} the ${pick(ADJ)} ${pick(NOUN)}${place}${pick(EXTRA)}`)
  }
  return out
}
