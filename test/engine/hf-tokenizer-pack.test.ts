// The hub tokenizer's files: what is read from tokenizer_config.json, what a tampered tokenizer.json or
// config is refused with, the pack.json `tokenizer.config` field through loadPack, and the CLIP tokenizer
// builder fixture itself (layout and plain-BPE merges).
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadPack } from '../../src/main/engine/packs/pack'
import { createTokenizer } from '../../src/main/engine/text/tokenizer'
import { buildClipTokenizerJson, byteSymbols, EOT, generateCaptions, learnMerges, preTokenize, SOT, type ClipTokenizerFiles } from '../fixtures/clip-tokenizer'
import { writeFakePack } from './helpers/fake-pack'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests tamper with arbitrary JSON fields
type Json = Record<string, any>
let files: ClipTokenizerFiles
const captions = generateCaptions(2000, 5)
const make = (tj: unknown, cfg?: unknown) => createTokenizer('hf-tokenizer-json', tj, 'tokenizer.json', cfg === undefined ? undefined : { json: cfg, file: 'tokenizer_config.json' })
const tampered = (edit: (tj: Json, cfg: Json) => void) => {
  const tj = structuredClone(files.tokenizerJson) as Json
  const cfg = structuredClone(files.tokenizerConfig) as Json
  edit(tj, cfg)
  return () => make(tj, cfg)
}

beforeAll(() => {
  files = buildClipTokenizerJson(captions, { merges: 1500 })
})

describe('CLIP tokenizer builder (test fixture)', () => {
  it('lays the vocab out like CLIP: 256 byte symbols, their </w> forms, one token per merge, SOT and EOT last', () => {
    const model = files.tokenizerJson.model as { vocab: Record<string, number>; merges: string[] }
    const entries = Object.entries(model.vocab).sort((a, b) => a[1] - b[1])
    expect(entries.map((e) => e[1])).toEqual([...Array(files.vocabSize).keys()])
    const bytes = byteSymbols()
    expect(new Set(bytes).size).toBe(256)
    expect(entries.slice(0, 256).map((e) => e[0])).toEqual(bytes)
    expect(entries.slice(256, 512).map((e) => e[0])).toEqual(bytes.map((b) => b + '</w>'))
    expect(entries.slice(-2).map((e) => e[0])).toEqual([SOT, EOT])
    expect(model.merges).toHaveLength(1500)
    for (const m of model.merges) expect(Object.hasOwn(model.vocab, m.replace(' ', ''))).toBe(true)
    expect(files.tokenizerJson.added_tokens).toEqual([expect.objectContaining({ id: files.vocabSize - 2, content: SOT, special: true }), expect.objectContaining({ id: files.vocabSize - 1, content: EOT, special: true })])
  })

  it('is deterministic and learns merges by plain pair counting', () => {
    expect(JSON.stringify(buildClipTokenizerJson(captions, { merges: 1500 }))).toBe(JSON.stringify(files))
    // the first merge is the most frequent adjacent symbol pair over the corpus' pre-tokens (ties: smaller string)
    const counts = new Map<string, number>()
    for (const c of captions) {
      for (const p of preTokenize(c)) {
        const syms = [...p]
        syms[syms.length - 1] += '</w>'
        for (let i = 0; i + 1 < syms.length; i++) counts.set(`${syms[i]} ${syms[i + 1]}`, (counts.get(`${syms[i]} ${syms[i + 1]}`) ?? 0) + 1)
      }
    }
    const best = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0]
    expect(learnMerges(captions, 1)).toEqual([best.split(' ')])
    expect(learnMerges(captions.slice(0, 200), 50)).not.toEqual(learnMerges(captions.slice(200, 400), 50))
    // a corpus of one short word runs out of pairs
    expect(learnMerges(['ab ab ab'], 10)).toEqual([['a', 'b</w>']])
  })
})

describe('hf-tokenizer-json: what comes from the files', () => {
  it('takes the max length from model_max_length, 77 only when the config states none', () => {
    const f40 = buildClipTokenizerJson(captions, { merges: 300, maxLength: 40 })
    const t40 = make(f40.tokenizerJson, f40.tokenizerConfig)
    expect(t40.maxLength).toBe(40)
    const ids = t40.encode('word '.repeat(100))
    expect(ids).toHaveLength(40)
    expect([ids[0], ids[39]]).toEqual([t40.bos, t40.eos])
    const none = buildClipTokenizerJson(captions, { merges: 300, maxLength: null })
    expect(make(none.tokenizerJson, none.tokenizerConfig).maxLength).toBe(77)
    expect(make(none.tokenizerJson, { ...none.tokenizerConfig, model_max_length: 1e30 }).maxLength).toBe(77) // HF's "no limit"
    expect(make({ ...none.tokenizerJson, truncation: { max_length: 64 } }, none.tokenizerConfig).maxLength).toBe(64)
  })

  it('reads SOT/EOT from the post-processor without a config, and the pad token from the config', () => {
    const small = buildClipTokenizerJson(captions.slice(0, 100), { merges: 20 })
    const bare = make(small.tokenizerJson)
    expect([bare.bos, bare.eos, bare.pad, bare.maxLength]).toEqual([small.vocabSize - 2, small.vocabSize - 1, small.vocabSize - 1, 77])
    const bang = make(files.tokenizerJson, { ...files.tokenizerConfig, pad_token: '!' })
    expect(bang.pad).toBe(0) // "!" is the first byte symbol
    const b = bang.batch(['a', 'a red dog'])
    expect(b.ids[b.seq - 1]).toBe(0n)
    expect(make(files.tokenizerJson, { ...files.tokenizerConfig, eos_token: { __type: 'AddedToken', content: EOT } }).eos).toBe(files.vocabSize - 1)
  })
})

describe('hf-tokenizer-json: invalid or tampered files', () => {
  const refuses = (fn: () => unknown, message: RegExp) => {
    expect(fn).toThrow(message)
    try {
      fn()
    } catch (err) {
      expect(err).toMatchObject({ name: 'StudioError', code: 'model_error' })
    }
  }

  it('refuses a tokenizer.json that is not one, or not BPE', () => {
    for (const j of [null, [], 'tokenizer', 42, {}]) refuses(() => make(j), /^tokenizer\.json: not a Hugging Face tokenizer\.json/)
    refuses(tampered((tj) => (tj.model.type = 'WordPiece')), /^tokenizer\.json: model\.type "WordPiece" is not supported/)
    refuses(tampered((tj) => (tj.model.vocab.dog = 'x')), /^tokenizer\.json: not a Hugging Face tokenizer\.json \(model\.vocab\.dog: /)
    refuses(tampered((tj) => (tj.normalizer = { type: 'NoSuchNormalizer' })), /^tokenizer\.json: /)
    refuses(tampered((tj) => tj.model.merges.push('zq qz')), /^tokenizer\.json: merge 1500 \("zq qz"\) uses or makes a token that is not in the vocabulary/)
  })

  it('refuses missing or inconsistent special tokens', () => {
    // SOT still in the vocab but no longer a special added token: decode would print it
    refuses(tampered((tj) => (tj.added_tokens = tj.added_tokens.slice(1))), /^tokenizer\.json: the start token "<\|startoftext\|>" \(id \d+\) is not a special token/)
    const noSot = (tj: Json) => {
      delete tj.model.vocab[SOT]
      tj.added_tokens = tj.added_tokens.slice(1)
    }
    refuses(tampered(noSot), /^tokenizer_config\.json: bos_token "<\|startoftext\|>" is not a token of tokenizer\.json/)
    refuses(tampered((tj, cfg) => (noSot(tj), delete cfg.bos_token)), /^tokenizer\.json: the post_processor must wrap a text as \[start\] … \[end\]/)
    refuses(tampered((tj) => (tj.post_processor = null)), /^tokenizer\.json: the post_processor must wrap .* an empty text gives \[\]/)
    refuses(tampered((_, cfg) => (cfg.bos_token = EOT)), /post_processor must wrap .*\(those of tokenizer_config\.json\)/)
    refuses(tampered((_, cfg) => (cfg.pad_token = '<pad>')), /^tokenizer_config\.json: pad_token "<pad>" is not a token/)
  })

  it('refuses a config that is not one or whose max length cannot hold SOT and EOT', () => {
    refuses(tampered((_, cfg) => (cfg.model_max_length = 1)), /^tokenizer_config\.json: model_max_length 1 cannot hold/)
    refuses(tampered((_, cfg) => (cfg.model_max_length = 'long')), /^tokenizer_config\.json: not a tokenizer_config\.json \(model_max_length: /)
    refuses(() => make(files.tokenizerJson, ['x']), /^tokenizer_config\.json: not a tokenizer_config\.json/)
    refuses(() => createTokenizer('word', {}, 'tok.json', { json: {}, file: 'cfg.json' }), /^cfg\.json: tokenizer\.config is read only by tokenizer type "hf-tokenizer-json"/)
  })
})

describe('pack.json tokenizer.config through loadPack', () => {
  let dir: string
  const write = (name: string, data: string) => writeFileSync(join(dir, name), data)
  const repack = (edit: (p: Json) => void) => {
    const p = JSON.parse(readFileSync(join(dir, 'pack.json'), 'utf8')) as Json
    edit(p)
    write('pack.json', JSON.stringify(p))
  }
  const listed = (path: string) => {
    const data = readFileSync(join(dir, path))
    return { path, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') }
  }
  const install = (tokenizer: string, config: string) => {
    write('tokenizer.json', tokenizer)
    write('tokenizer_config.json', config)
    repack((p) => {
      p.tokenizer = { file: 'tokenizer.json', type: 'hf-tokenizer-json', config: 'tokenizer_config.json' }
      p.files = [...p.files.filter((f: Json) => !f.path.startsWith('tokenizer')), listed('tokenizer.json'), listed('tokenizer_config.json')]
    })
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hf-tok-pack-'))
    writeFakePack(dir)
  })

  it('loads the tokenizer with its config and verifies both files', async () => {
    install(JSON.stringify(files.tokenizerJson), JSON.stringify({ ...files.tokenizerConfig, model_max_length: 33 }))
    const pack = await loadPack(dir)
    expect(pack.tokenizer.type).toBe('hf-tokenizer-json')
    expect(pack.tokenizer.maxLength).toBe(33)
    expect(pack.tokenizer.eos).toBe(files.vocabSize - 1)
    expect(pack.verify.checked).toBe(pack.json.files.length)
  })

  it('names the file that is not JSON, or a config that pack.json does not list', async () => {
    install('{"model": ', JSON.stringify(files.tokenizerConfig))
    await expect(loadPack(dir)).rejects.toMatchObject({ code: 'model_error', message: expect.stringMatching(/^tokenizer\.json: not valid JSON/) })
    install(JSON.stringify(files.tokenizerJson), 'not json')
    await expect(loadPack(dir)).rejects.toMatchObject({ code: 'model_error', message: expect.stringMatching(/^tokenizer_config\.json: not valid JSON/) })
    repack((p) => (p.files = p.files.filter((f: Json) => f.path !== 'tokenizer_config.json')))
    await expect(loadPack(dir)).rejects.toThrow(/pack\.json: tokenizer_config\.json is used but not listed in "files"/)
  })
})
