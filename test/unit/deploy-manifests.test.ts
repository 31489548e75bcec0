// deploy/: the worker's Dockerfile and the Kubernetes manifests, parsed with `yaml` (they cannot be applied
// here): kinds and names, the environment the worker really reads (WORKER_ENV, the only names the worker
// command can read), GPU requests, and the KEDA trigger on BullMQ's wait list of the caption queue (the key
// itself is checked against a real Redis in fleet.test.ts).
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { WORKER_ENV } from '../../src/main/cli/commands/worker'
import { BULL_PREFIX, CAPTION_QUEUE } from '../../src/main/fleet/protocol'

const DEPLOY = resolve(__dirname, '../../deploy')
type Doc = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; spec?: any; stringData?: Record<string, string> } // eslint-disable-line @typescript-eslint/no-explicit-any

function manifests(): Doc[] {
  const out: Doc[] = []
  for (const f of readdirSync(join(DEPLOY, 'k8s')).filter((n) => n.endsWith('.yaml')).sort()) {
    for (const d of parseAllDocuments(readFileSync(join(DEPLOY, 'k8s', f), 'utf8'))) {
      expect(d.errors, f).toEqual([])
      out.push(d.toJS() as Doc)
    }
  }
  return out
}

const find = (docs: Doc[], kind: string, name: string): Doc => {
  const d = docs.find((x) => x.kind === kind && x.metadata.name === name)
  expect(d, `${kind}/${name}`).toBeDefined()
  return d!
}

describe('Kubernetes manifests', () => {
  const docs = manifests()

  it('declare Redis, the worker Deployment and its KEDA scaling in one namespace', () => {
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`).sort()).toEqual(
      ['Deployment/caption-worker', 'Namespace/caption-studio', 'ScaledObject/caption-worker', 'Secret/redis-auth', 'Service/redis', 'StatefulSet/redis', 'TriggerAuthentication/redis-auth'].sort()
    )
    for (const d of docs.filter((x) => x.kind !== 'Namespace')) expect(d.metadata.namespace).toBe('caption-studio')
    const redis = find(docs, 'StatefulSet', 'redis')
    expect(redis.spec.template.spec.containers[0].image).toMatch(/^redis:/)
    expect(find(docs, 'Service', 'redis').spec.selector).toEqual(redis.spec.template.metadata.labels)
  })

  it('the worker gets only the environment it reads, the required settings, and a GPU', () => {
    const dep = find(docs, 'Deployment', 'caption-worker')
    expect(dep.spec.selector.matchLabels).toEqual(dep.spec.template.metadata.labels)
    const c = dep.spec.template.spec.containers[0]
    const names = (c.env as { name: string }[]).map((e) => e.name)
    for (const n of names) expect(WORKER_ENV as readonly string[]).toContain(n)
    expect(names).toEqual(expect.arrayContaining(['STUDIO_REDIS', 'STUDIO_ROOTS', 'STUDIO_PACK']))
    const roots = (c.env as { name: string; value?: string }[]).find((e) => e.name === 'STUDIO_ROOTS')!.value!
    // the mapped folder is a read-only mount of the container
    const to = roots.split('=')[1]
    expect(c.volumeMounts).toEqual(expect.arrayContaining([expect.objectContaining({ mountPath: to, readOnly: true })]))
    const url = (c.env as { name: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[]).find((e) => e.name === 'STUDIO_REDIS')!.valueFrom!.secretKeyRef
    const secret = find(docs, 'Secret', url.name)
    expect(secret.stringData![url.key]).toMatch(/^redis:\/\/:[^@]+@redis\.caption-studio\.svc:6379\/0$/)
    expect(c.resources.requests['nvidia.com/gpu']).toBe(1)
    expect(c.resources.limits['nvidia.com/gpu']).toBe(1)
    expect(dep.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(25)
  })

  it('KEDA scales the Deployment on the length of BullMQ’s wait list of the caption queue', () => {
    const so = find(docs, 'ScaledObject', 'caption-worker')
    expect(so.apiVersion).toBe('keda.sh/v1alpha1')
    expect(so.spec.scaleTargetRef.name).toBe('caption-worker')
    const [trigger] = so.spec.triggers as { type: string; metadata: Record<string, string>; authenticationRef: { name: string } }[]
    expect(trigger!.type).toBe('redis')
    expect(trigger!.metadata.listName).toBe(`${BULL_PREFIX}:${CAPTION_QUEUE}:wait`)
    expect(trigger!.metadata.address).toBe(`${find(docs, 'Service', 'redis').metadata.name}.caption-studio.svc:6379`)
    expect(Number(trigger!.metadata.listLength)).toBeGreaterThan(0)
    const auth = find(docs, 'TriggerAuthentication', trigger!.authenticationRef.name)
    expect(auth.spec.secretTargetRef[0]).toMatchObject({ parameter: 'password', name: 'redis-auth', key: 'password' })
  })
})

describe('worker Dockerfile', () => {
  const text = readFileSync(join(DEPLOY, 'worker.Dockerfile'), 'utf8')
  it('builds CPU by default, CUDA through ONNXRUNTIME_NODE_INSTALL, and runs the worker command', () => {
    expect(text).toMatch(/^ARG ONNXRUNTIME_NODE_INSTALL=skip$/m)
    expect(text).toMatch(/--onnxruntime-node-install=\$ONNXRUNTIME_NODE_INSTALL/)
    expect(text).toMatch(/^ENTRYPOINT \["node", "\/app\/out\/main\/cli\.js", "worker"\]$/m)
    const envs = [...text.matchAll(/\b(STUDIO_[A-Z_]+)=/g)].map((m) => m[1]!)
    expect(envs.length).toBeGreaterThan(0)
    for (const n of envs) expect(WORKER_ENV as readonly string[]).toContain(n)
  })
})
