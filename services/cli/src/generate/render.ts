import type { SimRecord } from './streams.js'
import type { GenFormat } from './types.js'

/** Debian / Ubuntu packaging default. */
export const DEFAULT_PREFIX = '%m [%p] %q%u@%d '
/** A common prefix with syslog (syslog adds time, host and pid itself). */
export const SYSLOG_PREFIX = 'db=%d,user=%u,app=%a,client=%h '

/** One record with what the merge stage assigned. */
export interface RenderCtx {
  r: SimRecord
  pid: number
  /** Session line number (%l). */
  line: number
  /** Start of the process, epoch ms (%s, session id). */
  sessionStart: number
  hostname: string
}

export type Renderer = (c: RenderCtx) => string

// --- timestamps: most lines share a second with a recent line, so format each second once.
// Two slots, because csv/json lines carry the event time and the (older) session start.
let secA = Number.NaN
let textA = ''
let secB = Number.NaN
let textB = ''
let flip = false
function secondText(ms: number): string {
  const sec = Math.floor(ms / 1000)
  if (sec === secA) return textA
  if (sec === secB) return textB
  const iso = new Date(sec * 1000).toISOString()
  const text = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`
  flip = !flip
  if (flip) {
    secA = sec
    textA = text
  } else {
    secB = sec
    textB = text
  }
  return text
}
const MS3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'))
function tsMs(ms: number): string {
  return `${secondText(ms)}.${MS3[ms - Math.floor(ms / 1000) * 1000]} UTC`
}
function tsSec(ms: number): string {
  return `${secondText(ms)} UTC`
}
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
function syslogTs(ms: number): string {
  const s = secondText(ms) // YYYY-MM-DD HH:MM:SS
  const day = Number(s.slice(8, 10))
  return `${MONTHS[Number(s.slice(5, 7)) - 1]} ${day < 10 ? ` ${day}` : day} ${s.slice(11)}`
}

function sessionId(c: RenderCtx): string {
  return `${Math.floor(c.sessionStart / 1000).toString(16)}.${c.pid.toString(16)}`
}

const isSession = (r: SimRecord) => r.backend === 'client backend'
const unknown = (v: string | undefined) => (v === undefined || v === '' ? '[unknown]' : v)

// --- log_line_prefix ---------------------------------------------------------------------------
type Part = string | ((c: RenderCtx) => string)

/** Compiles a log_line_prefix into a function; supports the escapes PostgreSQL documents. */
export function compilePrefix(prefix: string): (c: RenderCtx) => string {
  const parts: Part[] = []
  let lit = ''
  let stopAt = -1
  for (let i = 0; i < prefix.length; i++) {
    const ch = prefix[i]
    if (ch !== '%' || i === prefix.length - 1) {
      lit += ch
      continue
    }
    let j = i + 1
    while (j < prefix.length && /[-0-9]/.test(prefix[j])) j++ // padding: ignored
    const esc = prefix[j]
    i = j
    if (esc === '%') {
      lit += '%'
      continue
    }
    if (lit) parts.push(lit)
    lit = ''
    const fn = ESCAPES[esc]
    if (esc === 'q') stopAt = parts.length
    else if (fn) parts.push(fn)
  }
  if (lit) parts.push(lit)
  return (c) => {
    let out = ''
    const session = isSession(c.r)
    for (let k = 0; k < parts.length; k++) {
      if (k === stopAt && !session) break
      const p = parts[k]
      out += typeof p === 'string' ? p : p(c)
    }
    return out
  }
}

const ESCAPES: Record<string, (c: RenderCtx) => string> = {
  a: (c) => (isSession(c.r) ? unknown(c.r.app) : ''),
  u: (c) => (isSession(c.r) ? unknown(c.r.user) : ''),
  d: (c) => (isSession(c.r) ? unknown(c.r.db) : ''),
  h: (c) => c.r.ip ?? '',
  r: (c) => (c.r.ip === undefined ? '' : c.r.port === undefined ? c.r.ip : `${c.r.ip}(${c.r.port})`),
  b: (c) => c.r.backend,
  p: (c) => String(c.pid),
  m: (c) => tsMs(c.r.t),
  t: (c) => tsSec(c.r.t),
  n: (c) => (c.r.t / 1000).toFixed(3),
  i: (c) => c.r.cmd,
  e: (c) => c.r.sqlstate,
  c: (c) => sessionId(c),
  l: (c) => String(c.line),
  s: (c) => tsSec(c.sessionStart),
  v: (c) => (isSession(c.r) ? `3/${c.line}` : ''),
  x: () => '0',
  Q: () => '0',
}

// --- formats -------------------------------------------------------------------------------------
/** Message parts in the order PostgreSQL writes them. */
function parts(r: SimRecord): Array<[string, string]> {
  const out: Array<[string, string]> = [[r.sev, r.msg]]
  if (r.detail !== undefined) out.push(['DETAIL', r.detail])
  if (r.hint !== undefined) out.push(['HINT', r.hint])
  if (r.statement !== undefined) out.push(['STATEMENT', r.statement])
  return out
}

function stderrRenderer(prefix: string): Renderer {
  const pre = compilePrefix(prefix)
  return (c) => {
    const r = c.r
    const p = pre(c)
    // PostgreSQL continues multi-line texts with a tab (append_with_tabs)
    let out = `${p}${r.sev}:  ${tabbed(r.msg)}`
    if (r.detail !== undefined) out += `\n${p}DETAIL:  ${tabbed(r.detail)}`
    if (r.hint !== undefined) out += `\n${p}HINT:  ${tabbed(r.hint)}`
    if (r.statement !== undefined) out += `\n${p}STATEMENT:  ${tabbed(r.statement)}`
    return out
  }
}

function tabbed(s: string): string {
  return s.includes('\n') ? s.replaceAll('\n', '\n\t') : s
}

function csvText(s: string | undefined): string {
  if (s === undefined || s === '') return ''
  return s.includes('"') ? `"${s.replaceAll('"', '""')}"` : `"${s}"`
}

/** csvlog of PostgreSQL 14+ (26 columns). Multi-line texts stay inside quotes, spanning lines. */
const csvRenderer: Renderer = (c) => {
  const r = c.r
  const session = isSession(r)
  const from = r.ip === undefined ? '' : r.port === undefined ? r.ip : `${r.ip}:${r.port}`
  return (
    `${tsMs(r.t)},${csvText(session ? r.user : undefined)},${csvText(session ? r.db : undefined)},${c.pid},` +
    `${csvText(from)},${sessionId(c)},${c.line},${csvText(r.cmd)},${tsSec(c.sessionStart)},` +
    `${session ? `3/${c.line}` : ''},0,${r.sev},${r.sqlstate},${csvText(r.msg)},${csvText(r.detail)},` +
    `${csvText(r.hint)},,,,${csvText(r.statement)},,,${csvText(session ? (r.app ?? '') : '')},${csvText(r.backend)},,0`
  )
}

const NEEDS_ESCAPE = /["\\\u0000-\u001f]/
function jsonStr(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`
}

/** jsonlog of PostgreSQL 15+: one object per line, absent fields omitted. */
const jsonRenderer: Renderer = (c) => {
  const r = c.r
  const session = isSession(r)
  let s = `{"timestamp":"${tsMs(r.t)}"`
  if (session && r.user !== undefined) s += `,"user":${jsonStr(r.user)}`
  if (session && r.db !== undefined) s += `,"dbname":${jsonStr(r.db)}`
  s += `,"pid":${c.pid}`
  if (r.ip !== undefined) s += `,"remote_host":${jsonStr(r.ip)}`
  if (r.port !== undefined) s += `,"remote_port":${r.port}`
  s += `,"session_id":"${sessionId(c)}","line_num":${c.line}`
  if (r.cmd) s += `,"ps":${jsonStr(r.cmd)}`
  s += `,"session_start":"${tsSec(c.sessionStart)}"`
  if (session) s += `,"vxid":"3/${c.line}"`
  s += `,"txid":0,"error_severity":"${r.sev}","state_code":"${r.sqlstate}","message":${jsonStr(r.msg)}`
  if (r.detail !== undefined) s += `,"detail":${jsonStr(r.detail)}`
  if (r.hint !== undefined) s += `,"hint":${jsonStr(r.hint)}`
  if (r.statement !== undefined) s += `,"statement":${jsonStr(r.statement)}`
  if (session && r.app !== undefined) s += `,"application_name":${jsonStr(r.app)}`
  s += `,"backend_type":"${r.backend}","query_id":0}`
  return s
}

/**
 * syslog (RFC 3164 as rsyslog writes it): `Mon dd hh:mm:ss host postgres[pid]: [line-chunk] text`.
 * PostgreSQL sends the whole multi-part message and splits it at newlines into numbered chunks;
 * rsyslog shows the continuation tab as `#011`.
 */
function syslogRenderer(prefix: string): Renderer {
  const pre = compilePrefix(prefix)
  return (c) => {
    const r = c.r
    const head = `${syslogTs(r.t)} ${c.hostname} postgres[${c.pid}]: [${c.line}-`
    const p = pre(c)
    let chunk = 0
    let out = ''
    for (const [sev, text] of parts(r)) {
      const lines = text.split('\n')
      for (let k = 0; k < lines.length; k++) {
        chunk++
        out += `${out ? '\n' : ''}${head}${chunk}] ${k === 0 ? `${p}${sev}:  ` : '#011'}${lines[k]}`
      }
    }
    return out
  }
}

export function rendererFor(format: GenFormat, prefix: string | undefined): Renderer {
  switch (format) {
    case 'stderr':
      return stderrRenderer(prefix ?? DEFAULT_PREFIX)
    case 'csvlog':
      return csvRenderer
    case 'jsonlog':
      return jsonRenderer
    case 'syslog':
      return syslogRenderer(prefix ?? SYSLOG_PREFIX)
  }
}
