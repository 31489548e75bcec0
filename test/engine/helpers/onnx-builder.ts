// Tests only (plain Node). A minimal ONNX ModelProto writer (protobuf by hand) so engine tests can build tiny,
// exact models without Python: graphs of standard operators with float32/int64 initialisers.
// Field numbers follow onnx/onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto,
// ValueInfoProto, TypeProto, TensorShapeProto).

type Bytes = number[]

function varint(n: bigint | number): Bytes {
  let v = BigInt.asUintN(64, BigInt(n))
  const out: Bytes = []
  do {
    let b = Number(v & 0x7fn)
    v >>= 7n
    if (v > 0n) b |= 0x80
    out.push(b)
  } while (v > 0n)
  return out
}
const key = (field: number, wire: number) => varint((field << 3) | wire)
const fVarint = (field: number, n: bigint | number): Bytes => [...key(field, 0), ...varint(n)]
const fBytes = (field: number, b: Bytes | Uint8Array): Bytes => [...key(field, 2), ...varint(b.length), ...b]
const fString = (field: number, s: string) => fBytes(field, [...Buffer.from(s, 'utf8')])
const fFloat = (field: number, x: number): Bytes => {
  const b = Buffer.alloc(4)
  b.writeFloatLE(x)
  return [...key(field, 5), ...b]
}

export type Attr = number | number[] | string | { floats: number[] }

export interface NodeDef {
  op: string
  inputs: string[]
  outputs: string[]
  attrs?: Record<string, Attr>
}

export interface Init {
  name: string
  dims: number[]
  data: Float32Array | BigInt64Array
}

export interface IO {
  name: string
  type: 'float32' | 'int64'
  shape: (number | string)[]
}

function attribute(name: string, a: Attr): Bytes {
  if (typeof a === 'string') return [...fString(1, name), ...fVarint(20, 3), ...fBytes(4, [...Buffer.from(a)])]
  if (typeof a === 'number') {
    if (Number.isInteger(a)) return [...fString(1, name), ...fVarint(20, 2), ...fVarint(3, a)]
    return [...fString(1, name), ...fVarint(20, 1), ...fFloat(2, a)]
  }
  if (Array.isArray(a)) return [...fString(1, name), ...fVarint(20, 7), ...a.flatMap((x) => fVarint(8, x))]
  return [...fString(1, name), ...fVarint(20, 6), ...a.floats.flatMap((x) => fFloat(7, x))]
}

function tensor(t: Init): Bytes {
  const isF = t.data instanceof Float32Array
  const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)
  return [...t.dims.flatMap((d) => fVarint(1, d)), ...fVarint(2, isF ? 1 : 7), ...fString(8, t.name), ...fBytes(9, raw)]
}

function valueInfo(io: IO): Bytes {
  const dims = io.shape.flatMap((d) => fBytes(1, typeof d === 'number' ? fVarint(1, d) : fString(2, d)))
  const tensorType = [...fVarint(1, io.type === 'float32' ? 1 : 7), ...fBytes(2, dims)]
  return [...fString(1, io.name), ...fBytes(2, fBytes(1, tensorType))]
}

export function buildModel(g: { nodes: NodeDef[]; inits: Init[]; inputs: IO[]; outputs: IO[]; opset?: number }): Uint8Array {
  const nodes = g.nodes.flatMap((n, i) =>
    fBytes(1, [
      ...n.inputs.flatMap((x) => fString(1, x)),
      ...n.outputs.flatMap((x) => fString(2, x)),
      ...fString(3, `n${i}_${n.op}`),
      ...fString(4, n.op),
      ...Object.entries(n.attrs ?? {}).flatMap(([k, a]) => fBytes(5, attribute(k, a)))
    ])
  )
  const graph = [
    ...nodes,
    ...fString(2, 'g'),
    ...g.inits.flatMap((t) => fBytes(5, tensor(t))),
    ...g.inputs.flatMap((io) => fBytes(11, valueInfo(io))),
    ...g.outputs.flatMap((io) => fBytes(12, valueInfo(io)))
  ]
  const model = [...fVarint(1, 8), ...fString(2, 'caption-studio-tests'), ...fBytes(7, graph), ...fBytes(8, [...fString(1, ''), ...fVarint(2, g.opset ?? 14)])]
  return Uint8Array.from(model)
}
