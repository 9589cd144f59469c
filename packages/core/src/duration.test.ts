import { describe, expect, it } from 'vitest'
import { durationMs } from './duration.js'

describe('durationMs', () => {
  const cases: [string | undefined, number | undefined][] = [
    ['10s', 10_000],
    ['500ms', 500],
    ['1.5s', 1500],
    ['1h30m', 5_400_000],
    ['2m', 120_000],
    [undefined, undefined],
    ['', undefined],
    ['10', undefined],
    ['5x', undefined],
  ]
  for (const [text, want] of cases) it(`${String(text)} → ${want}`, () => expect(durationMs(text)).toBe(want))
})
