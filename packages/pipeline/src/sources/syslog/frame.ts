/** One syslog message, header taken apart (RFC 3164 or RFC 5424). */
export interface SyslogMessage {
  host: string
  app: string
  pid?: number
  /** Header time, epoch ms, when the header carries a full date (RFC 5424). */
  time?: number
  /** Header timestamp as RFC 3164 text (`Feb  3 04:05:06`), for the parser's syslog format. */
  stamp: string
  /** The message text after the header (for PostgreSQL: `[seq-chunk] prefix LEVEL:  text`). */
  content: string
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** Takes a syslog line apart; undefined when it is not syslog. A leading `<PRI>` is optional. */
export function parseSyslog(line: string): SyslogMessage | undefined {
  let i = 0
  if (line.charCodeAt(0) === 60 /* < */) {
    const end = line.indexOf('>')
    if (end < 2 || end > 4) return undefined
    for (let k = 1; k < end; k++) if (!isDigit(line.charCodeAt(k))) return undefined
    i = end + 1
  }
  // RFC 5424: VERSION SP TIMESTAMP SP HOST SP APP SP PROCID SP MSGID SP SD [SP MSG]
  if (isDigit(line.charCodeAt(i)) && line.charCodeAt(i + 1) === 32) return parse5424(line, i + 2)
  return parse3164(line, i)
}

function parse5424(line: string, i: number): SyslogMessage | undefined {
  const fields: string[] = []
  for (let n = 0; n < 5; n++) {
    const sp = line.indexOf(' ', i)
    if (sp < 0) return undefined
    fields.push(line.slice(i, sp))
    i = sp + 1
  }
  const [ts, host, app, procid] = fields
  // Structured data: `-` or one or more `[...]` elements (with escaped `]` inside values).
  if (line[i] === '-') i += 1
  else if (line[i] === '[') {
    while (line[i] === '[') {
      let k = i + 1
      while (k < line.length && line[k] !== ']') k += line[k] === '\\' ? 2 : 1
      if (k >= line.length) return undefined
      i = k + 1
    }
  } else return undefined
  if (line[i] === ' ') i++
  // RSYSLOG_SyslogProtocol23Format keeps the message's own leading space: `- -  [5-1] …`
  if (line[i] === ' ' && line[i + 1] === '[') i++
  let content = line.slice(i)
  if (content.charCodeAt(0) === 0xfeff) content = content.slice(1)
  const time = ts === '-' ? undefined : Date.parse(ts)
  if (time !== undefined && Number.isNaN(time)) return undefined
  const pid = procid === '-' ? undefined : Number(procid)
  return {
    host: host === '-' ? '' : host,
    app: app === '-' ? '' : app,
    pid: pid !== undefined && Number.isInteger(pid) ? pid : undefined,
    time,
    stamp: stamp3164(time ?? Date.now()),
    content,
  }
}

function parse3164(line: string, i: number): SyslogMessage | undefined {
  // RSYSLOG_ForwardFormat: an RFC 3339 time in the RFC 3164 header (`2026-12-02T19:00:04.685123+00:00 host tag[pid]: `)
  if (isDigit(line.charCodeAt(i)) && line[i + 4] === '-' && line[i + 10] === 'T') {
    const sp = line.indexOf(' ', i)
    const time = sp < 0 ? Number.NaN : Date.parse(line.slice(i, sp))
    if (Number.isNaN(time)) return undefined
    const m = tagged(line, sp + 1, '')
    return m && { ...m, time, stamp: stamp3164(time) }
  }
  // `Mmm dd hh:mm:ss HOST TAG[PID]: MSG` — the timestamp is fixed width (day padded with a space).
  const month = line.slice(i, i + 3)
  if (!MONTHS.includes(month) || line[i + 3] !== ' ' || line[i + 9] !== ':' || line[i + 15] !== ' ') return undefined
  return tagged(line, i + 16, line.slice(i, i + 15))
}

/** `HOST TAG[PID]: MSG` from `i`. */
function tagged(line: string, i: number, stamp: string): SyslogMessage | undefined {
  const sp = line.indexOf(' ', i)
  if (sp < 0) return undefined
  const host = line.slice(i, sp)
  i = sp + 1
  const colon = line.indexOf(': ', i)
  if (colon < 0) return undefined
  const tag = line.slice(i, colon)
  const br = tag.indexOf('[')
  let app = tag
  let pid: number | undefined
  if (br >= 0 && tag.endsWith(']')) {
    app = tag.slice(0, br)
    const n = Number(tag.slice(br + 1, -1))
    if (Number.isInteger(n)) pid = n
  }
  return { host, app, pid, stamp, content: line.slice(colon + 2) }
}

function stamp3164(ms: number): string {
  const d = new Date(ms)
  const day = String(d.getUTCDate()).padStart(2, ' ')
  const hh = String(d.getUTCHours()).padStart(2, '0')
  const mm = String(d.getUTCMinutes()).padStart(2, '0')
  const ss = String(d.getUTCSeconds()).padStart(2, '0')
  return `${MONTHS[d.getUTCMonth()]} ${day} ${hh}:${mm}:${ss}`
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57
}

/** PostgreSQL's `[seq-chunk] ` marker (syslog_sequence_numbers / long-line splitting). */
export function chunkMarker(content: string): { seq: number; chunk: number; rest: number } | undefined {
  if (content.charCodeAt(0) !== 91 /* [ */) return undefined
  const dash = content.indexOf('-', 1)
  const close = content.indexOf(']', dash + 1)
  if (dash < 2 || close < dash + 2 || close > 24) return undefined
  const seq = Number(content.slice(1, dash))
  const chunk = Number(content.slice(dash + 1, close))
  if (!Number.isInteger(seq) || !Number.isInteger(chunk)) return undefined
  return { seq, chunk, rest: content[close + 1] === ' ' ? close + 2 : close + 1 }
}

/**
 * An RFC 5424 message in the RFC 3164 shape (`Mmm dd hh:mm:ss host app[pid]: text`), the form
 * PostgreSQL syslog files have; the parser reads that form, and the caller restores the exact
 * 5424 time on the record.
 */
export function to3164(m: SyslogMessage): string {
  const tag = m.pid !== undefined ? `${m.app || 'postgres'}[${m.pid}]` : m.app || 'postgres'
  return `${m.stamp} ${m.host || '-'} ${tag}: ${m.content}`
}
