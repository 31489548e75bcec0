// Engine worker. The real input/output names, element types and shapes of ONNX files, read from ONNX Runtime
// sessions (the pack builder never assumes an exporter's names: [Note: hub assembly]).
import * as ort from 'onnxruntime-node'
import { StudioError } from '@shared/errors'

export interface TensorIo {
  name: string
  type: string
  shape: (number | string)[]
}

export interface ModelIo {
  file: string
  inputs: TensorIo[]
  outputs: TensorIo[]
}

function io(meta: readonly ort.InferenceSession.ValueMetadata[] | undefined, names: readonly string[]): TensorIo[] {
  return names.map((name) => {
    const m = meta?.find((x) => x.name === name)
    if (!m || !m.isTensor) return { name, type: 'unknown', shape: [] }
    return { name, type: m.type, shape: (m.shape as readonly (number | string)[]).map((d) => (typeof d === 'number' && d > 0 ? d : typeof d === 'string' && d ? d : 'dynamic')) }
  })
}

export async function inspectModels(files: readonly string[]): Promise<ModelIo[]> {
  const out: ModelIo[] = []
  for (const file of files) {
    let session: ort.InferenceSession
    try {
      session = await ort.InferenceSession.create(file, { executionProviders: ['cpu'], intraOpNumThreads: 1, graphOptimizationLevel: 'disabled' })
    } catch (err) {
      throw new StudioError('model_error', `${file} is not a loadable ONNX model: ${(err as Error).message.slice(0, 300)}`)
    }
    try {
      out.push({ file, inputs: io(session.inputMetadata, session.inputNames), outputs: io(session.outputMetadata, session.outputNames) })
    } finally {
      await session.release()
    }
  }
  return out
}
