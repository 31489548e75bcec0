// Any Node process (process-free: protobuf only, no onnxruntime). A read-only index over a decoded ONNX graph
// (onnx-proto's ModelProto, the ONNX protobuf schema on protobufjs) and small builders for the nodes, tensors
// and value infos a graph surgery adds. Used by graph-surgery.ts / graph-match.ts.
// [Note: onnx-proto schema] onnx-proto 8.0.1 carries the schema of ONNX 1.10.2: protobufjs drops fields it does
// not know when it decodes, so fields added later (metadata_props on nodes/graphs of ONNX 1.16, node overloads)
// would be lost on re-encoding. None of them changes what a graph computes except overloads of local
// functions, and a model with local functions is refused (graph-match.ts). int64 fields decode as Long.
import onnxProto from 'onnx-proto'

export const { onnx } = onnxProto
export type Model = onnxProto.onnx.ModelProto
export type Graph = onnxProto.onnx.IGraphProto
export type Node = onnxProto.onnx.INodeProto
export type Tensor = onnxProto.onnx.ITensorProto
export type ValueInfo = onnxProto.onnx.IValueInfoProto
export type Dim = onnxProto.onnx.TensorShapeProto.IDimension

export const DT = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, DOUBLE: 11 } as const

/** A Long or number (protobufjs int64) as a JS number. */
export function num(x: number | { toNumber(): number } | null | undefined): number {
  if (x === null || x === undefined) return 0
  return typeof x === 'number' ? x : x.toNumber()
}

/** Thrown by the matchers when a graph is not of the expected form; turned into `{ unsupported }`. */
export class Unsupported extends Error {}

export function unsupported(why: string): never {
  throw new Unsupported(why)
}

export interface ConstTensor {
  dims: number[]
  dataType: number
  tensor: Tensor
}

const BYTES: Record<number, number> = { [DT.FLOAT]: 4, [DT.UINT8]: 1, [DT.INT8]: 1, [DT.INT32]: 4, [DT.INT64]: 8, [DT.DOUBLE]: 8 }

/** The values of a small numeric tensor (raw_data or the typed fields), as JS numbers. */
export function tensorValues(t: Tensor, limit = 64): number[] {
  const dims = (t.dims ?? []).map(num)
  const count = dims.reduce((a, b) => a * b, 1)
  if (count > limit) unsupported(`tensor ${t.name ?? ''} has ${count} values; only small constants are read`)
  const dt = t.dataType ?? 0
  const raw = t.rawData
  if (raw && raw.length) {
    const size = BYTES[dt]
    if (!size || raw.length !== count * size) unsupported(`tensor ${t.name ?? ''}: ${raw.length} raw bytes for ${count} values of data type ${dt}`)
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
    return Array.from({ length: count }, (_, i) => {
      switch (dt) {
        case DT.FLOAT: return view.getFloat32(i * 4, true)
        case DT.DOUBLE: return view.getFloat64(i * 8, true)
        case DT.INT64: return Number(view.getBigInt64(i * 8, true))
        case DT.INT32: return view.getInt32(i * 4, true)
        case DT.INT8: return view.getInt8(i)
        default: return view.getUint8(i)
      }
    })
  }
  const typed = dt === DT.FLOAT ? t.floatData : dt === DT.DOUBLE ? t.doubleData : dt === DT.INT64 ? t.int64Data : t.int32Data
  const vals = (typed ?? []).map((x) => num(x as number))
  if (vals.length !== count) unsupported(`tensor ${t.name ?? ''}: ${vals.length} values for shape [${dims.join(',')}]`)
  return vals
}

export function attr(node: Node, name: string): onnxProto.onnx.IAttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name)
}

export function attrInt(node: Node, name: string): number | undefined {
  const a = attr(node, name)
  return a ? num(a.i) : undefined
}

export function attrInts(node: Node, name: string): number[] | undefined {
  const a = attr(node, name)
  return a ? (a.ints ?? []).map(num) : undefined
}

export function attrFloat(node: Node, name: string): number | undefined {
  return attr(node, name)?.f ?? undefined
}

/** Producers, consumers and constants (initializers and Constant nodes) of one graph. */
export class GraphIndex {
  readonly nodes: Node[]
  readonly producer = new Map<string, Node>()
  readonly consumers = new Map<string, Node[]>()
  readonly inits = new Map<string, Tensor>()
  readonly names = new Set<string>()

  constructor(readonly graph: Graph) {
    this.nodes = graph.node ?? []
    for (const t of graph.initializer ?? []) {
      this.inits.set(t.name ?? '', t)
      this.names.add(t.name ?? '')
    }
    for (const v of graph.input ?? []) this.names.add(v.name ?? '')
    for (const n of this.nodes) {
      for (const o of n.output ?? []) {
        this.producer.set(o, n)
        this.names.add(o)
      }
      for (const i of n.input ?? []) {
        if (!i) continue
        const list = this.consumers.get(i) ?? []
        list.push(n)
        this.consumers.set(i, list)
      }
    }
  }

  /** The tensor behind a value name, when it is an initializer or a Constant node's output. */
  constant(name: string): ConstTensor | null {
    let t = this.inits.get(name)
    if (!t) {
      const p = this.producer.get(name)
      if (p?.opType === 'Constant') {
        const a = attr(p, 'value')
        if (a?.t) t = a.t
        else if (a === undefined) {
          const f = attr(p, 'value_float')
          const i = attr(p, 'value_int')
          if (f) t = { dims: [], dataType: DT.FLOAT, floatData: [f.f ?? 0] }
          else if (i) t = { dims: [], dataType: DT.INT64, int64Data: [num(i.i)] }
        }
      }
    }
    return t ? { dims: (t.dims ?? []).map(num), dataType: t.dataType ?? 0, tensor: t } : null
  }

  /** The values of a small constant, or null when `name` is not constant. */
  values(name: string): number[] | null {
    const c = this.constant(name)
    return c ? tensorValues(c.tensor) : null
  }

  /** The single numeric value of a scalar (or one-element) constant. */
  scalar(name: string): number | null {
    const v = this.values(name)
    return v && v.length === 1 ? v[0]! : null
  }

  /** Every node `value` is computed from (its transitive producers). */
  ancestors(value: string): Set<Node> {
    const seen = new Set<Node>()
    const stack = [value]
    while (stack.length) {
      const p = this.producer.get(stack.pop()!)
      if (!p || seen.has(p)) continue
      seen.add(p)
      for (const i of p.input ?? []) if (i) stack.push(i)
    }
    return seen
  }
}

/** The producer of `value` if it has op type `op` (one of several), else null. */
export function producedBy(g: GraphIndex, value: string, ...ops: string[]): Node | null {
  const p = g.producer.get(value)
  return p && ops.includes(p.opType ?? '') && (p.domain ?? '') === '' ? p : null
}

/** For a commutative binary node: [the input that is a constant, the other input], or null. */
export function splitConst(g: GraphIndex, n: Node): [string, string] | null {
  const [a, b] = n.input ?? []
  if (!a || !b) return null
  if (g.constant(a) && !g.constant(b)) return [a, b]
  if (g.constant(b) && !g.constant(a)) return [b, a]
  return null
}

// ---- builders for the added parts ----

export function node(op: string, name: string, inputs: string[], outputs: string[], attrs: onnxProto.onnx.IAttributeProto[] = []): Node {
  return onnx.NodeProto.create({ opType: op, name, input: inputs, output: outputs, attribute: attrs, domain: '' })
}

export const intsAttr = (name: string, ints: number[]) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints })
export const intAttr = (name: string, i: number) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i })

export function int64Tensor(name: string, values: number[]): Tensor {
  return onnx.TensorProto.create({ name, dims: [values.length], dataType: DT.INT64, int64Data: values })
}

export function floatOutput(name: string, dims: Dim[]): ValueInfo {
  return onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType: DT.FLOAT, shape: { dim: dims } } }
  })
}

/** Decodes `bytes`, lets `edit` rewrite the model in place (it throws Unsupported to refuse), and re-encodes;
 *  `{ unsupported }` for a file that is not ONNX or a graph `edit` refused. */
export function rewriteOnnx<R extends object>(bytes: Uint8Array, edit: (m: Model) => R): (R & { bytes: Uint8Array }) | { unsupported: string } {
  let model: Model
  try {
    model = onnx.ModelProto.decode(bytes)
  } catch (err) {
    return { unsupported: `not an ONNX model: ${(err as Error).message}` }
  }
  try {
    const r = edit(model)
    return { ...r, bytes: onnx.ModelProto.encode(model).finish() }
  } catch (err) {
    if (err instanceof Unsupported) return { unsupported: err.message }
    throw err
  }
}
