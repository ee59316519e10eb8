import dgram from 'node:dgram'
import { existsSync, readFileSync } from 'node:fs'
import net from 'node:net'
import { dirname, resolve } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import type { LogRecord } from '@connrca/contracts'
import { createParser } from '@connrca/pglog'
import { afterEach, describe, expect, it } from 'vitest'
import { createSource, type HttpPushSource, type Source, type SyslogListener } from '../../src/sources/index.js'
import { Collector, pgLine, sleep, waitFor } from './helpers.js'

const live: Source[] = []
afterEach(async () => {
  await Promise.all(live.splice(0).map((s) => s.stop()))
})

const PREFIX = 'user=%u,db=%d,client=%h '

function sendUdp(port: number, msgs: string[]): Promise<void> {
  const sock = dgram.createSocket('udp4')
  return new Promise((resolve) => {
    let n = 0
    for (const m of msgs)
      sock.send(m, port, '127.0.0.1', () => {
        if (++n < msgs.length) return
        sock.close()
        resolve()
      })
  })
}

function sendTcp(port: number, payload: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.end(payload))
    s.on('close', () => resolve())
    s.on('error', reject)
  })
}

async function syslogSource(extra: Record<string, unknown> = {}): Promise<{ src: SyslogListener; c: Collector }> {
  const src = createSource({
    type: 'syslog',
    name: 'sl',
    udp: { port: 0 },
    tcp: { port: 0 },
    prefix: PREFIX,
    maxMessageBytes: 2048,
    ...extra,
  } as never) as SyslogListener
  live.push(src)
  const c = new Collector()
  await src.start(c.deliver)
  return { src, c }
}

describe('syslog source', () => {
  it('UDP RFC 3164 with [n-m] chunks arriving out of order and interleaved, mapped host names', async () => {
    const { src, c } = await syslogSource({ hosts: { 'db-7': 'orders-prod' } })
    await sendUdp(src.ports.udp!, [
      '<134>May  1 10:00:01 db-7 postgres[411]: [5-2] user=app,db=orders,client=81.2.69.12 DETAIL:  Connection matched pg_hba.conf line 95: "host all all 0.0.0.0/0 scram-sha-256"',
      '<134>May  1 10:00:01 db-9 postgres[500]: [2-1] user=[unknown],db=[unknown],client=10.1.1.1 LOG:  connection received: host=10.1.1.1 port=5000',
      '<134>May  1 10:00:01 db-7 postgres[411]: [5-1] user=app,db=orders,client=81.2.69.12 FATAL:  password authentication failed for user "app"',
    ])
    await waitFor(() => c.records.length === 2, 'two records')
    const fatal = c.records.find((r) => r.severity === 'FATAL')!
    expect(fatal.server).toBe('orders-prod')
    expect(fatal.detail).toContain('pg_hba.conf line 95')
    expect(fatal.clientIp).toBe('81.2.69.12')
    expect(c.records.find((r) => r.severity === 'LOG')!.server).toBe('db-9')
  })

  it('TCP octet-counted and newline-framed RFC 5424, malformed and oversized frames dead-lettered', async () => {
    const { src, c } = await syslogSource()
    const m1 =
      '<134>1 2024-05-01T10:00:02.250Z db-1 postgres 77 - - [1-1] user=a,db=b,client=1.2.3.4 FATAL:  no pg_hba.conf entry for host "1.2.3.4", user "a", database "b", SSL off'
    const m2 =
      '<134>1 2024-05-01T10:00:03Z db-1 postgres 78 - [meta x="1"] [1-1] user=a,db=b,client=1.2.3.5 LOG:  connection authorized: user=a database=b'
    const big = `<134>May  1 10:00:04 db-1 postgres[79]: [1-1] user=a,db=b,client=1.2.3.6 LOG:  ${'x'.repeat(5000)}`
    const framed = `${Buffer.byteLength(m1)} ${m1}${Buffer.byteLength(big)} ${big}${m2}\nthis is not syslog\n`
    await sendTcp(src.ports.tcp!, framed)
    await waitFor(() => c.records.length === 2 && c.deadLetters.length === 2, 'two records, two dead letters')
    const r1 = c.records.find((r) => r.pid === 77)!
    expect(r1.time).toBe(Date.parse('2024-05-01T10:00:02.250Z'))
    expect(r1.server).toBe('db-1')
    expect(c.deadLetters.map((d) => d.reason).join('|')).toMatch(/exceeds the limit.*\|.*not a syslog message/)
    expect(new Set([...c.records, ...c.deadLetters].map((x) => x.id)).size).toBe(4)
  })

  it('keeps ids unique across restarts (positions continue past the checkpoint)', async () => {
    const a = await syslogSource()
    await sendUdp(a.src.ports.udp!, [
      '<134>May  1 10:00:01 h postgres[1]: [1-1] user=a,db=b,client=c LOG:  connection received: host=c port=1',
    ])
    await waitFor(() => a.c.records.length === 1, 'first')
    await sleep(300)
    const cp = a.src.checkpoint()
    await a.src.stop()
    const b = createSource({ type: 'syslog', name: 'sl', udp: { port: 0 }, prefix: PREFIX } as never) as SyslogListener
    live.push(b)
    const c2 = new Collector()
    await b.start(c2.deliver, cp)
    await sendUdp(b.ports.udp!, [
      '<134>May  1 10:00:01 h postgres[1]: [1-1] user=a,db=b,client=c LOG:  connection received: host=c port=1',
    ])
    await waitFor(() => c2.records.length === 1, 'second')
    expect(c2.records[0].id).not.toBe(a.c.records[0].id)
    expect(Number(c2.records[0].source.position)).toBeGreaterThanOrEqual((cp as { next: number }).next)
  })
})

async function httpSource(
  extra: Record<string, unknown> = {},
): Promise<{ src: HttpPushSource; c: Collector; url: string }> {
  const src = createSource({
    type: 'http',
    name: 'push',
    port: 0,
    token: 's3cret',
    format: 'stderr',
    prefix: '%m [%p] ',
    maxBodyBytes: 4096,
    ...extra,
  } as never) as HttpPushSource
  live.push(src)
  const c = new Collector()
  await src.start(c.deliver)
  return { src, c, url: `http://127.0.0.1:${src.port}/v1/logs` }
}

describe('http source', () => {
  it('accepts text and NDJSON, answers 202 only after downstream accepted the records', async () => {
    const { c, url } = await httpSource()
    c.hold()
    const pending = fetch(`${url}?server=orders-prod`, {
      method: 'POST',
      headers: { authorization: 'Bearer s3cret', 'content-type': 'text/plain' },
      body: pgLine(1) + pgLine(2),
    })
    const early = await Promise.race([pending.then(() => 'answered'), sleep(400).then(() => 'waiting')])
    expect(early).toBe('waiting')
    c.release()
    const res = await pending
    expect(res.status).toBe(202)
    expect(await res.json()).toEqual({ accepted: 2, deadLetters: 0 })
    expect(c.records.map((r) => r.server)).toEqual(['orders-prod', 'orders-prod'])

    const nd = await fetch(url, {
      method: 'POST',
      headers: {
        authorization: 'Bearer s3cret',
        'content-type': 'application/x-ndjson',
        'x-connrca-server': 'billing',
      },
      body: `${JSON.stringify({ message: pgLine(3).trimEnd() })}\n${JSON.stringify({ log: pgLine(4).trimEnd(), host: 'ignored' })}\n`,
    })
    expect(nd.status).toBe(202)
    expect(c.records.slice(2).map((r) => r.server)).toEqual(['billing', 'billing'])
  })

  it('refuses bad tokens (401), oversized bodies (413), bad JSON and formats (400) with a JSON error', async () => {
    const { c, url } = await httpSource()
    const post = (headers: Record<string, string>, body: string, q = '') =>
      fetch(url + q, { method: 'POST', headers: { 'content-type': 'text/plain', ...headers }, body })
    const noAuth = await post({}, pgLine(1))
    expect(noAuth.status).toBe(401)
    expect(((await noAuth.json()) as { error: string }).error).toMatch(/bearer token/)
    expect((await post({ authorization: 'Bearer wrong!' }, pgLine(1))).status).toBe(401)
    const big = await post({ authorization: 'Bearer s3cret' }, pgLine(1).repeat(100))
    expect(big.status).toBe(413)
    expect(((await big.json()) as { error: string }).error).toMatch(/exceeds the limit of 4096/)
    const badJson = await post(
      { authorization: 'Bearer s3cret', 'content-type': 'application/x-ndjson' },
      '{"message": "x"}\n{oops\n',
    )
    expect(badJson.status).toBe(400)
    expect(((await badJson.json()) as { error: string }).error).toBe('line 2 is not valid JSON')
    const badFormat = await post({ authorization: 'Bearer s3cret' }, pgLine(1), '?format=xml')
    expect(badFormat.status).toBe(400)
    expect(c.records.length).toBe(0)
  })

  it("lines whose prefix has no timestamp (user=%u,db=%d,app=%a,client=%h) take the request's arrival time", async () => {
    const { c, url } = await httpSource({ prefix: 'user=%u,db=%d,app=%a,client=%h ' })
    const before = Date.now()
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: 'Bearer s3cret', 'content-type': 'text/plain' },
      body: 'user=alice,db=shop,app=psql,client=10.0.0.9 FATAL:  password authentication failed for user "alice"\n',
    })
    expect(res.status).toBe(202)
    expect(await res.json()).toEqual({ accepted: 1, deadLetters: 0 })
    expect(c.records[0]).toMatchObject({ user: 'alice', clientIp: '10.0.0.9', severity: 'FATAL' })
    expect(c.records[0].time).toBeGreaterThanOrEqual(before)
    expect(c.records[0].time).toBeLessThanOrEqual(Date.now())
  })

  it('decodes Content-Encoding gzip/deflate (Vector, Fluent Bit) within the body limit; the bearer scheme in any case', async () => {
    const { gzipSync, deflateSync } = await import('node:zlib')
    const { c, url } = await httpSource()
    const post = (headers: Record<string, string>, body: Buffer | string) =>
      fetch(`${url}?server=orders-prod`, {
        method: 'POST',
        headers: { authorization: 'Bearer s3cret', 'content-type': 'text/plain', ...headers },
        body,
      })
    const gz = await post({ 'content-encoding': 'gzip' }, gzipSync(pgLine(1) + pgLine(2)))
    expect(gz.status).toBe(202)
    expect(await gz.json()).toEqual({ accepted: 2, deadLetters: 0 })
    const df = await post({ 'content-encoding': 'deflate', authorization: 'bearer s3cret' }, deflateSync(pgLine(3)))
    expect(df.status).toBe(202)
    expect((await post({ authorization: 'BEARER  s3cret' }, pgLine(4))).status).toBe(202)
    expect(c.records.map((r) => r.message.length > 0)).toEqual([true, true, true, true])
    // 1 MB of zeros compresses to ~1 KB: refused once it expands past the 4096-byte limit
    const bomb = await post({ 'content-encoding': 'gzip' }, gzipSync(Buffer.alloc(1 << 20)))
    expect(bomb.status).toBe(413)
    expect(((await bomb.json()) as { error: string }).error).toMatch(/once decompressed/)
    const broken = await post({ 'content-encoding': 'gzip' }, pgLine(5))
    expect(broken.status).toBe(400)
    const br = await post({ 'content-encoding': 'br' }, pgLine(5))
    expect(br.status).toBe(415)
    expect(c.records.length).toBe(4)
  })

  it('a retried body with the same Idempotency-Key gets the same ids', async () => {
    const { c, url } = await httpSource()
    for (let i = 0; i < 2; i++) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { authorization: 'Bearer s3cret', 'idempotency-key': 'batch-42' },
        body: pgLine(1) + pgLine(2),
      })
      expect(res.status).toBe(202)
    }
    expect(c.records.length).toBe(4)
    expect(new Set(c.records.map((r) => r.id)).size).toBe(2)
    const other = await fetch(url, { method: 'POST', headers: { authorization: 'Bearer s3cret' }, body: pgLine(1) })
    expect(other.status).toBe(202)
    expect(new Set(c.records.map((r) => r.id)).size).toBe(3)
  })
})

describe('http source: Heroku HTTPS log drains (application/logplex-1)', () => {
  // Heroku's frames: an RFC 5424 header without structured data, the dyno as PROCID
  const frame = (msg: string) => `${Buffer.byteLength(msg)} ${msg}`
  const pg = (pid: number, text: string) => frame(`<134>1 2019-03-14T00:22:56.5+00:00 host app postgres.${pid} - ${text}`)
  const frames = [
    pg(4882, '[GREEN] [15-1]  sql_error_code = 28P01 FATAL:  password authentication failed for user "u1"'),
    frame('<158>1 2019-03-14T00:22:56+00:00 host heroku router - at=info method=GET path="/" status=200'),
    pg(4883, '[GREEN] [16-1]  sql_error_code = 28000 FATAL:  no pg_hba.conf entry for host "10.1.2.3", user "u2", database "d2", SSL off'),
    pg(4883, '[GREEN] [16-2]  sql_error_code = 28000 DETAIL:  more'),
    frame('<134>1 2019-03-14T00:22:57+00:00 host app heroku-postgres - source=DATABASE addon=x sample#current_transaction=1'),
  ]
  const post = (url: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${url}?server=orders-prod`, {
      method: 'POST',
      headers: { authorization: 'Bearer s3cret', 'content-type': 'application/logplex-1', 'logplex-msg-count': '5', ...headers },
      body,
    })

  it("reads the frames back to back, PostgreSQL's with Heroku's prefix (the configured one is another input's), counts other dynos' frames as skipped", async () => {
    const { c, url } = await httpSource()
    const res = await post(url, frames.join(''), { 'logplex-frame-id': '09C557EAFCFB6CF2740EE62F62971098' })
    expect(res.status).toBe(202)
    expect(await res.json()).toEqual({ accepted: 2, deadLetters: 0, skipped: 2 })
    expect(c.deadLetters).toEqual([])
    expect(c.records.map((r) => [r.server, new Date(r.time).toISOString(), r.pid, r.sqlstate, r.severity, r.detail])).toEqual([
      ['orders-prod', '2019-03-14T00:22:56.500Z', 4882, '28P01', 'FATAL', undefined],
      ['orders-prod', '2019-03-14T00:22:56.500Z', 4883, '28000', 'FATAL', 'more'],
    ])
    // Logplex retries a batch with the same Logplex-Frame-Id: same ids. A drain sends its URL's
    // credentials (https://connrca:<token>@host/...) as basic auth
    const basic = (pw: string) => `Basic ${Buffer.from(`connrca:${pw}`).toString('base64')}`
    const retry = await post(url, frames.join(''), { 'logplex-frame-id': '09C557EAFCFB6CF2740EE62F62971098', authorization: basic('s3cret') })
    expect(retry.status).toBe(202)
    expect(c.records).toHaveLength(4)
    expect(new Set(c.records.map((r) => r.id)).size).toBe(2)
    expect((await post(url, frames.join(''), { authorization: basic('wrong!') })).status).toBe(401)
    expect((await post(url, frames.join(''), { authorization: `Basic ${Buffer.from('s3cret').toString('base64')}` })).status).toBe(401)
    // only a drain, which cannot send a Bearer header, may use basic auth
    const text = await fetch(url, { method: 'POST', headers: { authorization: basic('s3cret'), 'content-type': 'text/plain' }, body: pgLine(1) })
    expect(text.status).toBe(401)
    expect(c.records).toHaveLength(4)
  })

  // the team's corpus (shared/real_logs/pgbadger/logplex, Heroku Postgres lines as `heroku logs`
  // or a syslog drain wrote them), next to the checkout
  const corpus = [5, 6]
    .map((up) => resolve(dirname(fileURLToPath(import.meta.url)), `${'../'.repeat(up)}shared/real_logs/pgbadger/logplex`))
    .find(existsSync)
  it.runIf(corpus !== undefined)('a real Heroku Postgres log sent as drain frames gives the records the file gives', async () => {
    const text = readFileSync(corpus!, 'utf8')
    const direct: LogRecord[] = []
    const p = createParser({ format: 'auto', source: { kind: 'file', name: 'logplex' } }, { record: (r) => direct.push(r), deadLetter: (d) => direct.push(d as never) })
    const body: string[] = []
    for (const [i, line] of text.split('\n').entries()) {
      if (line === '') continue
      p.push(line, i)
      const m = /^(\S+) (?:(\S+) )?(\w+)\[([^\]]+)\]:? (.*)$/.exec(line)
      if (!m) throw new Error(`not a logplex line: ${line}`)
      body.push(frame(`<134>1 ${m[1]} ${m[2] ?? 'host'} ${m[3]} ${m[4]} - ${m[5]}`))
    }
    p.flush()
    const { c, url } = await httpSource({ maxBodyBytes: 1 << 20 })
    const res = await post(url, body.join(''), { 'logplex-msg-count': String(body.length) })
    expect(res.status).toBe(202)
    const fields = (r: LogRecord) => [r.time, r.pid, r.severity, r.sqlstate, r.message, r.detail, r.statement]
    expect(direct.length).toBeGreaterThan(5)
    expect(c.deadLetters).toEqual([])
    expect(c.records.map(fields)).toEqual(direct.map(fields))
  })

  it('a body that is not logplex framing, or has another frame count than Logplex-Msg-Count, is refused (400) whole', async () => {
    const { c, url } = await httpSource()
    const errorOf = async (r: Response) => [r.status, ((await r.json()) as { error: string }).error]
    expect(await errorOf(await post(url, frames.slice(0, 4).join('')))).toEqual([400, 'the body has 4 logplex frames, Logplex-Msg-Count says 5'])
    expect(await errorOf(await post(url, `${frames.slice(0, 4).join('')}99 <134>1 short`))).toEqual([400, 'logplex frame 5 promises 99 bytes, 12 are left in the body'])
    expect(await errorOf(await post(url, 'plain text line\n', { 'logplex-msg-count': '1' }))).toEqual([400, 'logplex frame 1 does not start with its length (LEN SP MSG)'])
    expect(await errorOf(await post(url, frame('not syslog'), { 'logplex-msg-count': '1' }))).toEqual([400, 'logplex frame 1 has no RFC 5424 header (<PRI>1 TIMESTAMP HOST APP PROCID MSGID)'])
    expect(c.records).toEqual([])
  })
})

describe('stdin source', () => {
  it('reads a stream to its end; caughtUp resolves after delivery', async () => {
    let text = ''
    for (let i = 0; i < 12_000; i++) text += pgLine(i)
    const src = createSource(
      { type: 'stdin', format: 'stderr', prefix: '%m [%p] ' } as never,
      { stdin: Readable.from([Buffer.from(text)]) } as never,
    )
    live.push(src)
    const c = new Collector()
    await src.start(c.deliver)
    await src.caughtUp()
    expect(c.records.length).toBe(12_000)
    expect(c.batches).toBeGreaterThanOrEqual(3)
    expect(src.checkpoint()).toEqual({ bytes: Buffer.byteLength(text) })
  })

  it('a stream that stays open delivers the records of what it sent so far (jsonlog parses lines in blocks)', async () => {
    const stdin = new PassThrough()
    const src = createSource({ type: 'stdin', format: 'jsonlog' } as never, { stdin } as never)
    live.push(src)
    const c = new Collector()
    await src.start(c.deliver)
    const line = (i: number) =>
      `${JSON.stringify({ timestamp: `2026-03-02 10:00:0${i}.000 UTC`, pid: 100 + i, error_severity: 'FATAL', state_code: '28P01', message: `password authentication failed for user "u${i}"` })}\n`
    stdin.write(line(1) + line(2))
    await waitFor(() => c.records.length === 2, 'the first two records', 3000)
    stdin.write(line(3))
    await waitFor(() => c.records.length === 3, 'the third record', 3000)
    expect(c.records.map((r) => r.pid)).toEqual([101, 102, 103])
    stdin.end()
    await src.caughtUp()
  })
})
