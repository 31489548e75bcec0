// Electron main process. The hardened window: context isolation, sandbox, no node integration, no remote
// content, navigation and window.open blocked, every permission request denied.
import { preloadPath } from '../paths'
import { BrowserWindow, session, app } from 'electron'
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
    // [Note: no external links] Nothing opens a window, inside the app or in the user's browser: the UI has
    // no external links, so the shell.openExternal hand-off it used to have (any https URL the renderer
    // asked for) was only a way for injected content to open a phishing page (Electronegativity
    // OPEN_EXTERNAL_JS_CHECK, docs/security.md).
    contents.setWindowOpenHandler(() => ({ action: 'deny' }))
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
      // middle-click (auxclick) would ask for a new window for a link; the open handler denies it anyway,
      // and the UI has no use for it (Electronegativity AUXCLICK_JS_CHECK)
      disableBlinkFeatures: 'Auxclick',
      spellcheck: true
    }
  })
  win.once('ready-to-show', () => win.show())
  void win.loadURL(`${APP_ORIGIN}/index.html`)
  return win
}
