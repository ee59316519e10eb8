import { describe, expect, it } from 'vitest'
import { renderWhy } from '../src/why/report.js'

describe('connrca why text', () => {
  it('says "1 failure" and "1 incident" in the singular', () => {
    const text = renderWhy({
      from: Date.UTC(2026, 2, 2),
      to: Date.UTC(2026, 2, 3),
      causes: [
        { server: 'orders-prod', category: 'auth_fail', failures: 1, incidents: 1, clients: [], steps: [] },
        { server: 'orders-prod', category: 'network', failures: 2, incidents: 0, clients: [], steps: [] },
      ],
    })
    expect(text).toContain('1. auth_fail on orders-prod: 1 failure, 1 incident')
    expect(text).toContain('2. network on orders-prod: 2 failures, no incident')
  })
})
