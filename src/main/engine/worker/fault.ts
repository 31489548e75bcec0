// Engine process side. [Note: engine faults] (../client/protocol.ts) Test-only fault injection: when an armed
// fault matches the request the engine is about to run, the engine aborts the way a native ONNX Runtime
// crash does (`process.abort()`: SIGABRT, no cleanup, no answer) or hangs (its thread blocks in
// Atomics.wait: no answers, no progress, no CPU burnt) until the host's supervisor kills it. Only a host's
// engine.testFault (serve --test-ops) arms one; a worker-thread engine must not be sent `abort` (it would
// end the host: that is what the process transports exist to prevent).
import type { EngineRequest, FaultSpec } from '../client/protocol'

/** Requests the supervisor needs answered to observe and steer the engine: never faulted. */
const CONTROL = new Set<EngineRequest['type']>(['status', 'close', 'setRealignment', 'open'])

/** The image files a request reads. */
function requestFiles(req: EngineRequest): string[] {
  switch (req.type) {
    case 'caption':
      return req.args.inputs.map((i) => i.file)
    case 'embedImages':
      return req.args.files
    case 'vqa':
    case 'regionSimilarity':
    case 'score':
      return [req.args.file]
    case 'gap':
    case 'fitRealignment':
      return req.args.pairs.map((p) => p.file)
    default:
      return []
  }
}

export function faultMatches(spec: FaultSpec | null, req: EngineRequest): boolean {
  if (!spec || CONTROL.has(req.type)) return false
  const suffix = spec.file
  return suffix === undefined || requestFiles(req).some((f) => f.endsWith(suffix))
}

export function triggerFault(spec: FaultSpec): void {
  process.stderr.write(`engine: test fault "${spec.kind}" triggered\n`)
  if (spec.kind === 'abort') process.abort()
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)
}
