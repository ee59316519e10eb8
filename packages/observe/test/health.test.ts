import { afterEach, describe, expect, it } from 'vitest'
import { type HealthReport, healthListenFromEnv, Metrics, startHealthServer } from '../src/index.js'

const servers: { close(): Promise<void> }[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

describe('startHealthServer', () => {
  it('serves /healthz with 200 for ok and degraded, 503 for down, and /metrics', async () => {
    const metrics = new Metrics({ process: false })
    metrics.counter('records_in_total', 'Records in.').inc(7)
    let report: HealthReport = { status: 'ok' }
    const s = await startHealthServer({ port: 0, host: '127.0.0.1', metrics, health: () => report })
    servers.push(s)
    const base = `http://127.0.0.1:${s.port}`

    let res = await fetch(`${base}/healthz`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok' })

    report = { status: 'degraded', details: { kafka: 'broker unreachable, retrying' } }
    res = await fetch(`${base}/healthz`)
    expect(res.status).toBe(200)
    expect(((await res.json()) as HealthReport).status).toBe('degraded')

    report = { status: 'down' }
    expect((await fetch(`${base}/healthz`)).status).toBe(503)

    res = await fetch(`${base}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4')
    expect(await res.text()).toContain('records_in_total 7\n')

    expect((await fetch(`${base}/nope`)).status).toBe(404)
  })

  it('reports down when the health callback throws', async () => {
    const s = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      metrics: new Metrics({ process: false }),
      health: () => {
        throw new Error('store unreachable')
      },
    })
    servers.push(s)
    const res = await fetch(`http://127.0.0.1:${s.port}/healthz`)
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({ status: 'down', details: { error: 'store unreachable' } })
  })

  it('says which address it could not bind', async () => {
    const a = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      metrics: new Metrics(),
      health: () => ({ status: 'ok' }),
    })
    servers.push(a)
    await expect(
      startHealthServer({ port: a.port, host: '127.0.0.1', metrics: new Metrics(), health: () => ({ status: 'ok' }) }),
    ).rejects.toThrow(`cannot listen on 127.0.0.1:${a.port}: EADDRINUSE`)
  })
})

describe('healthListenFromEnv', () => {
  it('defaults to 0.0.0.0:9464 and validates CONNRCA_HEALTH_PORT', () => {
    expect(healthListenFromEnv({})).toEqual({ port: 9464, host: '0.0.0.0' })
    expect(healthListenFromEnv({ CONNRCA_HEALTH_PORT: '9100', CONNRCA_HEALTH_HOST: '127.0.0.1' })).toEqual({
      port: 9100,
      host: '127.0.0.1',
    })
    expect(() => healthListenFromEnv({ CONNRCA_HEALTH_PORT: 'http' })).toThrow('CONNRCA_HEALTH_PORT: expected a port')
  })
})
