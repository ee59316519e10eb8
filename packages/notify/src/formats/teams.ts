import type { RcaEvent } from '@connrca/contracts'
import { z } from 'zod'
import {
  type DigestView,
  digestHeadline,
  digestLine,
  digestSummary,
  headline,
  humanTime,
  hypothesisLines,
  type IncidentsView,
  incidentLink,
  plural,
  truncate,
} from './view.js'

export const ADAPTIVE_CARD_SCHEMA = 'http://adaptivecards.io/schemas/adaptive-card.json'
export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive'
/** Teams rejects messages above about 28 KB; stay well below it. */
export const TEAMS_MAX_BYTES = 28 * 1024
const CARD_BUDGET_BYTES = 24 * 1024

const TextBlock = z.strictObject({
  type: z.literal('TextBlock'),
  text: z.string().min(1),
  wrap: z.boolean().optional(),
  size: z.enum(['Small', 'Default', 'Medium', 'Large', 'ExtraLarge']).optional(),
  weight: z.enum(['Lighter', 'Default', 'Bolder']).optional(),
  color: z.enum(['Default', 'Dark', 'Light', 'Accent', 'Good', 'Warning', 'Attention']).optional(),
  isSubtle: z.boolean().optional(),
  spacing: z.enum(['None', 'Small', 'Default', 'Medium', 'Large', 'ExtraLarge', 'Padding']).optional(),
  separator: z.boolean().optional(),
})
const FactSet = z.strictObject({
  type: z.literal('FactSet'),
  facts: z.array(z.strictObject({ title: z.string(), value: z.string() })).min(1),
  separator: z.boolean().optional(),
})
const Container = z.strictObject({
  type: z.literal('Container'),
  items: z.array(z.discriminatedUnion('type', [TextBlock, FactSet])).min(1),
  style: z.enum(['default', 'emphasis', 'good', 'attention', 'warning', 'accent']).optional(),
  separator: z.boolean().optional(),
  spacing: z.enum(['None', 'Small', 'Default', 'Medium', 'Large', 'ExtraLarge', 'Padding']).optional(),
})
const OpenUrl = z.strictObject({ type: z.literal('Action.OpenUrl'), title: z.string().min(1), url: z.string().url() })

export const AdaptiveCard = z.strictObject({
  $schema: z.literal(ADAPTIVE_CARD_SCHEMA),
  type: z.literal('AdaptiveCard'),
  /** Teams Workflows render 1.4 and later. */
  version: z.string().regex(/^1\.([4-9]|\d{2,})$/, 'Adaptive Card version must be 1.4 or later'),
  body: z.array(z.discriminatedUnion('type', [TextBlock, FactSet, Container])).min(1),
  actions: z.array(OpenUrl).max(6).optional(),
  msteams: z.strictObject({ width: z.literal('Full') }).optional(),
})

/** The shape a Teams Workflows "post to a channel when a webhook request is received" flow expects. */
export const TeamsPayload = z
  .strictObject({
    type: z.literal('message'),
    attachments: z
      .array(
        z.strictObject({
          contentType: z.literal(ADAPTIVE_CARD_CONTENT_TYPE),
          contentUrl: z.null().optional(),
          content: AdaptiveCard,
        }),
      )
      .length(1),
  })
  .refine((p) => Buffer.byteLength(JSON.stringify(p)) <= TEAMS_MAX_BYTES, 'Teams message over 28 KB')
export type TeamsPayload = z.infer<typeof TeamsPayload>
type Card = z.infer<typeof AdaptiveCard>
type Element = Card['body'][number]

function wrap(card: Omit<Card, '$schema' | 'type' | 'version' | 'msteams'>): TeamsPayload {
  return {
    type: 'message',
    attachments: [
      {
        contentType: ADAPTIVE_CARD_CONTENT_TYPE,
        contentUrl: null,
        content: {
          $schema: ADAPTIVE_CARD_SCHEMA,
          type: 'AdaptiveCard',
          version: '1.4',
          msteams: { width: 'Full' },
          ...card,
        },
      },
    ],
  }
}

function eventContainer(e: RcaEvent, withTitle: boolean): Element {
  const resolved = e.status === 'resolved'
  const items: z.infer<typeof Container>['items'] = []
  // A lone incident's title is already the card's headline.
  if (withTitle)
    items.push({
      type: 'TextBlock',
      text: truncate(e.title, 500),
      weight: 'Bolder',
      wrap: true,
      color: resolved ? 'Good' : e.severity === 'critical' ? 'Attention' : 'Warning',
    })
  items.push(
    { type: 'TextBlock', text: truncate(e.text, 3000), wrap: true },
    {
      type: 'FactSet',
      facts: [
        { title: 'Server', value: e.server },
        { title: 'Cause', value: e.category },
        { title: 'Status', value: e.status },
        { title: 'Persistence', value: e.persistence },
        { title: 'Failures', value: `${e.count} of ${e.attempts} attempts` },
        { title: 'Period', value: `${humanTime(e.firstFailure)} – ${humanTime(e.lastFailure)}` },
      ],
    },
  )
  const diagnosis = hypothesisLines(e)
  if (diagnosis.length)
    items.push({
      type: 'TextBlock',
      text: truncate(`**Diagnosis**\n\n${diagnosis.map((l, i) => `${i + 1}. ${l}`).join('\n')}`, 3000),
      wrap: true,
    })
  if (!resolved && e.steps.length)
    items.push({
      type: 'TextBlock',
      text: truncate(`**Recommended steps**\n\n${e.steps.map((s, i) => `${i + 1}. ${s}`).join('\n')}`, 3000),
      wrap: true,
    })
  if (!resolved && e.suggestion)
    items.push({
      type: 'TextBlock',
      text: `**Suggested firewall rule:** ${e.suggestion.startIp} – ${e.suggestion.endIp}${e.suggestion.cidr ? ` (${e.suggestion.cidr})` : ''}. ${e.suggestion.note}`,
      wrap: true,
    })
  return { type: 'Container', items, separator: true, spacing: 'Medium' }
}

export function teamsIncidents(v: IncidentsView): TeamsPayload {
  const body: Element[] = [
    {
      type: 'TextBlock',
      text: truncate(headline(v), 500),
      size: 'Large',
      weight: 'Bolder',
      wrap: true,
      color: v.status === 'resolved' ? 'Good' : 'Attention',
    },
  ]
  let bytes = Buffer.byteLength(JSON.stringify(body))
  let shown = 0
  for (const e of v.events) {
    const c = eventContainer(e, v.events.length > 1)
    const size = Buffer.byteLength(JSON.stringify(c))
    if (bytes + size > CARD_BUDGET_BYTES && shown > 0) break
    body.push(c)
    bytes += size
    shown++
  }
  if (shown < v.events.length)
    body.push({ type: 'TextBlock', text: `…and ${plural(v.events.length - shown, 'more incident')}.`, isSubtle: true })
  body.push({ type: 'TextBlock', text: `connrca · route ${v.route}`, isSubtle: true, size: 'Small' })
  const link = v.events.length === 1 ? incidentLink(v, v.events[0].id) : v.externalUrl
  return wrap(link ? { body, actions: [{ type: 'Action.OpenUrl', title: 'Open in connrca', url: link }] } : { body })
}

export function teamsDigest(v: DigestView): TeamsPayload {
  const body: Element[] = [
    { type: 'TextBlock', text: digestHeadline(v), size: 'Large', weight: 'Bolder', wrap: true },
    { type: 'TextBlock', text: digestSummary(v), wrap: true },
  ]
  const facts: { title: string; value: string }[] = []
  let bytes = 0
  for (const r of v.rows) {
    const f = { title: `${r.server} · ${r.category}`, value: digestLine(r) }
    bytes += f.title.length + f.value.length + 32
    if (bytes > CARD_BUDGET_BYTES) {
      body.push({
        type: 'TextBlock',
        text: `…and ${plural(v.rows.length - facts.length, 'more row')}.`,
        isSubtle: true,
      })
      break
    }
    facts.push(f)
  }
  if (facts.length) body.splice(2, 0, { type: 'FactSet', facts })
  return wrap(
    v.externalUrl
      ? { body, actions: [{ type: 'Action.OpenUrl', title: 'Open connrca', url: v.externalUrl }] }
      : { body },
  )
}
