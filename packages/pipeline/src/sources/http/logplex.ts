/**
 * Heroku HTTPS log drains (`Content-Type: application/logplex-1`). The body is octet-counted frames
 * (`LEN SP MSG`, RFC 6587) back to back; each MSG has an RFC 5424 header without structured data:
 * `<PRI>1 TIMESTAMP HOST APP PROCID MSGID MSG`, for Heroku Postgres
 * `<134>1 2019-03-14T00:22:56+00:00 host app postgres.4882 - [GREEN] [15-1]  sql_error_code = 28000 FATAL:  …`.
 * A PostgreSQL frame (PROCID `postgres.<pid>`) becomes the line `heroku logs` prints, which pglog's
 * syslog format reads (`TIMESTAMP APP[PROCID]: MSG`). A drain carries every dyno of the app (router,
 * web.1, heroku-postgres metrics): those frames are no PostgreSQL server log and are only counted.
 */
export interface LogplexBody {
  lines: string[]
  /** Frames of other processes than PostgreSQL. */
  skipped: number
}

const HEADER = /^<\d{1,3}>1 (\S+) \S+ (\S+) (\S+) \S+(?: |$)/

/** Throws an Error with a one-line reason for a body that is not logplex framing. */
export function logplexBody(body: Buffer, msgCount: string | undefined): LogplexBody {
  const lines: string[] = []
  let skipped = 0
  let frames = 0
  let i = 0
  while (i < body.length) {
    const c = body[i]
    if (c === 0x0a || c === 0x0d) {
      i++
      continue
    }
    let k = i
    while (k < body.length && k - i < 10 && body[k] >= 0x30 && body[k] <= 0x39) k++
    if (k === i || body[k] !== 0x20) throw new Error(`logplex frame ${frames + 1} does not start with its length (LEN SP MSG)`)
    const len = Number(body.toString('latin1', i, k))
    if (k + 1 + len > body.length) throw new Error(`logplex frame ${frames + 1} promises ${len} bytes, ${body.length - k - 1} are left in the body`)
    const msg = body.toString('utf8', k + 1, k + 1 + len).replace(/[\r\n]+$/, '')
    i = k + 1 + len
    frames++
    const m = HEADER.exec(msg)
    if (!m) throw new Error(`logplex frame ${frames} has no RFC 5424 header (<PRI>1 TIMESTAMP HOST APP PROCID MSGID)`)
    const [head, time, app, procid] = m
    if (!/^postgres\.\d+$/.test(procid)) {
      skipped++
      continue
    }
    lines.push(`${time} ${app}[${procid}]: ${msg.slice(head.length)}`)
  }
  if (msgCount !== undefined && Number(msgCount) !== frames)
    throw new Error(`the body has ${frames} logplex frames, Logplex-Msg-Count says ${msgCount}`)
  return { lines, skipped }
}
