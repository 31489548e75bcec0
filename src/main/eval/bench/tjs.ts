// Any Node process. transformers.js (@huggingface/transformers) on the SAME ONNX files as a pack, local
// files only: `env.allowRemoteModels = false`, models laid out in a cache folder (never committed).
// [Note: model folder] transformers.js expects the Hugging Face layout: <root>/<id>/config.json,
// preprocessor_config.json, tokenizer.json, tokenizer_config.json and onnx/{vision_model,text_model}.onnx.
// The ONNX files are symlinks to the pack's files (no copies of weights). The pack's preprocessing becomes a
// CLIPImageProcessor config (shortest-edge resize, bicubic, centre crop, rescale 1/255, mean/std). The pack's
// word tokenizer becomes a tokenizer.json whose model is WordPiece over whole words (the JS tokenizers library
// has no WordLevel model; with no "##" pieces in the vocabulary, WordPiece maps every word to itself or to
// <unk>, i.e. it IS word-level), with the engine's normalisation (lower-case, drop characters other than
// letters, digits and spaces), whitespace splitting and <bos> … <eos> around every text.
// The package is loaded at run time from node_modules (a devDependency used only by `bench`), so it is never
// bundled into the app.
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { PackJson as PackJsonType } from '../../engine/packs/pack-schema'

/* Minimal shapes of the transformers.js API used here. */
export interface TjsTensor {
  dims: number[]
  data: Float32Array | BigInt64Array
}
type Call<I, O> = (input: I, opts?: Record<string, unknown>) => Promise<O>
export interface TjsModule {
  env: { allowRemoteModels: boolean; allowLocalModels: boolean; localModelPath: string; version?: string }
  AutoProcessor: { from_pretrained(id: string): Promise<Call<unknown[], { pixel_values: TjsTensor }>> }
  AutoTokenizer: { from_pretrained(id: string): Promise<(texts: string[], opts: Record<string, unknown>) => Record<string, TjsTensor>> }
  CLIPVisionModelWithProjection: { from_pretrained(id: string, o: Record<string, unknown>): Promise<Call<Record<string, TjsTensor>, Record<string, TjsTensor>> & { dispose(): Promise<void> }> }
  CLIPTextModelWithProjection: { from_pretrained(id: string, o: Record<string, unknown>): Promise<Call<Record<string, TjsTensor>, Record<string, TjsTensor>> & { dispose(): Promise<void> }> }
  RawImage: { read(path: string): Promise<unknown> }
}

export async function loadTransformers(): Promise<{ mod: TjsModule; version: string } | { error: string }> {
  const name = '@huggingface/transformers'
  try {
    const mod = (await import(/* @vite-ignore */ name)) as TjsModule
    mod.env.allowRemoteModels = false
    mod.env.allowLocalModels = true
    let version = mod.env.version ?? '?'
    try {
      version = (JSON.parse(readFileSync(join(process.cwd(), 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
    } catch {
      /* keep env.version */
    }
    return { mod, version }
  } catch (err) {
    return { error: `${name} is not installed (${(err as Error).message.split('\n')[0]}); run npm install` }
  }
}

interface WordTokenizerFile {
  vocab: string[]
  pad: number
  bos: number
  eos: number
  unk: number
  maxLength: number
}

/** Write the Hugging Face folder for a pack; returns the model id under `root`. */
export function layoutForTransformers(packDir: string, pack: PackJsonType, root: string): string {
  const id = `${pack.id}-${pack.version}`.replace(/[^a-z0-9._-]/gi, '_')
  const dir = join(root, id)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(join(dir, 'onnx'), { recursive: true })
  symlinkSync(join(packDir, pack.models.image.file), join(dir, 'onnx', 'vision_model.onnx'))
  symlinkSync(join(packDir, pack.models.text.file), join(dir, 'onnx', 'text_model.onnx'))
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'clip', projection_dim: pack.embedDim, text_config: {}, vision_config: {} }))
  const p = pack.preprocess
  const resample = { nearest: 0, lanczos3: 1, lanczos2: 1, linear: 2, cubic: 3, mitchell: 3 }[p.kernel]
  writeFileSync(
    join(dir, 'preprocessor_config.json'),
    JSON.stringify({
      image_processor_type: 'CLIPImageProcessor',
      do_resize: true,
      size: { shortest_edge: p.size },
      resample,
      do_center_crop: true,
      crop_size: { height: p.size, width: p.size },
      do_rescale: true,
      rescale_factor: 1 / 255,
      do_normalize: true,
      image_mean: p.mean,
      image_std: p.std,
      do_convert_rgb: true
    })
  )
  if (pack.tokenizer.type !== 'word') throw new Error(`tokenizer type ${pack.tokenizer.type}: only word tokenizers are laid out for transformers.js here`)
  const tok = JSON.parse(readFileSync(join(packDir, pack.tokenizer.file), 'utf8')) as WordTokenizerFile
  const V = tok.vocab
  const special = [tok.pad, tok.bos, tok.eos, tok.unk]
  writeFileSync(
    join(dir, 'tokenizer.json'),
    JSON.stringify({
      version: '1.0',
      truncation: { direction: 'Right', max_length: tok.maxLength, strategy: 'LongestFirst', stride: 0 },
      padding: null,
      added_tokens: special.map((i) => ({ id: i, content: V[i], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
      normalizer: { type: 'Sequence', normalizers: [{ type: 'Lowercase' }, { type: 'Replace', pattern: { Regex: '[^\\p{L}\\p{N}\\s]+' }, content: '' }] },
      pre_tokenizer: { type: 'WhitespaceSplit' },
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: V[tok.bos], type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: V[tok.eos], type_id: 0 } }],
        pair: [{ Sequence: { id: 'A', type_id: 0 } }],
        special_tokens: Object.fromEntries([tok.bos, tok.eos].map((i) => [V[i], { id: V[i], ids: [i], tokens: [V[i]] }]))
      },
      decoder: null,
      model: { type: 'WordPiece', vocab: Object.fromEntries(V.map((w, i) => [w, i])), unk_token: V[tok.unk], continuing_subword_prefix: '##', max_input_chars_per_word: 100 }
    })
  )
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({ tokenizer_class: 'PreTrainedTokenizer', pad_token: V[tok.pad], unk_token: V[tok.unk], bos_token: V[tok.bos], eos_token: V[tok.eos], model_max_length: tok.maxLength })
  )
  return id
}

export interface TjsClip {
  version: string
  embedImages(files: readonly string[]): Promise<TjsTensor>
  preprocess(files: readonly string[]): Promise<TjsTensor>
  encodePixels(pixels: TjsTensor): Promise<TjsTensor>
  embedTexts(texts: readonly string[]): Promise<TjsTensor>
  dispose(): Promise<void>
}

export async function openTransformersClip(mod: TjsModule, version: string, root: string, id: string, threads: number, pack: PackJsonType): Promise<TjsClip> {
  mod.env.localModelPath = root
  const opts = { dtype: 'fp32', device: 'cpu', session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 } }
  const processor = await mod.AutoProcessor.from_pretrained(id)
  const tokenizer = await mod.AutoTokenizer.from_pretrained(id)
  const vision = await mod.CLIPVisionModelWithProjection.from_pretrained(id, opts)
  const text = await mod.CLIPTextModelWithProjection.from_pretrained(id, opts)
  const imageOut = pack.models.image.roles.embeds
  const textOut = pack.models.text.roles.embeds
  const pick = (o: Record<string, TjsTensor>, name: string) => {
    const t = o[name]
    if (!t) throw new Error(`transformers.js: no ${name} output`)
    return t
  }
  const preprocess = async (files: readonly string[]) => {
    const images = await Promise.all(files.map((f) => mod.RawImage.read(f)))
    return (await processor(images)).pixel_values
  }
  const encodePixels = async (pixels: TjsTensor) => pick(await vision({ pixel_values: pixels }), imageOut)
  return {
    version,
    preprocess,
    encodePixels,
    embedImages: async (files) => encodePixels(await preprocess(files)),
    embedTexts: async (texts) => pick(await text(tokenizer([...texts], { padding: true, truncation: true })), textOut),
    dispose: async () => {
      await vision.dispose()
      await text.dispose()
    }
  }
}
