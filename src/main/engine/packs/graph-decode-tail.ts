// Any Node process (process-free: reads and writes ONNX protobuf with onnx-proto; no onnxruntime). The
// next-token tail of a decoder graph: from a logits output [B, L, V] (the main model) or [B, 1, V] (a KV-cache
// step model) it adds
//   next_logprobs [B, k] float32 = TopK(LogSoftmax(logits[:, -1, :]), k).values   (sorted, best first)
//   next_ids      [B, k] int64   = the matching token ids
// with k a new int64 input `decode_tail_k` of shape [1], so one session serves greedy (k = 1) and beam W (k = W).
// [Note: decode tail] Without it every step copies B × V floats into JavaScript (9 × 49,408 = 1.8 MB a step at
// CLIP vocabulary size) and spends a log-sum-exp over each row there; with it only k numbers per hypothesis
// cross. ONNX TopK puts the lower index first among equal values (sorted = 1), as linalg.topK/argmaxF32 do, and
// the scores are the same log-softmax the JavaScript path computes (float32 here, float64 sums there; the
// decode-tail test compares the tokens of both paths exactly and the log-probabilities to 1e-4).
// The rewrite is done in memory when the engine opens a decoder (worker/decode-tail-session.ts): the pack's
// file and its sha256 stay as shipped, and a graph this does not understand keeps the JavaScript path.
import { floatOutput, GraphIndex, intAttr, node, num, onnx, rewriteOnnx, unsupported, DT, type Model } from './onnx-graph'

export const DECODE_TAIL = { k: 'decode_tail_k', logprobs: 'next_logprobs', ids: 'next_ids' } as const
const P = 'decode_tail/'

export interface DecodeTail {
  bytes: Uint8Array
  names: typeof DECODE_TAIL
}

function rewrite(model: Model, logits: string): void {
  const graph = model.graph ?? unsupported('the file has no graph')
  const opset = (model.opsetImport ?? []).find((x) => !x.domain || x.domain === 'ai.onnx')
  if (!opset || num(opset.version) < 11) unsupported(`opset ${opset ? num(opset.version) : 'none'}: the tail needs opset 11 or later (TopK with a k input, Gather with a negative index)`)
  for (const t of graph.initializer ?? []) {
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) unsupported(`initializer ${t.name} is stored in an external file; the model is not rewritten in memory`)
  }
  const outs = graph.output ?? []
  const info = outs.find((o) => o.name === logits)
  if (!info) unsupported(`no "${logits}" output (outputs: ${outs.map((o) => o.name).join(', ')})`)
  const dims = info.type?.tensorType?.shape?.dim ?? []
  if (info.type?.tensorType?.elemType !== DT.FLOAT) unsupported(`"${logits}" is not float32`)
  if (dims.length !== 3) unsupported(`"${logits}" has rank ${dims.length}, expected [batch, seq, vocab]`)
  const g = new GraphIndex(graph)
  for (const n of Object.values(DECODE_TAIL)) if (g.names.has(n) || outs.some((o) => o.name === n)) unsupported(`the graph already has a value named ${n}`)
  if ([...g.names].some((n) => n.startsWith(P))) unsupported(`the graph already has values named ${P}… (rewritten before?)`)

  const last = onnx.TensorProto.create({ name: P + 'last', dims: [], dataType: DT.INT64, int64Data: [-1] })
  graph.initializer = [...(graph.initializer ?? []), last]
  graph.node = [
    ...(graph.node ?? []),
    node('Gather', P + 'Gather_last', [logits, P + 'last'], [P + 'last_logits'], [intAttr('axis', 1)]),
    node('LogSoftmax', P + 'LogSoftmax', [P + 'last_logits'], [P + 'logprobs'], [intAttr('axis', -1)]),
    node('TopK', P + 'TopK', [P + 'logprobs', DECODE_TAIL.k], [DECODE_TAIL.logprobs, DECODE_TAIL.ids], [intAttr('axis', -1), intAttr('largest', 1), intAttr('sorted', 1)])
  ]
  graph.input = [...(graph.input ?? []), onnx.ValueInfoProto.create({ name: DECODE_TAIL.k, type: { tensorType: { elemType: DT.INT64, shape: { dim: [{ dimValue: 1 }] } } } })]
  const batch = dims[0] ?? { dimParam: 'batch' }
  graph.output = [
    ...outs,
    floatOutput(DECODE_TAIL.logprobs, [batch, { dimParam: 'decode_tail_k' }]),
    onnx.ValueInfoProto.create({ name: DECODE_TAIL.ids, type: { tensorType: { elemType: DT.INT64, shape: { dim: [batch, { dimParam: 'decode_tail_k' }] } } } })
  ]
}

/** Adds the next-token tail after `logits`, or says why it cannot. */
export function addDecodeTail(modelBytes: Uint8Array, logits: string): DecodeTail | { unsupported: string } {
  return rewriteOnnx(modelBytes, (m) => {
    rewrite(m, logits)
    return { names: DECODE_TAIL }
  })
}
