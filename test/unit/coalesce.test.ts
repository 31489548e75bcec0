import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { coalesce } from '../../src/shared/coalesce'

describe('coalesce', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('runs a burst of requests once, after the first request’s delay, then takes new requests again', () => {
    const run = vi.fn()
    const c = coalesce(run, 100)
    c.request()
    vi.advanceTimersByTime(60)
    c.request()
    c.request(10)
    vi.advanceTimersByTime(39)
    expect(run).not.toHaveBeenCalled()
    vi.advanceTimersByTime(1)
    expect(run).toHaveBeenCalledTimes(1)
    c.request(5)
    vi.advanceTimersByTime(5)
    expect(run).toHaveBeenCalledTimes(2)
  })

  it('cancel drops the pending run, and a later request schedules afresh', () => {
    const run = vi.fn()
    const c = coalesce(run, 50)
    c.request()
    c.cancel()
    vi.advanceTimersByTime(100)
    expect(run).not.toHaveBeenCalled()
    c.request()
    vi.advanceTimersByTime(50)
    expect(run).toHaveBeenCalledTimes(1)
  })
})
