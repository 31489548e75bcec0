// Main process / serve / CLI (plain Node, pure apart from reading two small JSON files). Turns a CLIP folder
// in the transformers.js hub layout into the models/tokenizer/preprocessing part of a
// `caption-studio-pack/1` pack.json.
// [Note: hub assembly] Nothing about the export is assumed: preprocessing comes from
// preprocessor_config.json, the tokenizer from tokenizer.json + tokenizer_config.json (type
// `hf-tokenizer-json`), and the input/output names, element types and shapes from the ONNX sessions
// themselves (the worker's inspectModels). Roles are matched by the names the hub exports use and, failing
// that, by shape; anything that does not fit (another exporter's int32 ids, an unsupported resize) is a
// clear error naming the file rather than a pack that runs but embeds wrongly. The engine L2-normalises
// every embedding (encoders.ts), which the transformers.js exports do not do themselves.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as v from 'valibot'
import { describeIssues } from '@shared/contract/define'
import { StudioError } from '@shared/errors'
import type { CatalogEntry } from '../engine/packs/catalog-schema'
import type { ModelIo, TensorIo } from '../engine/client'

const Preprocessor = v.object({
  crop_size: v.optional(v.union([v.number(), v.object({ height: v.number(), width: v.number() })])),
  size: v.optional(v.union([v.number(), v.object({ shortest_edge: v.optional(v.number()), height: v.optional(v.number()), width: v.optional(v.number()) })])),
  resample: v.optional(v.number(), 3),
  image_mean: v.tuple([v.number(), v.number(), v.number()]),
  image_std: v.tuple([v.pipe(v.number(), v.gtValue(0)), v.pipe(v.number(), v.gtValue(0)), v.pipe(v.number(), v.gtValue(0))]),
  do_center_crop: v.optional(v.boolean(), true),
  do_rescale: v.optional(v.boolean(), true),
  rescale_factor: v.optional(v.number(), 1 / 255),
  do_normalize: v.optional(v.boolean(), true)
})

// PIL resampling filters (the codes in preprocessor_config.json) → sharp kernels.
const KERNELS: Record<number, 'nearest' | 'lanczos3' | 'linear' | 'cubic'> = { 0: 'nearest', 1: 'lanczos3', 2: 'linear', 3: 'cubic' }

export type PreprocessSpec = { size: number; resize: 'shortest-edge'; kernel: 'nearest' | 'lanczos3' | 'linear' | 'cubic'; mean: [number, number, number]; std: [number, number, number] }

export function preprocessFrom(json: unknown, label: string): PreprocessSpec {
  const p = v.safeParse(Preprocessor, json)
  if (!p.success) throw new StudioError('model_error', `${label}: not a CLIP preprocessor config (${describeIssues(p.issues)})`)
  const c = p.output
  const crop = typeof c.crop_size === 'number' ? c.crop_size : c.crop_size ? Math.min(c.crop_size.height, c.crop_size.width) : undefined
  const short = typeof c.size === 'number' ? c.size : (c.size?.shortest_edge ?? undefined)
  const size = crop ?? short
  if (!size || (crop !== undefined && short !== undefined && crop !== short) || !c.do_center_crop) {
    throw new StudioError('unsupported', `${label}: the studio resizes the shortest edge to the crop size and centre-crops; this config asks for shortest edge ${short ?? '?'} and crop ${crop ?? 'none'}`)
  }
  if (!c.do_rescale || Math.abs(c.rescale_factor - 1 / 255) > 1e-9 || !c.do_normalize) throw new StudioError('unsupported', `${label}: only rescale 1/255 followed by mean/std normalisation is supported`)
  const kernel = KERNELS[c.resample]
  if (!kernel) throw new StudioError('unsupported', `${label}: resample filter ${c.resample} is not supported`)
  return { size, resize: 'shortest-edge', kernel, mean: c.image_mean, std: c.image_std }
}

const spec = (t: TensorIo, dtype: 'float32' | 'int64') => ({ name: t.name, shape: t.shape, dtype })

function pick(list: TensorIo[], preferred: string, ok: (t: TensorIo) => boolean): TensorIo | undefined {
  return list.find((t) => t.name === preferred && ok(t)) ?? (list.filter(ok).length === 1 ? list.find(ok) : undefined)
}

export interface PatchOutputs {
  outputs: { tokens: string; attention: string }
  patchGrid: [number, number]
}

export function imageModelFrom(io: ModelIo, file: string, patch?: PatchOutputs) {
  const pixels = pick(io.inputs, 'pixel_values', (t) => t.type === 'float32' && t.shape.length === 4)
  if (!pixels || io.inputs.length !== 1) throw new StudioError('model_error', `${file}: expected one float32 [batch, 3, H, W] input (got ${io.inputs.map((t) => `${t.name}:${t.type}[${t.shape.join(',')}]`).join(', ')})`)
  const embeds = pick(io.outputs, 'image_embeds', (t) => t.type === 'float32' && t.shape.length === 2 && typeof t.shape[1] === 'number')
  if (!embeds) throw new StudioError('model_error', `${file}: no float32 [batch, D] image embedding output (outputs: ${io.outputs.map((t) => t.name).join(', ')})`)
  const dim = embeds.shape[1] as number
  if (!patch) return { dim, model: { file, roles: { pixels: pixels.name, embeds: embeds.name }, inputs: [spec(pixels, 'float32')], outputs: [spec(embeds, 'float32')] } }
  const tokens = io.outputs.find((t) => t.name === patch.outputs.tokens && t.shape.length === 3 && t.shape[2] === dim)
  const attention = io.outputs.find((t) => t.name === patch.outputs.attention && t.shape.length === 3)
  if (!tokens || !attention) throw new StudioError('model_error', `${file}: the rewritten model lacks ${patch.outputs.tokens} [batch, tokens, ${dim}] or ${patch.outputs.attention}`)
  return {
    dim,
    model: {
      file,
      roles: { pixels: pixels.name, embeds: embeds.name, tokens: tokens.name, attention: attention.name },
      patchGrid: patch.patchGrid,
      inputs: [spec(pixels, 'float32')],
      outputs: [spec(embeds, 'float32'), spec(tokens, 'float32'), spec(attention, 'float32')]
    }
  }
}

export function textModelFrom(io: ModelIo, file: string, dim: number) {
  const ids = pick(io.inputs, 'input_ids', (t) => t.shape.length === 2 && /^int(64|32)$/.test(t.type))
  if (!ids) throw new StudioError('model_error', `${file}: no [batch, seq] token-id input (inputs: ${io.inputs.map((t) => t.name).join(', ')})`)
  if (ids.type !== 'int64') throw new StudioError('unsupported', `${file}: token ids are ${ids.type}; the studio feeds int64 ids (the transformers.js exports)`)
  const mask = io.inputs.find((t) => t.name === 'attention_mask' && t.type === 'int64')
  const extra = io.inputs.filter((t) => t !== ids && t !== mask)
  if (extra.length) throw new StudioError('model_error', `${file}: unexpected inputs ${extra.map((t) => t.name).join(', ')}`)
  const embeds = pick(io.outputs, 'text_embeds', (t) => t.type === 'float32' && t.shape.length === 2 && t.shape[1] === dim)
  if (!embeds) throw new StudioError('model_error', `${file}: no float32 [batch, ${dim}] text embedding output matching the image tower (outputs: ${io.outputs.map((t) => `${t.name}[${t.shape.join(',')}]`).join(', ')})`)
  const inputs = [spec(ids, 'int64'), ...(mask ? [spec(mask, 'int64')] : [])]
  return { file, roles: { ids: ids.name, ...(mask ? { mask: mask.name } : {}), embeds: embeds.name }, inputs, outputs: [spec(embeds, 'float32')] }
}

async function readJson(dir: string, path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(join(dir, path), 'utf8'))
  } catch (err) {
    throw new StudioError('model_error', `${path}: not valid JSON (${(err as Error).message})`)
  }
}

export function roleFile(entry: CatalogEntry, role: CatalogEntry['files'][number]['role']): string | undefined {
  return entry.files.find((f) => f.role === role)?.path
}

/** The models/tokenizer/preprocess/embedDim part of pack.json for a CLIP entry fetched into `dir`. */
export async function assembleClip(entry: CatalogEntry, dir: string, io: { vision: ModelIo; text: ModelIo }, patch?: PatchOutputs) {
  const pre = roleFile(entry, 'preprocessor')!
  const preprocess = preprocessFrom(await readJson(dir, pre), pre)
  const image = imageModelFrom(io.vision, io.vision.file, patch)
  const text = textModelFrom(io.text, roleFile(entry, 'text-model')!, image.dim)
  const tokCfg = roleFile(entry, 'tokenizer-config')
  return {
    embedDim: image.dim,
    preprocess,
    tokenizer: { file: roleFile(entry, 'tokenizer')!, type: 'hf-tokenizer-json', ...(tokCfg ? { config: tokCfg } : {}) },
    models: { image: image.model, text }
  }
}
