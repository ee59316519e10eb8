// Regression found by the hostile suite: time points and steps beyond ±2^53 ms used to pass the
// query schema and reach the store, whose client refused them: a 500 instead of a 400.

import { createApiServer } from '@connrca/service-api'
import { openStore, type Store } from '@connrca/store'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { request, tmpDir } from './support.js'

let store: Store
let api: ReturnType<typeof createApiServer>
let base: string

beforeAll(async () => {
  store = await openStore({ dataDir: tmpDir('connrca-hostile-range-') })
  await store.migrate()
  api = createApiServer({ store, config: { port: 0 }, onError: () => {} })
  base = (await api.listen()).url
}, 120_000)
afterAll(async () => {
  await api?.close()
  await store?.close()
})

for (const q of [
  '/api/v1/failures?to=99999999999999999999999',
  '/api/v1/failures?step=99999999999999999999999',
  '/api/v1/failure-ratio?to=now-99999999w',
  '/api/v1/top?to=99999999999999999999999',
  '/api/v1/rca?to=now-99999999w',
]) {
  it(`${q} is a 400 naming the parameter, not a 500`, async () => {
    const r = await request(base + q)
    expect(r.status, r.text).toBe(400)
    expect(r.json?.error?.message).toMatch(/query\.(to|step)/)
  })
}
