// Electron main process. [Note: IPC trust] Every operation is registered through `registerOperations`, one
// channel per public operation (`studio:<op>`). The wrapper refuses any sender that is not the main frame of our
// window loaded from `studio://app/`, then dispatches through the contract (input and output validated).
import { ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron'
import { PUBLIC_OP_NAMES } from '@shared/contract'
import { StudioError, toEnvelope } from '@shared/errors'
import type { Services } from '../services/services'
import { isTrustedSenderFacts } from './trust'

export function isTrustedSender(event: IpcMainInvokeEvent, expected: () => WebContents | null): boolean {
  const frame = event.senderFrame
  return isTrustedSenderFacts({
    senderId: event.sender.id,
    expectedId: expected()?.id ?? null,
    isMainFrame: frame !== null && frame === event.sender.mainFrame,
    frameUrl: frame?.url ?? null
  })
}

export function registerOperations(services: Services, expected: () => WebContents | null): void {
  // [Note: contract tiers] internal operations get no channel at all.
  for (const op of PUBLIC_OP_NAMES) {
    ipcMain.handle(`studio:${op}`, async (event, input: unknown) => {
      if (!isTrustedSender(event, expected)) {
        return { ok: false, error: new StudioError('unauthorized', 'IPC from an untrusted frame').toEnvelope() }
      }
      try {
        return { ok: true, result: await services.call(op, input) }
      } catch (err) {
        return { ok: false, error: toEnvelope(err) }
      }
    })
  }
}
