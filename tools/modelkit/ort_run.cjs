// Runs one ONNX model in onnxruntime-node over a large batch, in chunks, and writes its outputs as raw float32.
// Used by train_pcm.py to get the features the engine itself computes (image tokens, text embeddings) from the
// pack's exported encoders. Usage: node tools/modelkit/ort_run.cjs SPEC.json
// SPEC: { "model": path, "rows": N, "chunk": 500,
//         "inputs": { name: { "file", "dtype": "float32"|"int64", "shape": [N, …] }
//                   | { "pixelsU8": file, "shape": [N, H, W, 3], "mean": [3], "std": [3] } },  // → NCHW float32
//         "outputs": { name: file } }   prints one JSON line { rows, seconds }
'use strict'
const fs = require('fs')
const path = require('path')
const ort = require(path.join(__dirname, '..', '..', 'node_modules', 'onnxruntime-node'))

function rowSize(shape) {
  return shape.slice(1).reduce((a, b) => a * b, 1)
}

function slice(spec, fd, from, n) {
  if (spec.pixelsU8) {
    const [, H, W, C] = spec.shape
    const per = H * W * C
    const buf = Buffer.alloc(n * per)
    fs.readSync(fd, buf, 0, n * per, from * per)
    const out = new Float32Array(n * C * H * W)
    for (let b = 0; b < n; b++)
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++)
          for (let c = 0; c < C; c++) out[((b * C + c) * H + y) * W + x] = (buf[b * per + (y * W + x) * C + c] / 255 - spec.mean[c]) / spec.std[c]
    return new ort.Tensor('float32', out, [n, C, H, W])
  }
  const per = rowSize(spec.shape)
  const bytes = spec.dtype === 'int64' ? 8 : 4
  const buf = Buffer.alloc(n * per * bytes)
  fs.readSync(fd, buf, 0, n * per * bytes, from * per * bytes)
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)
  return new ort.Tensor(spec.dtype, spec.dtype === 'int64' ? new BigInt64Array(ab) : new Float32Array(ab), [n, ...spec.shape.slice(1)])
}

async function main() {
  const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'))
  const t0 = Date.now()
  const session = await ort.InferenceSession.create(spec.model, { intraOpNumThreads: 1, interOpNumThreads: 1 })
  const fds = Object.fromEntries(Object.entries(spec.inputs).map(([k, s]) => [k, fs.openSync(s.pixelsU8 ?? s.file, 'r')]))
  const outs = Object.fromEntries(Object.entries(spec.outputs).map(([k, f]) => [k, fs.openSync(f, 'w')]))
  const chunk = spec.chunk ?? 500
  for (let from = 0; from < spec.rows; from += chunk) {
    const n = Math.min(chunk, spec.rows - from)
    const feeds = {}
    for (const [k, s] of Object.entries(spec.inputs)) feeds[k] = slice(s, fds[k], from, n)
    const res = await session.run(feeds, Object.keys(spec.outputs))
    for (const [k, fd] of Object.entries(outs)) {
      const d = res[k].data
      fs.writeSync(fd, Buffer.from(d.buffer, d.byteOffset, d.byteLength))
    }
  }
  for (const fd of [...Object.values(fds), ...Object.values(outs)]) fs.closeSync(fd)
  process.stdout.write(JSON.stringify({ rows: spec.rows, seconds: (Date.now() - t0) / 1000 }) + '\n')
}
main().catch((e) => {
  console.error(e)
  process.exit(1)
})
