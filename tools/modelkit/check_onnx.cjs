// Runs exported ONNX models in onnxruntime-node and compares them with torch outputs written by build_pack.py.
// Usage: node tools/modelkit/check_onnx.cjs CASES.json   (prints one JSON line: [{model, output, maxAbsDiff, maxAbsRef}];
// maxAbsRef = the largest |torch value|, the scale an fp32 rounding error is relative to)
'use strict'
const fs = require('fs')
const path = require('path')
const ort = require(path.join(__dirname, '..', '..', 'node_modules', 'onnxruntime-node'))

function load(spec) {
  const buf = fs.readFileSync(spec.file)
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)
  const data = spec.dtype === 'int64' ? new BigInt64Array(ab) : new Float32Array(ab)
  return new ort.Tensor(spec.dtype, data, spec.shape)
}

async function main() {
  const cases = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'))
  const sessions = new Map()
  const out = []
  for (const c of cases) {
    if (!sessions.has(c.model)) sessions.set(c.model, await ort.InferenceSession.create(c.model))
    const s = sessions.get(c.model)
    const feeds = {}
    for (const [name, spec] of Object.entries(c.inputs)) feeds[name] = load(spec)
    const res = await s.run(feeds)
    for (const [name, spec] of Object.entries(c.outputs)) {
      const got = res[name]
      if (!got) throw new Error(`${c.model}: missing output ${name} (has ${Object.keys(res).join(', ')})`)
      const want = load(spec)
      if (JSON.stringify(got.dims) !== JSON.stringify(want.dims)) throw new Error(`${c.model}: ${name} dims ${got.dims} != ${want.dims}`)
      let m = 0
      let ref = 0
      for (let i = 0; i < want.data.length; i++) {
        m = Math.max(m, Math.abs(got.data[i] - want.data[i]))
        ref = Math.max(ref, Math.abs(want.data[i]))
      }
      out.push({ model: path.basename(c.model), output: name, dims: got.dims, maxAbsDiff: m, maxAbsRef: ref })
    }
  }
  process.stdout.write(JSON.stringify(out) + '\n')
}
main().catch((e) => {
  console.error(e)
  process.exit(1)
})
