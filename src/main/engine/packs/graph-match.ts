// Any Node process (process-free: protobuf only). Structural matchers over a CLIP vision graph exported like
// Hugging Face's CLIPVisionModelWithProjection (optimum / transformers.js exports, fp32 or dynamically
// quantized int8): the visual_projection MatMul that produces image_embeds, the post_layernorm before it, the
// selection of the CLS token before that, the last attention Softmax, and the patch grid of the Conv stem.
// Every matcher either returns what it found or throws Unsupported with the reason ([Note: no silent
// surgery] in graph-surgery.ts).
import { attrFloat, attrInt, attrInts, DT, GraphIndex, producedBy, splitConst, unsupported, type Graph, type Node } from './onnx-graph'

export interface Projection {
  kind: 'fp32' | 'int8'
  /** The projection's activation input: post_layernorm(CLS), [B, D]. */
  input: string
  /** fp32: the weight [D, E]; int8: the quantized weight [D, E]. */
  weight: string
  scale?: string
  zeroPoint?: string
  perChannel: boolean
  weightType: 'float32' | 'uint8' | 'int8'
  dims: [number, number]
  node: string
}

const name = (n: Node) => n.name || (n.output ?? [])[0] || n.opType || '?'

function constOf(g: GraphIndex, value: string, what: string) {
  const c = g.constant(value)
  if (!c) unsupported(`${what} (${value}) is not a constant of the file`)
  return c
}

/** visual_projection: MatMul(x, W) → embeds (fp32), or the MatMulInteger pattern of ORT's quantize_dynamic. */
export function matchProjection(g: GraphIndex, embeds: string): Projection {
  const mm = producedBy(g, embeds, 'MatMul')
  if (mm) {
    const [x, w] = mm.input ?? []
    const wc = constOf(g, w ?? '', 'the B input of the MatMul producing ' + embeds)
    if (wc.dataType !== DT.FLOAT || wc.dims.length !== 2) unsupported(`${name(mm)}: weight is data type ${wc.dataType} with shape [${wc.dims.join(',')}], expected a float32 matrix`)
    if (!x || g.constant(x)) unsupported(`${name(mm)}: the A input is a constant`)
    return { kind: 'fp32', input: x, weight: w!, perChannel: false, weightType: 'float32', dims: [wc.dims[0]!, wc.dims[1]!], node: name(mm) }
  }
  const mul = producedBy(g, embeds, 'Mul')
  if (!mul) unsupported(`${embeds} is produced by ${g.producer.get(embeds)?.opType ?? 'nothing'}, not by a MatMul (fp32) or the Mul of a MatMulInteger (int8)`)
  const ins = mul.input ?? []
  const castIdx = ins.findIndex((i) => producedBy(g, i, 'Cast'))
  const cast = castIdx >= 0 ? producedBy(g, ins[castIdx]!, 'Cast')! : null
  const mmi = cast ? producedBy(g, (cast.input ?? [])[0] ?? '', 'MatMulInteger') : null
  const scales = producedBy(g, ins[1 - castIdx] ?? '', 'Mul')
  if (!cast || !mmi || !scales || ins.length !== 2 || attrInt(cast, 'to') !== DT.FLOAT) {
    unsupported(`${embeds} is produced by ${name(mul)}, which is not Cast(MatMulInteger) × scales (the int8 projection pattern)`)
  }
  const [xq, wq, xzp, wzp] = mmi.input ?? []
  const dq = producedBy(g, xq ?? '', 'DynamicQuantizeLinear')
  if (!dq || (dq.output ?? [])[0] !== xq || (xzp && (dq.output ?? [])[2] !== xzp)) unsupported(`${name(mmi)}: its A input is not the output of a DynamicQuantizeLinear`)
  const aScale = (dq.output ?? [])[1]
  const [s0, s1] = scales.input ?? []
  const wScale = s0 === aScale ? s1 : s1 === aScale ? s0 : undefined
  if (!wScale) unsupported(`${name(scales)} does not multiply the activation scale of ${name(dq)}`)
  const wc = constOf(g, wq ?? '', `the quantized weight of ${name(mmi)}`)
  if ((wc.dataType !== DT.UINT8 && wc.dataType !== DT.INT8) || wc.dims.length !== 2) unsupported(`${name(mmi)}: weight is data type ${wc.dataType} [${wc.dims.join(',')}], expected a uint8/int8 matrix`)
  const E = wc.dims[1]!
  const sc = constOf(g, wScale, `the weight scale of ${name(mmi)}`)
  const perChannel = sc.dims.length === 1 && sc.dims[0] === E && E !== 1
  if (sc.dataType !== DT.FLOAT || !(sc.dims.length === 0 || (sc.dims.length === 1 && (sc.dims[0] === 1 || perChannel)))) {
    unsupported(`${name(mmi)}: weight scale has data type ${sc.dataType} and shape [${sc.dims.join(',')}]; expected a float32 scalar or one per output column`)
  }
  if (wzp) {
    const zc = constOf(g, wzp, `the weight zero point of ${name(mmi)}`)
    const zPer = zc.dims.length === 1 && zc.dims[0] === E && E !== 1
    if (zc.dataType !== wc.dataType || zPer !== perChannel || !(zc.dims.length === 0 || (zc.dims.length === 1 && (zc.dims[0] === 1 || zPer)))) {
      unsupported(`${name(mmi)}: weight zero point [${zc.dims.join(',')}] does not match its scale [${sc.dims.join(',')}]`)
    }
  }
  return {
    kind: 'int8', input: (dq.input ?? [])[0]!, weight: wq!, scale: wScale, zeroPoint: wzp || undefined, perChannel,
    weightType: wc.dataType === DT.UINT8 ? 'uint8' : 'int8', dims: [wc.dims[0]!, E], node: name(mmi)
  }
}

export interface LayerNormMatch {
  kind: 'LayerNormalization' | 'decomposed'
  /** The normalised input (the CLS state [B, D]). */
  input: string
  /** The matched nodes, in graph order; the first consumes `input`, the last produces `output`. */
  nodes: Node[]
  output: string
  scale: string
  bias: string | null
  epsilon: number
  width: number
}

/** Reduction axes of a ReduceMean (attribute before opset 18, input from 18). */
export function reduceAxes(g: GraphIndex, n: Node, opset: number): number[] | null {
  if (opset < 18) return attrInts(n, 'axes') ?? null
  const a = (n.input ?? [])[1]
  return a ? g.values(a) : null
}

const isLastAxis = (axes: number[] | null, rank: number) => axes !== null && axes.length === 1 && (axes[0] === -1 || axes[0] === rank - 1)

function vector(g: GraphIndex, value: string, what: string): number {
  const c = constOf(g, value, what)
  if (c.dataType !== DT.FLOAT || c.dims.length !== 1) unsupported(`${what} (${value}) is not a float32 vector: data type ${c.dataType}, shape [${c.dims.join(',')}]`)
  return c.dims[0]!
}

/** post_layernorm over the last axis of a rank-`rank` input, as one LayerNormalization or torch's decomposition
 *  (ReduceMean → Sub → Pow 2 → ReduceMean → Add ε → Sqrt → Div → Mul γ → Add β) of opset < 17 exports. */
export function matchLayerNorm(g: GraphIndex, out: string, rank: number, opset: number): LayerNormMatch {
  const ln = producedBy(g, out, 'LayerNormalization')
  if (ln) {
    const [input, scale, bias] = ln.input ?? []
    const axis = attrInt(ln, 'axis') ?? -1
    if (axis !== -1 && axis !== rank - 1) unsupported(`${name(ln)}: axis ${axis} is not the last axis`)
    const width = vector(g, scale ?? '', `${name(ln)} scale`)
    if (bias && vector(g, bias, `${name(ln)} bias`) !== width) unsupported(`${name(ln)}: bias and scale differ in length`)
    const eps = attrFloat(ln, 'epsilon') ?? 1e-5
    return { kind: 'LayerNormalization', input: input!, nodes: [ln], output: out, scale: scale!, bias: bias || null, epsilon: eps, width }
  }
  const fail = (why: string): never => unsupported(`post_layernorm not recognised before ${out}: ${why}`)
  const addBias = producedBy(g, out, 'Add') ?? fail(`produced by ${g.producer.get(out)?.opType ?? 'nothing'}, not LayerNormalization or Add(β)`)
  const [bias, y] = splitConst(g, addBias) ?? fail(`${name(addBias)} does not add a constant β`)
  const mul = producedBy(g, y, 'Mul') ?? fail(`${name(addBias)} does not add β to Mul(γ)`)
  const [scale, nrm] = splitConst(g, mul) ?? fail(`${name(mul)} does not multiply by a constant γ`)
  const div = producedBy(g, nrm, 'Div') ?? fail(`${name(mul)} does not scale a Div`)
  const [centred, std] = div.input ?? []
  const sub = producedBy(g, centred ?? '', 'Sub') ?? fail(`${name(div)} does not divide a Sub`)
  const [input, meanOut] = sub.input ?? []
  const mean1 = producedBy(g, meanOut ?? '', 'ReduceMean') ?? fail(`${name(sub)} does not subtract a ReduceMean`)
  if ((mean1.input ?? [])[0] !== input) fail(`${name(sub)} subtracts the mean of another tensor`)
  const sqrt = producedBy(g, std ?? '', 'Sqrt') ?? fail(`${name(div)} does not divide by a Sqrt`)
  const addEps = producedBy(g, (sqrt.input ?? [])[0] ?? '', 'Add') ?? fail(`${name(sqrt)} is not the root of Add(var, ε)`)
  const [epsName, varOut] = splitConst(g, addEps) ?? fail(`${name(addEps)} does not add a constant ε`)
  const epsilon = g.scalar(epsName)
  if (epsilon === null || !(epsilon > 0 && epsilon < 0.1)) fail(`ε ${String(epsilon)} is not a small positive scalar`)
  const mean2 = producedBy(g, varOut, 'ReduceMean') ?? fail(`${name(addEps)} does not add ε to a ReduceMean`)
  const sq = producedBy(g, (mean2.input ?? [])[0] ?? '', 'Pow', 'Mul') ?? fail(`${name(mean2)} does not average a square`)
  const [s0, s1] = sq.input ?? []
  const squares = s0 === centred && (sq.opType === 'Mul' ? s1 === centred : g.scalar(s1 ?? '') === 2)
  if (!squares) fail(`${name(sq)} is not the square of ${name(sub)}`)
  for (const m of [mean1, mean2]) {
    if (!isLastAxis(reduceAxes(g, m, opset), rank)) fail(`${name(m)} does not reduce the last axis`)
    if (attrInt(m, 'keepdims') === 0) fail(`${name(m)} drops the reduced axis`)
  }
  const width = vector(g, scale, `${name(mul)} γ`)
  if (vector(g, bias, `${name(addBias)} β`) !== width) fail('β and γ differ in length')
  const nodes = [mean1, sub, sq, mean2, addEps, sqrt, div, mul, addBias]
  const order = new Map(g.nodes.map((n, i) => [n, i]))
  nodes.sort((a, b) => order.get(a)! - order.get(b)!)
  return { kind: 'decomposed', input: input!, nodes, output: out, scale, bias, epsilon: epsilon!, width }
}

/** The selection of token 0 that feeds post_layernorm: Gather(h, 0, axis 1) or Squeeze(Slice(h, 0:1, axis 1), 1). */
export function matchClsSelect(g: GraphIndex, pooled: string, opset: number): { hidden: string; node: Node } {
  const isAxis1 = (a: number[] | null | undefined) => !!a && a.length === 1 && (a[0] === 1 || a[0] === -2)
  const gather = producedBy(g, pooled, 'Gather')
  if (gather) {
    const [hidden, idx] = gather.input ?? []
    const ax = attrInt(gather, 'axis') ?? 0
    const c = g.constant(idx ?? '')
    if ((ax !== 1 && ax !== -2) || !c || c.dims.length !== 0 || g.scalar(idx!) !== 0) {
      unsupported(`${name(gather)} before post_layernorm does not take token 0 of axis 1 (axis ${ax}, index ${c ? `[${c.dims.join(',')}]` : 'not constant'})`)
    }
    return { hidden: hidden!, node: gather }
  }
  const squeeze = producedBy(g, pooled, 'Squeeze')
  const slice = squeeze ? producedBy(g, (squeeze.input ?? [])[0] ?? '', 'Slice') : null
  if (squeeze && slice) {
    const sqAxes = opset >= 13 ? g.values((squeeze.input ?? [])[1] ?? '') : attrInts(squeeze, 'axes')
    const [hidden, starts, ends, axes, steps] = slice.input ?? []
    const ok = isAxis1(sqAxes) && g.values(starts ?? '')?.join() === '0' && g.values(ends ?? '')?.join() === '1' && isAxis1(axes ? g.values(axes) : null) &&
      (!steps || g.values(steps)?.join() === '1')
    if (!ok) unsupported(`${name(squeeze)}(${name(slice)}) before post_layernorm is not the selection of token 0`)
    return { hidden: hidden!, node: slice }
  }
  return unsupported(`post_layernorm's input is produced by ${g.producer.get(pooled)?.opType ?? 'nothing'}, not a selection of token 0 (Gather / Slice)`)
}

const layerOf = (n: Node | undefined) => {
  const m = /layers\.(\d+)\//.exec(n?.name ?? '')
  return m ? Number(m[1]) : null
}

export interface AttentionMatch {
  softmax: Node
  probs: string
  layer: number | null
  layers: number
}

/** The last attention Softmax that the hidden state depends on: no other Softmax it feeds into. */
export function matchLastAttention(g: GraphIndex, hidden: string, opset: number): AttentionMatch {
  const cands = [...g.ancestors(hidden)].filter((n) => n.opType === 'Softmax' && (n.domain ?? '') === '')
  if (cands.length === 0) unsupported(`no attention Softmax among the nodes that compute ${hidden}`)
  const before = new Map(cands.map((s) => [s, g.ancestors((s.output ?? [])[0] ?? '')]))
  const last = cands.filter((s) => !cands.some((o) => o !== s && before.get(o)!.has(s)))
  if (last.length !== 1) unsupported(`${last.length} Softmax nodes are last before ${hidden}; expected one attention layer at the end`)
  const sm = last[0]!
  const probs = (sm.output ?? [])[0]!
  const idx = layerOf(sm)
  const named = g.nodes.filter((n) => n.opType === 'Softmax').map(layerOf).filter((x): x is number => x !== null)
  if (idx !== null && Math.max(...named) > idx) unsupported(`${name(sm)} is last by structure but a Softmax of layer ${Math.max(...named)} exists`)
  const hidLayer = layerOf(g.producer.get(hidden))
  if (idx !== null && hidLayer !== null && hidLayer !== idx) unsupported(`${name(sm)} is in layer ${idx} but ${hidden} comes from layer ${hidLayer}`)
  const axis = attrInt(sm, 'axis')
  if (opset < 13 || !(axis === undefined || axis === -1)) unsupported(`${name(sm)}: axis ${axis ?? 'default'} at opset ${opset} is not confirmed to be the key axis (expected axis -1, opset >= 13)`)
  const users = g.consumers.get(probs) ?? []
  if (users.length === 0 || users.some((u) => u.opType !== 'MatMul' || (u.input ?? [])[0] !== probs)) {
    unsupported(`${name(sm)}: its output is not only the A input of MatMul(probabilities, values)`)
  }
  let src = producedBy(g, (sm.input ?? [])[0] ?? '', 'MatMul', 'Add', 'Mul', 'Div', 'Where', 'Cast')
  for (let hop = 0; src && src.opType !== 'MatMul' && hop < 3; hop++) src = producedBy(g, (src.input ?? []).find((i) => !g.constant(i)) ?? '', 'MatMul', 'Add', 'Mul', 'Div', 'Where', 'Cast')
  if (!src || src.opType !== 'MatMul') unsupported(`${name(sm)}: its scores do not come from MatMul(queries, keys)`)
  // heads are folded batch-major ([B*H, T, T] from [B, H, T, d]) when the queries went through a Transpose that
  // keeps the batch axis first (HF: view(B, T, H, d).transpose(1, 2)); the head average relies on it
  let q = g.producer.get((src.input ?? [])[0] ?? '')
  for (let hop = 0; q && ['Reshape', 'Mul', 'Div', 'Cast'].includes(q.opType ?? '') && hop < 4; hop++) q = g.producer.get((q.input ?? [])[0] ?? '')
  const perm = q?.opType === 'Transpose' ? attrInts(q, 'perm') : undefined
  if (!perm || perm.length !== 4 || perm[0] !== 0) unsupported(`${name(src)}: cannot confirm the queries are laid out batch-major (no Transpose keeping axis 0 before it)`)
  return { softmax: sm, probs, layer: idx, layers: cands.length }
}

export interface PatchGrid {
  pixels: string
  grid: [number, number]
  tokens: number
  patch: [number, number]
  size: [number, number]
  stemWidth: number
  /** Rows of the position-embedding table, when one was found. */
  positions: number | null
}

/** The ViT patch grid: pixel input [B, 3, H, W] with static H, W → Conv (or ConvInteger) with kernel = stride. */
export function matchPatchGrid(g: GraphIndex, graph: Graph): PatchGrid {
  const inputs = (graph.input ?? []).filter((i) => !g.inits.has(i.name ?? ''))
  for (const inp of inputs) {
    const px = inp.name ?? ''
    const dims = inp.type?.tensorType?.shape?.dim ?? []
    const direct = (g.consumers.get(px) ?? []).filter((n) => n.opType === 'Conv')
    const viaQ = (g.consumers.get(px) ?? []).filter((n) => n.opType === 'DynamicQuantizeLinear')
      .flatMap((q) => g.consumers.get((q.output ?? [])[0] ?? '') ?? []).filter((n) => n.opType === 'ConvInteger')
    const convs = [...direct, ...viaQ]
    if (convs.length === 0) continue
    if (convs.length !== 1) unsupported(`${px} feeds ${convs.length} convolutions; expected one patch stem`)
    const conv = convs[0]!
    const H = Number(dims[2]?.dimValue ?? 0)
    const W = Number(dims[3]?.dimValue ?? 0)
    if (dims.length !== 4 || Number(dims[1]?.dimValue ?? 0) !== 3 || !H || !W) unsupported(`${px} is not [batch, 3, H, W] with a fixed image size`)
    const k = attrInts(conv, 'kernel_shape') ?? []
    const s = attrInts(conv, 'strides') ?? [1, 1]
    const pads = attrInts(conv, 'pads') ?? [0, 0, 0, 0]
    const dil = attrInts(conv, 'dilations') ?? [1, 1]
    const autoPad = (conv.attribute ?? []).find((a) => a.name === 'auto_pad')?.s
    const padded = autoPad && autoPad.length && Buffer.from(autoPad).toString() !== 'NOTSET'
    if (k.length !== 2 || s.join() !== k.join() || pads.some((p) => p !== 0) || dil.some((d) => d !== 1) || (attrInt(conv, 'group') ?? 1) !== 1 || padded) {
      unsupported(`${name(conv)} is not a patch stem (kernel [${k.join(',')}], strides [${s.join(',')}], pads [${pads.join(',')}])`)
    }
    if (H % k[0]! !== 0 || W % k[1]! !== 0) unsupported(`${H}×${W} image is not a whole number of ${k[0]}×${k[1]} patches`)
    const w = g.constant((conv.input ?? [])[1] ?? '')
    if (!w || w.dims.length !== 4) unsupported(`${name(conv)}: weight is not a constant [D, 3, P, P]`)
    const grid: [number, number] = [H / k[0]!, W / k[1]!]
    const tokens = grid[0] * grid[1] + 1
    const tables = [...g.inits.values()].filter((t) => /position_embedding/.test(t.name ?? '') && (t.dims ?? []).length === 2)
    const rows = [...new Set(tables.map((t) => Number((t.dims ?? [])[0] ?? 0)))]
    if (rows.length > 1 || (rows.length === 1 && rows[0] !== tokens)) unsupported(`position table rows [${rows.join(',')}] differ from ${tokens} tokens (CLS + ${grid[0]}×${grid[1]})`)
    return { pixels: px, grid, tokens, patch: [k[0]!, k[1]!], size: [H, W], stemWidth: w.dims[0]!, positions: rows[0] ?? null }
  }
  return unsupported('no image input feeds a convolution patch stem')
}
