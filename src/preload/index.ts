// Preload (sandboxed renderer context). [Note: narrow preload] Exposes ONE object, `window.studio`, with one
// function per contract operation and `onEvent`, which returns a disposer and never passes the Electron
// event object. Raw ipcRenderer is never exposed.
import { contextBridge, ipcRenderer } from 'electron'
import { PUBLIC_OP_NAMES } from '@shared/contract'

type Reply = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } }

const api: Record<string, unknown> = {}
for (const op of PUBLIC_OP_NAMES) {
  api[op] = (input: unknown): Promise<Reply> => ipcRenderer.invoke(`studio:${op}`, input) as Promise<Reply>
}
api.onEvent = (listener: (event: unknown) => void): (() => void) => {
  const wrapped = (_e: unknown, payload: unknown) => listener(payload)
  ipcRenderer.on('studio:event', wrapped)
  return () => ipcRenderer.removeListener('studio:event', wrapped)
}

contextBridge.exposeInMainWorld('studio', Object.freeze(api))
