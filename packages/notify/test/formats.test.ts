import { NotifyConfig, type NotifyFormat, type RcaEvent } from '@connrca/contracts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  AlertmanagerPayload,
  type DigestView,
  escapeMrkdwn,
  fingerprint,
  GenericPayload,
  type IncidentsView,
  PAYLOAD_SCHEMAS,
  renderPayload,
  SLACK_LIMITS,
  SlackPayload,
  TEAMS_MAX_BYTES,
  TeamsPayload,
} from '../src/formats/index.js'
import { createNotifier } from '../src/notifier.js'
import { memoryNotifyState } from '../src/state.js'
import { FakeClock, makeEvent, SEC, startReceiver, type TestReceiver } from './helpers.js'

const FORMATS: NotifyFormat[] = ['generic', 'alertmanager', 'slack', 'teams']
const NOW = Date.UTC(2024, 4, 1, 10, 45)

function view(events: RcaEvent[], over: Partial<IncidentsView> = {}): IncidentsView {
  return {
    kind: 'incidents',
    route: 'ops',
    receiver: 'hook',
    groupKey: 'ops/server=orders-prod,category=firewall_deny',
    groupLabels: { server: 'orders-prod', category: 'firewall_deny' },
    status: events.some((e) => e.status !== 'resolved') ? 'firing' : 'resolved',
    events,
    sentAt: NOW,
    externalUrl: 'https://connrca.example.com',
    test: false,
    ...over,
  }
}

const digest: DigestView = {
  kind: 'digest',
  route: 'ops',
  receiver: 'hook',
  from: NOW - 86_400_000,
  to: NOW,
  sentAt: NOW,
  externalUrl: undefined,
  rows: [
    {
      server: 'orders-prod',
      category: 'firewall_deny',
      incidents: 2,
      open: 1,
      failures: 824,
      firstFailure: NOW - 3_600_000,
      lastFailure: NOW,
    },
    {
      server: 'billing',
      category: 'auth_fail',
      incidents: 1,
      open: 0,
      failures: 12,
      firstFailure: NOW,
      lastFailure: NOW,
    },
  ],
}

const withSuggestion = makeEvent({
  id: 'fw',
  suggestion: { kind: 'firewall_rule', startIp: '81.2.69.0', endIp: '81.2.69.255', cidr: '81.2.69.0/24', note: 'x' },
})
const huge = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    makeEvent({ id: `big-${i}`, text: 'x'.repeat(5000), title: `t${i} ${'y'.repeat(300)}`, steps: ['s'.repeat(4000)] }),
  )

describe('every format produces payloads valid for its schema', () => {
  const cases: [string, () => IncidentsView | DigestView][] = [
    ['one firing incident', () => view([withSuggestion])],
    [
      'several incidents, one resolved',
      () => view([makeEvent({ id: 'a' }), makeEvent({ id: 'b', status: 'resolved' })]),
    ],
    ['all resolved', () => view([makeEvent({ id: 'a', status: 'resolved' })])],
    ['test message', () => view([makeEvent({ id: 't' })], { test: true, externalUrl: undefined })],
    ['200 oversized incidents', () => view(huge(200))],
    ['digest', () => digest],
    ['empty digest', () => ({ ...digest, rows: [] })],
    [
      'digest with 3000 rows',
      () => ({
        ...digest,
        rows: Array.from({ length: 3000 }, (_, i) => ({ ...digest.rows[0], server: `server-${i}-${'z'.repeat(40)}` })),
      }),
    ],
  ]
  for (const format of FORMATS) {
    for (const [name, make] of cases) {
      it(`${format}: ${name}`, () => {
        const payload = renderPayload(format, make())
        const res = PAYLOAD_SCHEMAS[format].safeParse(JSON.parse(JSON.stringify(payload)))
        if (!res.success) throw new Error(JSON.stringify(res.error.issues.slice(0, 3)))
      })
    }
  }
})

describe('generic', () => {
  it('carries the RcaEvents unchanged', () => {
    const e = withSuggestion
    const p = GenericPayload.parse(renderPayload('generic', view([e])))
    expect(p.kind === 'incidents' && p.events[0]).toEqual(e)
    expect(p.schema).toBe('connrca.notification.v1')
  })
})

describe('alertmanager', () => {
  it('has the webhook v4 shape with firing and resolved alerts', () => {
    const p = AlertmanagerPayload.parse(
      renderPayload('alertmanager', view([makeEvent({ id: 'a' }), makeEvent({ id: 'b', status: 'resolved' })])),
    )
    expect(p.version).toBe('4')
    expect(p.status).toBe('firing')
    expect(p.groupKey).toBe('{}/{route="ops"}:{category="firewall_deny", server="orders-prod"}')
    expect(p.alerts.map((a) => a.status)).toEqual(['firing', 'resolved'])
    expect(p.alerts[0].endsAt).toBe('0001-01-01T00:00:00Z')
    expect(p.alerts[1].endsAt).not.toBe('0001-01-01T00:00:00Z')
    expect(p.commonLabels).toMatchObject({ alertname: 'PostgresConnectionFailures', server: 'orders-prod' })
    expect(p.commonLabels.incident).toBeUndefined()
    expect(p.alerts[0].generatorURL).toBe('https://connrca.example.com/incidents/a')
    expect(p.alerts[0].fingerprint).not.toBe(p.alerts[1].fingerprint)
  })

  it('fingerprints label sets like Alertmanager (FNV-1a 64, order-independent)', () => {
    expect(fingerprint({})).toBe('cbf29ce484222325')
    expect(fingerprint({ a: '1', b: '2' })).toBe(fingerprint({ b: '2', a: '1' }))
    expect(fingerprint({ a: '1' })).not.toBe(fingerprint({ a: '2' }))
  })

  it('rejects a payload whose status disagrees with its alerts', () => {
    const p = renderPayload('alertmanager', view([makeEvent({ id: 'a' })])) as AlertmanagerPayload
    expect(AlertmanagerPayload.safeParse({ ...p, status: 'resolved' }).success).toBe(false)
  })
})

describe('slack', () => {
  it('stays within 50 blocks and 3000 characters per section', () => {
    const p = SlackPayload.parse(renderPayload('slack', view(huge(200))))
    expect(p.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks)
    expect(JSON.stringify(p.blocks)).toContain('more incidents in this group')
  })

  it('escapes mrkdwn control characters and links the incident', () => {
    const e = makeEvent({ id: 'lt', title: 'a <b> & c' })
    const p = SlackPayload.parse(renderPayload('slack', view([e])))
    const text = JSON.stringify(p.blocks)
    expect(text).toContain('a &lt;b&gt; &amp; c')
    expect(text).toContain('<https://connrca.example.com/incidents/lt|')
    expect(escapeMrkdwn('<&>')).toBe('&lt;&amp;&gt;')
  })

  it('the schema rejects what Slack would reject', () => {
    const section = { type: 'section', text: { type: 'mrkdwn', text: 'x' } }
    expect(SlackPayload.safeParse({ text: 'x', blocks: Array(51).fill(section) }).success).toBe(false)
    const long = { type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } }
    expect(SlackPayload.safeParse({ text: 'x', blocks: [long] }).success).toBe(false)
    const header = { type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }
    expect(SlackPayload.safeParse({ text: 'x', blocks: [header] }).success).toBe(false)
  })
})

describe('teams', () => {
  it('wraps an Adaptive Card 1.4 as a message attachment', () => {
    const p = TeamsPayload.parse(renderPayload('teams', view([withSuggestion])))
    expect(p.type).toBe('message')
    expect(p.attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive')
    expect(p.attachments[0].content.version).toBe('1.4')
    expect(p.attachments[0].content.actions?.[0].url).toBe('https://connrca.example.com/incidents/fw')
  })

  it('stays under the Teams size limit however large the group', () => {
    const p = renderPayload('teams', view(huge(200)))
    expect(Buffer.byteLength(JSON.stringify(p))).toBeLessThanOrEqual(TEAMS_MAX_BYTES)
    expect(JSON.stringify(p)).toContain('more incidents')
  })

  it('the schema rejects older card versions and a bare card', () => {
    const p = renderPayload('teams', view([makeEvent()])) as TeamsPayload
    const old = structuredClone(p)
    old.attachments[0].content.version = '1.2'
    expect(TeamsPayload.safeParse(old).success).toBe(false)
    expect(TeamsPayload.safeParse(p.attachments[0].content).success).toBe(false)
  })
})

describe('payloads actually sent to a receiver', () => {
  let rx: TestReceiver
  beforeAll(async () => {
    rx = await startReceiver('/hook')
  })
  afterAll(async () => rx.close())

  it('posts a valid body for each format', async () => {
    const clock = new FakeClock()
    const config = NotifyConfig.parse({
      receivers: FORMATS.map((format) => ({ name: format, url: `${rx.url}/${format}`, format, ratePerSecond: 1000 })),
      routes: [{ name: 'ops', receivers: FORMATS }],
    })
    const n = createNotifier({ config, state: memoryNotifyState(), clock })
    await n.handle([withSuggestion, makeEvent({ id: 'second' })])
    clock.advance(30 * SEC)
    await n.tick()
    expect(rx.requests).toHaveLength(4)
    for (const format of FORMATS) {
      const req = rx.requests.find((r) => r.path === `/hook/${format}`)!
      const res = PAYLOAD_SCHEMAS[format].safeParse(req.json)
      expect(res.success, `${format}: ${JSON.stringify(res.error?.issues.slice(0, 2))}`).toBe(true)
    }
  })
})

describe('diagnosis in every format', () => {
  const diagnosed = makeEvent({
    id: 'h',
    category: 'auth_fail',
    hypotheses: [
      {
        version: 1,
        id: 'password_guessing',
        title: 'password guessing from 203.0.113.7: 412 attempts on 37 user names',
        text: '203.0.113.7 made 412 of the 412 failed logins.',
        score: 0.95,
        severity: 'critical',
        security: true,
        evidence: { attempts: 412, userNames: 37 },
        clients: ['203.0.113.7'],
        steps: ['Block 203.0.113.7.'],
      },
      {
        version: 1,
        id: 'client_configuration',
        title: "that client's configuration: 203.0.113.7 as postgres",
        text: 't',
        score: 0.4,
        evidence: {},
        clients: [],
        steps: [],
      },
    ],
  })
  const first =
    '[security] password guessing from 203.0.113.7: 412 attempts on 37 user names (score 0.95; attempts 412, userNames 37)'
  for (const format of FORMATS) {
    it(`${format}: names the hypotheses, best first, with their numbers; valid payload`, () => {
      const payload = JSON.parse(JSON.stringify(renderPayload(format, view([diagnosed]))))
      expect(PAYLOAD_SCHEMAS[format].safeParse(payload).success).toBe(true)
      const text = JSON.stringify(payload)
      if (format === 'generic') expect(payload.events[0].hypotheses).toEqual(diagnosed.hypotheses)
      else {
        expect(text).toContain(JSON.stringify(first).slice(1, -1))
        expect(text.indexOf('password guessing')).toBeLessThan(text.indexOf("that client's configuration"))
      }
      if (format === 'alertmanager') expect(payload.alerts[0].annotations.hypothesis).toBe(first)
    })
  }
})
