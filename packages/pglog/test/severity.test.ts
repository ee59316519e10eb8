import { describe, expect, it } from 'vitest'
import { severityAt, severityOf, WORDS } from '../src/severity.js'

describe('severityAt (the word read in place) agrees with severityOf', () => {
  it('for every severity word and for near misses', () => {
    const words = Object.keys(WORDS)
    expect(words.length).toBeGreaterThan(20)
    const near = words.flatMap((w) => [w.slice(1), w.slice(0, -1), `${w}X`, w.toLowerCase(), `X${w}`])
    for (const w of [...words, ...near, '', 'DEBUG0', 'DEBUG6', '__proto__', 'toString', 'LOGX']) {
      expect(severityAt(`,${w},`, 1, 1 + w.length), w).toBe(severityOf(w))
    }
  })
})
