import { describe, expect, it } from 'vitest'
import { dispatch, type Handlers } from '../../src/main/services/dispatch'
import { StudioError } from '../../src/shared/errors'

const handlers = {
  'system.info': () => ({ host: 'cli', version: '1', dataDir: '/x', platform: 'linux' }),
  'library.getImage': () => ({ nonsense: true }),
  'captions.accept': (input: { text: string }) => ({ echoed: input.text })
} as unknown as Handlers

describe('dispatch', () => {
  it('runs a handler with validated input and output', async () => {
    await expect(dispatch(handlers, 'system.info', {})).resolves.toMatchObject({ host: 'cli' })
  })
  it('refuses unknown operations', async () => {
    await expect(dispatch(handlers, 'system.rm', {})).rejects.toMatchObject({ code: 'not_found' })
  })
  it('refuses invalid input before the handler runs', async () => {
    const err = await dispatch(handlers, 'library.getImage', { id: 'x' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StudioError)
    expect((err as StudioError).code).toBe('invalid_input')
    expect((err as StudioError).message).toContain('id')
  })
  it('refuses an empty caption (whitespace only) at the boundary', async () => {
    await expect(dispatch(handlers, 'captions.accept', { imageId: 1, text: '   ' })).rejects.toMatchObject({ code: 'invalid_input' })
  })
  it('reports an invalid handler output as internal', async () => {
    await expect(dispatch(handlers, 'library.getImage', { id: 3 })).rejects.toMatchObject({ code: 'internal' })
  })
})
