// Electron main process entry: a thin shell around the plain-Node services (the same ones serve and the
// CLI use). It owns the window, the IPC bridge and the studio:// protocol, nothing else.
import { rendererDir } from '../paths'
import { app, BrowserWindow } from 'electron'
import { createServices, type Services } from '../services/services'
import { utilityProcessTransport } from './engine-process'
import { registerOperations } from './ipc'
import { handleProtocol, registerSchemePrivileges } from './protocol'
import { createMainWindow, hardenSessionAndContents } from './window'

registerSchemePrivileges()
app.enableSandbox()

let services: Services | null = null
let win: BrowserWindow | null = null

if (!app.requestSingleInstanceLock()) app.quit()

app.whenReady().then(() => {
  const dataDir = process.env.STUDIO_DATA_DIR ?? app.getPath('userData')
  // [Note: crash isolation] inference runs in a utility process: an ONNX Runtime crash cannot end this one
  services = createServices(dataDir, 'electron', { engineTransport: utilityProcessTransport })
  hardenSessionAndContents()
  handleProtocol(services, rendererDir())
  registerOperations(services, () => win?.webContents ?? null)
  services.ctx.subscribe((event) => {
    if (win && !win.isDestroyed()) win.webContents.send('studio:event', event)
  })
  win = createMainWindow()
  win.on('closed', () => (win = null))
}).catch((err: unknown) => {
  process.stderr.write(`Caption Studio failed to start: ${(err as Error).message}\n`)
  app.exit(1)
})

app.on('second-instance', () => win?.focus())
app.on('window-all-closed', () => {
  void services?.close().finally(() => app.quit())
})
