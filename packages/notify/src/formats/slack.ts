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

/** Slack's documented limits for incoming-webhook messages with blocks. */
export const SLACK_LIMITS = {
  blocks: 50,
  headerText: 150,
  sectionText: 3000,
  fieldText: 2000,
  fields: 10,
  contextElements: 10,
}

const PlainText = z.strictObject({
  type: z.literal('plain_text'),
  text: z.string().min(1),
  emoji: z.boolean().optional(),
})
const Mrkdwn = z.strictObject({ type: z.literal('mrkdwn'), text: z.string().min(1) })
const TextObject = z.discriminatedUnion('type', [PlainText, Mrkdwn])

export const SlackHeaderBlock = z.strictObject({
  type: z.literal('header'),
  text: PlainText.refine((t) => t.text.length <= SLACK_LIMITS.headerText, 'header text over 150 characters'),
})
export const SlackSectionBlock = z
  .strictObject({
    type: z.literal('section'),
    text: TextObject.refine(
      (t) => t.text.length <= SLACK_LIMITS.sectionText,
      'section text over 3000 characters',
    ).optional(),
    fields: z
      .array(TextObject.refine((t) => t.text.length <= SLACK_LIMITS.fieldText, 'field over 2000 characters'))
      .max(SLACK_LIMITS.fields)
      .optional(),
  })
  .refine((b) => b.text !== undefined || (b.fields?.length ?? 0) > 0, 'a section needs text or fields')
export const SlackContextBlock = z.strictObject({
  type: z.literal('context'),
  elements: z
    .array(TextObject.refine((t) => t.text.length <= SLACK_LIMITS.sectionText, 'context text over 3000 characters'))
    .min(1)
    .max(SLACK_LIMITS.contextElements),
})
export const SlackDividerBlock = z.strictObject({ type: z.literal('divider') })

/** Incoming-webhook message: fallback `text` (notifications, screen readers) plus blocks. */
export const SlackPayload = z.strictObject({
  text: z.string().min(1).max(3000),
  blocks: z
    .array(z.union([SlackHeaderBlock, SlackSectionBlock, SlackContextBlock, SlackDividerBlock]))
    .min(1)
    .max(SLACK_LIMITS.blocks),
})
export type SlackPayload = z.infer<typeof SlackPayload>
type Block = SlackPayload['blocks'][number]

/** Slack mrkdwn treats these three as control characters. */
export function escapeMrkdwn(s: string): string {
  return s.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'))
}

const md = (text: string): { type: 'mrkdwn'; text: string } => ({
  type: 'mrkdwn',
  text: truncate(text, SLACK_LIMITS.sectionText),
})
const header = (text: string): Block => ({
  type: 'header',
  text: { type: 'plain_text', text: truncate(text, SLACK_LIMITS.headerText), emoji: true },
})

function icon(e: RcaEvent): string {
  if (e.status === 'resolved') return ':white_check_mark:'
  return e.severity === 'critical'
    ? ':red_circle:'
    : e.severity === 'warning'
      ? ':large_orange_circle:'
      : ':large_blue_circle:'
}

function eventBlocks(e: RcaEvent, v: IncidentsView): Block[] {
  const link = incidentLink(v, e.id)
  const title = link ? `<${link}|${escapeMrkdwn(e.title)}>` : `*${escapeMrkdwn(e.title)}*`
  const blocks: Block[] = [{ type: 'section', text: md(`${icon(e)} ${title}\n${escapeMrkdwn(e.text)}`) }]
  const facts = [
    `*${escapeMrkdwn(e.server)}*`,
    e.category,
    e.persistence,
    e.severity,
    `${plural(e.count, 'failure')} / ${plural(e.attempts, 'attempt')}`,
    `${humanTime(e.firstFailure)} – ${humanTime(e.lastFailure)}`,
  ]
  blocks.push({ type: 'context', elements: [md(facts.join(' · '))] })
  const diagnosis = hypothesisLines(e)
  if (diagnosis.length) {
    const lines = diagnosis.map((l, i) => `${i === 0 ? '*Likely:*' : '_or:_'} ${escapeMrkdwn(l)}`).join('\n')
    blocks.push({ type: 'section', text: md(`*Diagnosis*\n${lines}`) })
  }
  if (e.status !== 'resolved' && e.steps.length) {
    const steps = e.steps.map((s, i) => `${i + 1}. ${escapeMrkdwn(s)}`).join('\n')
    blocks.push({ type: 'section', text: md(`*Recommended steps*\n${steps}`) })
  }
  if (e.status !== 'resolved' && e.suggestion) {
    const s = e.suggestion
    blocks.push({
      type: 'section',
      text: md(
        `*Suggested firewall rule:* \`${s.startIp}\` – \`${s.endIp}\`${s.cidr ? ` (${s.cidr})` : ''}\n${escapeMrkdwn(s.note)}`,
      ),
    })
  }
  return blocks
}

export function slackIncidents(v: IncidentsView): SlackPayload {
  const title = headline(v)
  const blocks: Block[] = [header(title)]
  // Two blocks stay free for the "more" note and the footer.
  const budget = SLACK_LIMITS.blocks - 2
  let shown = 0
  for (const e of v.events) {
    const more = eventBlocks(e, v)
    const divider = shown > 0 ? 1 : 0
    if (blocks.length + divider + more.length > budget) break
    if (divider) blocks.push({ type: 'divider' })
    blocks.push(...more)
    shown++
  }
  if (shown < v.events.length)
    blocks.push({
      type: 'section',
      text: md(`…and ${plural(v.events.length - shown, 'more incident')} in this group.`),
    })
  blocks.push({ type: 'context', elements: [md(`connrca · route \`${escapeMrkdwn(v.route)}\``)] })
  return { text: truncate(title, 3000), blocks }
}

export function slackDigest(v: DigestView): SlackPayload {
  const title = digestHeadline(v)
  const blocks: Block[] = [header(title), { type: 'section', text: md(digestSummary(v)) }]
  // Rows are packed into as few sections as the 3000-character limit allows.
  let chunk = ''
  let omitted = 0
  const flush = () => {
    if (chunk) blocks.push({ type: 'section', text: md(chunk) })
    chunk = ''
  }
  for (const r of v.rows) {
    const line = `• *${escapeMrkdwn(r.server)}* ${r.category}: ${digestLine(r)}`
    if (blocks.length >= SLACK_LIMITS.blocks - 2) {
      omitted++
      continue
    }
    if (chunk.length + line.length + 1 > SLACK_LIMITS.sectionText) flush()
    if (blocks.length >= SLACK_LIMITS.blocks - 2) {
      omitted++
      continue
    }
    chunk = chunk ? `${chunk}\n${line}` : line
  }
  flush()
  if (omitted) blocks.push({ type: 'section', text: md(`…and ${plural(omitted, 'more row')}.`) })
  return { text: truncate(title, 3000), blocks }
}
