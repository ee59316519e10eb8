import type { Category, Hypothesis, Persistence, RcaStatus, ServerInfo, Suggestion, TopEntry } from '@connrca/contracts'
import { CAUSES } from './causes.js'
import { suggestFirewallRule } from './ipv4.js'
import { stepsFor } from './steps.js'
import { humanDuration, utcMinute, utcSpan } from './time-format.js'

export interface RenderInput {
  server: string
  category: Category
  count: number
  attempts: number
  firstFailure: number
  lastFailure: number
  persistence: Persistence
  status?: RcaStatus
  topClients: TopEntry[]
  topUsers: TopEntry[]
  topDatabases: TopEntry[]
  /** Other incidents of this cause on this server in the previous 24 h (for the recurring sentence). */
  earlierIncidents?: number
  /** Denied client addresses for the firewall suggestion; defaults to topClients. */
  clientIps?: string[]
  /** Ranked diagnosis: the first is named in the text and its steps come first. */
  hypotheses?: Hypothesis[]
}

export interface Rendered {
  title: string
  text: string
  steps: string[]
  suggestion?: Suggestion
}

function top(entries: TopEntry[], max = 3): string {
  return entries
    .slice(0, max)
    .map((e) => `${e.value} (${e.count})`)
    .join(', ')
}

function evidence(i: RenderInput, suggestion: Suggestion | undefined): string {
  if (i.category === 'firewall_deny' && suggestion) {
    const from =
      suggestion.startIp === suggestion.endIp ? suggestion.startIp : `${suggestion.startIp}–${suggestion.endIp}`
    const others =
      suggestion.rules && suggestion.rules.length > 1 ? ` and ${suggestion.rules.length - 1} other network(s)` : ''
    return `The denied clients came from ${from}${others}; most attempts: ${top(i.topClients)}.`
  }
  if ((i.category === 'auth_fail' || i.category === 'user_error') && i.topUsers.length) {
    const dbs = i.category === 'user_error' && i.topDatabases.length ? ` and databases ${top(i.topDatabases)}` : ''
    return `Most failures were for users ${top(i.topUsers)}${dbs}.`
  }
  return i.topClients.length ? `Most failures came from ${top(i.topClients)}.` : ''
}

function persistenceSentence(i: RenderInput): string {
  const span = i.lastFailure - i.firstFailure
  if (i.persistence === 'recurring') {
    const n = (i.earlierIncidents ?? 1) + 1
    return `This is incident ${n} of this kind on ${i.server} within 24 hours (recurring); this one has lasted ${humanDuration(span)}.`
  }
  if (i.persistence === 'persistent') return `The failures went on for ${humanDuration(span)} (persistent).`
  return 'The failures lasted less than a minute (transient).'
}

/** Title, text and recommended steps for one incident, adapted to the server's flavour and region. */
export function renderRca(i: RenderInput, info?: ServerInfo): Rendered {
  const flavour = info?.flavour ?? 'self-hosted'
  const cause = CAUSES[i.category]
  const suggestion =
    i.category === 'firewall_deny' ? suggestFirewallRule(i.clientIps ?? i.topClients.map((c) => c.value)) : undefined
  const attempts = i.count === 1 ? 'connection attempt' : 'connection attempts'
  const sentences = [
    `${i.count} ${attempts} to PostgreSQL server ${i.server} failed ${utcSpan(i.firstFailure, i.lastFailure)} ${cause.because}.`,
  ]
  if (i.attempts >= i.count && i.attempts > 0) {
    sentences.push(
      `That is ${Math.round((100 * i.count) / i.attempts)}% of the ${i.attempts} connections the server received in those windows.`,
    )
  }
  const ev = evidence(i, suggestion)
  if (ev) sentences.push(ev)
  const likely = i.hypotheses?.[0]
  if (likely) sentences.push(`Likely cause: ${likely.title}. ${likely.text}`)
  sentences.push(persistenceSentence(i))
  if (i.status === 'resolved') sentences.push(`No such failures since ${utcMinute(i.lastFailure)} UTC: resolved.`)
  // the status is shown beside the title everywhere ([resolved] …): not repeated in it
  const title = `${cause.title} ${i.server}`
  const steps = stepsFor(i.category, {
    server: i.server,
    flavour,
    region: info?.region,
    persistence: i.persistence,
    suggestion,
    topUsers: i.topUsers,
    topDatabases: i.topDatabases,
    topClients: i.topClients,
  })
  if (likely) steps.unshift(...likely.steps.filter((s) => !steps.includes(s)))
  return { title, text: sentences.join(' '), steps, ...(suggestion ? { suggestion } : {}) }
}
