// Any Node process (process-free: reads and writes ONNX protobuf with onnx-proto; no onnxruntime). MacCap's
// patch route from a stock CLIP vision export (docs/pack-format.md "Patch route from a stock export"): the
// transformers.js / optimum files of CLIP ViT-B/32 expose only `image_embeds`, so the pack builder adds two
// outputs by graph surgery:
//   token_embeds  [B, T, E] = visual_projection(post_layernorm(all T tokens of the last encoder layer))
//   cls_attention [B, T, T] = the last layer's attention probabilities averaged over heads (row 0 = CLS)
// T = 1 + grid², E = the projection width. `image_embeds` and every existing node stay as they are.
// [Note: no silent surgery] Each piece is located by graph structure (graph-match.ts) and cross-checked by
// the layer names where the exporter wrote them (`/vision_model/encoder/layers.N/self_attn/Softmax`); any
// mismatch returns `{ unsupported: why }` instead of a model with plausible but wrong outputs. The added nodes:
//   tokens:    a copy of the file's own post_layernorm nodes (same γ, β, ε, same ops: LayerNormalization, or the
//              ReduceMean/Sub/Pow/… decomposition of opset < 17 exports), fed with the full hidden state instead
//              of the CLS row, its reductions pinned to axis −1; then MatMul with visual_projection's weight.
//              int8 files ([Note: int8 tokens]) multiply by DequantizeLinear(quantized weight, scale, zero
//              point) — the same weights image_embeds uses, with fp32 activations.
//   attention: Reshape(Softmax output, [B, −1, T, T]) with B and T read at run time from the hidden state's
//              Shape (HF folds heads batch-major, [B·H, T, T]; a rank-4 [B, H, T, T] passes unchanged), then
//              ReduceMean over axis 1. A Softmax of another shape fails the Reshape at run time, loudly.
// [Note: int8 tokens] Reusing the file's DynamicQuantizeLinear + MatMulInteger path for all tokens would
// quantize the 50 token rows with one activation scale (not the CLS row's), so token row 0 would not even be
// the same computation as image_embeds; dequantizing the weight keeps only the weight's rounding (closer to
// fp32) and costs one [D, E] float matrix, which onnxruntime folds once at session start.
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import { StudioError, ioReasonOf } from '@shared/errors'
import { matchClsSelect, matchLastAttention, matchLayerNorm, matchPatchGrid, matchProjection, reduceAxes } from './graph-match'
import { floatOutput, GraphIndex, int64Tensor, intAttr, intsAttr, node, num, rewriteOnnx, unsupported, type Model, type Node, type Tensor } from './onnx-graph'

export const GRAPH_SURGERY_VERSION = '1.0.0'
export const PATCH_OUTPUTS = { tokens: 'token_embeds', attention: 'cls_attention' } as const

export interface PatchSurgery {
  bytes: Uint8Array
  outputs: { tokens: string; attention: string }
  patchGrid: [number, number]
  notes: string[]
}

const P = 'patch_route/'

function defaultOpset(m: Model): number {
  const o = (m.opsetImport ?? []).find((x) => !x.domain || x.domain === 'ai.onnx')
  if (!o) unsupported('the model imports no default-domain opset')
  return num(o.version)
}

function rewrite(model: Model): Omit<PatchSurgery, 'bytes'> {
  const graph = model.graph ?? unsupported('the file has no graph')
  if ((model.functions ?? []).length) unsupported('the model defines local functions, which this surgery does not rewrite')
  const opset = defaultOpset(model)
  if (opset < 13) unsupported(`opset ${opset}: the surgery needs opset 13 or later (Softmax over the last axis, Squeeze/Slice with inputs)`)
  const g = new GraphIndex(graph)
  const outs = graph.output ?? []
  const embedsInfo = outs.find((o) => o.name === 'image_embeds') ?? (outs.length === 1 ? outs[0] : undefined)
  if (!embedsInfo) unsupported(`no image_embeds output (outputs: ${outs.map((o) => o.name).join(', ')})`)
  const embeds = embedsInfo.name!
  for (const n of Object.values(PATCH_OUTPUTS)) if (g.names.has(n) || outs.some((o) => o.name === n)) unsupported(`the graph already has a value named ${n}`)
  if ([...g.names].some((n) => n.startsWith(P))) unsupported(`the graph already has values named ${P}… (rewritten before?)`)

  const proj = matchProjection(g, embeds)
  const ln = matchLayerNorm(g, proj.input, 2, opset)
  const cls = matchClsSelect(g, ln.input, opset)
  const hidden = cls.hidden
  const att = matchLastAttention(g, hidden, opset)
  const grid = matchPatchGrid(g, graph)
  const [D, E] = proj.dims
  if (ln.width !== D || grid.stemWidth !== D) unsupported(`widths disagree: post_layernorm ${ln.width}, visual_projection ${D}×${E}, patch stem ${grid.stemWidth}`)
  const embDims = embedsInfo.type?.tensorType?.shape?.dim ?? []
  const declaredE = embDims[1]?.dimValue
  if (embDims.length !== 2 || (declaredE !== undefined && declaredE !== null && num(declaredE) !== 0 && num(declaredE) !== E)) {
    unsupported(`${embeds} is declared [${embDims.map((d) => d.dimParam || num(d.dimValue)).join(',')}], expected [batch, ${E}]`)
  }
  const T = grid.tokens

  const added: Node[] = []
  const inits: Tensor[] = []
  const c64 = (name: string, values: number[]) => {
    inits.push(int64Tensor(P + name, values))
    return P + name
  }
  const minus1 = c64('axes_last', [-1])

  // tokens: post_layernorm on every token, then visual_projection
  const map = new Map<string, string>([[ln.input, hidden]])
  ln.nodes.forEach((n, k) => {
    const label = `${P}post_layernorm_all/${k}_${n.opType}`
    const outputs = (n.opType === 'LayerNormalization' ? (n.output ?? []).slice(0, 1) : n.output ?? []).map((o, j) => {
      map.set(o, `${label}_output_${j}`)
      return `${label}_output_${j}`
    })
    const inputs = (n.input ?? []).map((i) => map.get(i) ?? i)
    let attrs = [...(n.attribute ?? [])]
    if (n.opType === 'ReduceMean') {
      if (opset < 18) attrs = [...attrs.filter((a) => a.name !== 'axes'), intsAttr('axes', [-1])]
      else inputs[1] = minus1
      if (reduceAxes(g, n, opset) === null) unsupported(`${n.name}: no reduction axes`)
    }
    if (n.opType === 'LayerNormalization') attrs = [...attrs.filter((a) => a.name !== 'axis'), intAttr('axis', -1)]
    added.push(node(n.opType!, label, inputs, outputs, attrs))
  })
  const normed = map.get(ln.output)!
  let weight = proj.weight
  if (proj.kind === 'int8') {
    weight = P + 'visual_projection_weight'
    const ins = [proj.weight, proj.scale!, ...(proj.zeroPoint ? [proj.zeroPoint] : [])]
    added.push(node('DequantizeLinear', P + 'visual_projection/DequantizeLinear', ins, [weight], proj.perChannel ? [intAttr('axis', 1)] : []))
  }
  added.push(node('MatMul', P + 'visual_projection/MatMul', [normed, weight], [PATCH_OUTPUTS.tokens]))

  // attention: [B·H, T, T] → [B, H, T, T] → mean over heads
  const shape = P + 'hidden_shape'
  added.push(node('Shape', P + 'Shape', [hidden], [shape]))
  const [i0, i1, i2] = [c64('i0', [0]), c64('i1', [1]), c64('i2', [2])]
  added.push(node('Slice', P + 'Slice_batch', [shape, i0, i1, i0], [P + 'batch']))
  added.push(node('Slice', P + 'Slice_tokens', [shape, i1, i2, i0], [P + 'tokens']))
  added.push(node('Concat', P + 'Concat', [P + 'batch', minus1, P + 'tokens', P + 'tokens'], [P + 'by_head_shape'], [intAttr('axis', 0)]))
  added.push(node('Reshape', P + 'Reshape', [att.probs, P + 'by_head_shape'], [P + 'probs_by_head']))
  added.push(opset < 18
    ? node('ReduceMean', P + 'ReduceMean_heads', [P + 'probs_by_head'], [PATCH_OUTPUTS.attention], [intsAttr('axes', [1]), intAttr('keepdims', 0)])
    : node('ReduceMean', P + 'ReduceMean_heads', [P + 'probs_by_head', i1], [PATCH_OUTPUTS.attention], [intAttr('keepdims', 0)]))

  graph.node = [...(graph.node ?? []), ...added]
  graph.initializer = [...(graph.initializer ?? []), ...inits]
  const batch = embDims[0] ?? { dimParam: 'batch_size' }
  graph.output = [...outs,
    floatOutput(PATCH_OUTPUTS.tokens, [batch, { dimValue: T }, { dimValue: E }]),
    floatOutput(PATCH_OUTPUTS.attention, [batch, { dimValue: T }, { dimValue: T }])]

  const notes = [
    `last attention: ${att.softmax.name || att.probs}${att.layer !== null ? ` (layer ${att.layer})` : ''}, the last of ${att.layers} Softmax nodes before ${hidden}; head average → ${PATCH_OUTPUTS.attention} [batch, ${T}, ${T}]`,
    `post_layernorm: ${ln.kind === 'LayerNormalization' ? 'LayerNormalization' : `decomposed (${ln.nodes.length} nodes, opset ${opset})`}, ε ${Number(ln.epsilon.toPrecision(6))}, γ ${ln.scale}${ln.bias ? `, β ${ln.bias}` : ''}; applied to all ${T} tokens of ${hidden}`,
    proj.kind === 'fp32'
      ? `visual_projection: ${proj.node}, float32 weight ${proj.weight} [${D}×${E}] → ${PATCH_OUTPUTS.tokens} [batch, ${T}, ${E}]`
      : `visual_projection: ${proj.node}, ${proj.weightType} weight ${proj.weight} [${D}×${E}], ${proj.perChannel ? 'per column' : 'per tensor'}; ${PATCH_OUTPUTS.tokens} uses DequantizeLinear of that weight with float32 activations (${embeds} keeps the file's dynamic int8 path)`,
    `patch grid ${grid.grid[0]}×${grid.grid[1]}: ${grid.patch[0]}×${grid.patch[1]} patches of the ${grid.size[0]}×${grid.size[1]} ${grid.pixels}; position table ${grid.positions === null ? 'not found (token count from the stem only)' : `has ${grid.positions} rows`}`
  ]
  return { outputs: { ...PATCH_OUTPUTS }, patchGrid: grid.grid, notes }
}

/** Adds `token_embeds` and `cls_attention` to a CLIP vision model, or says why it cannot. */
export function addPatchOutputs(modelBytes: Uint8Array): PatchSurgery | { unsupported: string } {
  return rewriteOnnx(modelBytes, rewrite)
}

export type PatchRoute =
  | { ok: true; file: string; sha256: string; bytes: number; outputs: { tokens: string; attention: string }; patchGrid: [number, number]; provenance: string; notes: string[] }
  | { ok: false; reason: string }

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

/** Reads `visionFile`, adds the patch-route outputs and writes the result to `outFile` atomically (temp file +
 *  rename). `ok: false` when the file cannot be read or its graph is not one the surgery understands; a failed
 *  write throws a StudioError (io_error). `sourceName` (default: the file's base name) is what the provenance line calls the source. */
export async function patchRouteFor(visionFile: string, outFile: string, opts: { sourceName?: string } = {}): Promise<PatchRoute> {
  let src: Buffer
  try {
    src = await readFile(visionFile)
  } catch (err) {
    return { ok: false, reason: `${visionFile}: ${(err as Error).message}` }
  }
  const r = addPatchOutputs(src)
  if ('unsupported' in r) return { ok: false, reason: `${basename(visionFile)}: ${r.unsupported}` }
  await mkdir(dirname(outFile), { recursive: true })
  const tmp = `${outFile}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
  try {
    await writeFile(tmp, r.bytes)
    await rename(tmp, outFile)
  } catch (err) {
    await rm(tmp, { force: true })
    throw new StudioError('io_error', `${outFile}: ${(err as Error).message}`, ioReasonOf(err) ?? undefined)
  }
  return {
    ok: true,
    file: outFile,
    sha256: sha256(r.bytes),
    bytes: r.bytes.length,
    outputs: r.outputs,
    patchGrid: r.patchGrid,
    provenance: `derived from ${opts.sourceName ?? basename(visionFile)}@${sha256(src).slice(0, 12)} by caption-studio graph-surgery ${GRAPH_SURGERY_VERSION}`,
    notes: r.notes
  }
}
