import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseConfig } from '@connrca/contracts'
import { afterAll, expect, it } from 'vitest'
import { startApiService } from '../src/index.js'

const dir = mkdtempSync(path.join(tmpdir(), 'connrca-api-svc-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

it('starts on a fresh store from connrca.yaml settings and answers with empty data', async () => {
  const config = parseConfig(
    { store: { dataDir: dir }, api: { port: 0 }, pipeline: { window: '1m' } },
    { CONNRCA_API_TOKEN: 'service-token-0123456789' },
  )
  const svc = await startApiService(config)
  try {
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200)
    const auth = { authorization: 'Bearer service-token-0123456789' }
    const res = await fetch(`${svc.url}/api/v1/failures?from=now-1h`, { headers: auth })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { step: number; total: number; series: unknown[] }
    expect(body.step).toBe(60_000) // never finer than the configured window
    expect(body.total).toBe(0)
    expect(body.series).toEqual([])
  } finally {
    await svc.close()
  }
})

it('refuses a reachable bind without a token before opening anything', async () => {
  const config = parseConfig({ store: { dataDir: dir }, api: { host: '0.0.0.0', port: 0 } })
  await expect(startApiService(config)).rejects.toThrow(/api.host: 0.0.0.0 is not loopback/)
})
