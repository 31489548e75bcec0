// Electron main process. The hardened window: context isolation, sandbox, no node integration, no remote
// content, navigation and window.open blocked, every permission request denied.
import { preloadPath } from '../paths'
import { BrowserWindow, session, shell, app } from 'electron'
import { APP_ORIGIN } from './protocol'
import { isAppUrl } from './trust'

export function hardenSessionAndContents(): void {
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false))
  session.defaultSession.webRequest.onBeforeRequest((details, callback) => {
    const ok = /^(studio|devtools|data|blob):/.test(details.url)
    callback({ cancel: !ok })
  })
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (e, url) => {
      if (!isAppUrl(url)) e.preventDefault()
    })
    contents.on('will-redirect', (e, url) => {
      if (!isAppUrl(url)) e.preventDefault()
    })
    contents.on('will-attach-webview', (e) => e.preventDefault())
    contents.setWindowOpenHandler(({ url }) => {
      // External https links open in the user's browser; nothing opens inside the app.
      if (/^https:\/\//.test(url)) void shell.openExternal(url)
      return { action: 'deny' }
    })
  })
}

export function createMainWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1400,
    height: 900,
    show: false,
    title: 'Caption Studio',
    backgroundColor: '#1e1f22',
    webPreferences: {
      preload: preloadPath(),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
      spellcheck: true
    }
  })
  win.once('ready-to-show', () => win.show())
  void win.loadURL(`${APP_ORIGIN}/index.html`)
  return win
}
