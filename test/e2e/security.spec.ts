// E2E security (serve mode): no token, wrong token, traversal, foreign origin — all refused.
import { expect, test } from './fixtures'

test('requests without the token are refused', async ({ request, serve }) => {
  expect((await request.get(`${serve.url}/`)).status()).toBe(401)
  expect((await request.post(`${serve.url}/api/library.listRoots`, { data: {} })).status()).toBe(401)
  expect((await request.get(`${serve.url}/?token=not-the-token`)).status()).toBe(401)
  expect((await request.get(`${serve.url}/media/image/1`)).status()).toBe(401)
})

test('traversal and odd media paths are refused even with the token', async ({ request, serve }) => {
  const headers = { authorization: `Bearer ${serve.token}` }
  for (const p of ['/media/image/..%2F..%2F..%2Fetc%2Fpasswd', '/media/thumb/%2e%2e%2f%2e%2e%2fetc%2fpasswd', '/media/image/1?path=/etc/passwd', '/assets/..%2F..%2F..%2Fetc%2Fpasswd']) {
    const r = await request.get(`${serve.url}${p}`, { headers })
    expect(r.status(), p).toBeGreaterThanOrEqual(400)
    expect(await r.text()).not.toContain('root:')
  }
})

test('cross-origin API calls are refused', async ({ request, serve }) => {
  const r = await request.post(`${serve.url}/api/library.addRoot`, { headers: { authorization: `Bearer ${serve.token}`, origin: 'http://evil.example' }, data: { path: '/' } })
  expect(r.status()).toBe(403)
})
