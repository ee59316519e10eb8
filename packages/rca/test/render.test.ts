import { CATEGORIES, type Category, type Flavour } from '@connrca/contracts'
import { describe, expect, it } from 'vitest'
import { type RenderInput, renderRca, SINGLE_SERVER_GATEWAYS, suggestFirewallRule } from '../src/index.js'

const at = (d: number, h: number, m: number, s = 0) => Date.UTC(2026, 2, d, h, m, s)
const FLAVOURS: Flavour[] = ['single', 'flexible', 'citus', 'self-hosted']

function input(category: Category, over: Partial<RenderInput> = {}): RenderInput {
  return {
    server: 'orders-prod',
    category,
    count: 412,
    attempts: 0,
    firstFailure: at(2, 10, 2, 13),
    lastFailure: at(2, 10, 47, 51),
    persistence: 'persistent',
    topClients: [
      { value: '81.2.69.14', count: 300 },
      { value: '81.2.69.200', count: 100 },
      { value: '81.2.69.3', count: 12 },
    ],
    topUsers: [{ value: 'app', count: 412 }],
    topDatabases: [{ value: 'orders', count: 412 }],
    ...over,
  }
}

const all = (r: { title: string; text: string; steps: string[] }) => [r.title, r.text, ...r.steps].join('\n')

describe('renderRca text', () => {
  it('renders the firewall sentence exactly in the documented shape', () => {
    const r = renderRca(input('firewall_deny'), { name: 'orders-prod', flavour: 'flexible' })
    expect(
      r.text.startsWith(
        '412 connection attempts to PostgreSQL server orders-prod failed between 2026-03-02 10:02 and 10:47 UTC because of firewall rules. ',
      ),
    ).toBe(true)
    expect(r.text).toContain('The denied clients came from 81.2.69.0–81.2.69.255')
    expect(r.title).toBe('Firewall rules block connections to orders-prod')
  })

  it('repeats the date when the span crosses midnight and says "at" within one minute', () => {
    const cross = renderRca(input('auth_fail', { firstFailure: at(2, 23, 50), lastFailure: at(3, 0, 10) }))
    expect(cross.text).toContain(
      'failed between 2026-03-02 23:50 and 2026-03-03 00:10 UTC because authentication failed.',
    )
    const one = renderRca(input('auth_fail', { count: 1, firstFailure: at(2, 9, 5, 1), lastFailure: at(2, 9, 5, 40) }))
    expect(one.text).toMatch(/^1 connection attempt to PostgreSQL server orders-prod failed at 2026-03-02 09:05 UTC/)
  })

  it('adds the failure ratio only when attempts cover the failures, and marks resolved incidents', () => {
    expect(renderRca(input('auth_fail', { attempts: 824 })).text).toContain('That is 50% of the 824 connections')
    expect(renderRca(input('auth_fail', { attempts: 10 })).text).not.toContain('That is')
    const r = renderRca(input('auth_fail', { status: 'resolved' }))
    // the status is shown beside the title ([resolved] …, status fields): the title does not repeat it
    expect(r.title).toBe(renderRca(input('auth_fail')).title)
    expect(r.title).not.toContain('resolved')
    expect(r.text).toContain('No such failures since 10:47 UTC')
  })

  it('describes persistence classes', () => {
    expect(renderRca(input('transient', { persistence: 'transient' })).text).toContain('less than a minute (transient)')
    expect(renderRca(input('transient')).text).toContain('went on for 46 min (persistent)')
    expect(renderRca(input('transient', { persistence: 'recurring', earlierIncidents: 2 })).text).toContain(
      'incident 3 of this kind on orders-prod within 24 hours (recurring)',
    )
  })
})

describe('renderRca steps per cause and flavour', () => {
  it('renders a title, text and steps for every cause × flavour, each flavour its own steps', () => {
    for (const c of CATEGORIES) {
      const seen = new Set<string>()
      for (const f of FLAVOURS) {
        const r = renderRca(input(c), { name: 'orders-prod', flavour: f, region: 'West Europe' })
        expect(r.title.length).toBeGreaterThan(10)
        expect(r.steps.length).toBeGreaterThanOrEqual(2)
        seen.add(r.steps.join('|'))
      }
      expect(seen.size, c).toBe(FLAVOURS.length)
    }
  })

  it('firewall: five-minute delay on Azure, dynamic addresses, narrow rule, warning against the all-range', () => {
    for (const f of FLAVOURS) {
      const text = all(renderRca(input('firewall_deny'), { name: 'orders-prod', flavour: f }))
      expect(text).toMatch(/dynamic addresses/)
      expect(text).toContain('81.2.69.0–81.2.69.255 (81.2.69.0/24)')
      if (f === 'self-hosted') {
        expect(text).toContain('pg_hba.conf')
        expect(text).toContain('0.0.0.0/0')
      } else {
        expect(text).toContain('five minutes')
        expect(text).toContain('0.0.0.0–255.255.255.255')
        expect(text).toContain('IPv4')
      }
    }
    expect(all(renderRca(input('firewall_deny'), { name: 'orders-prod', flavour: 'flexible' }))).toMatch(
      /private access/,
    )
    expect(all(renderRca(input('firewall_deny'), { name: 'orders-prod', flavour: 'citus' }))).toMatch(/coordinator/)
    expect(all(renderRca(input('firewall_deny'), { name: 'orders-prod', flavour: 'single' }))).toMatch(
      /az postgres server firewall-rule create --server-name orders-prod/,
    )
  })

  it('tls: TLS 1.2 required, 1.0/1.1 refused, flavour-specific server setting', () => {
    for (const f of FLAVOURS) {
      const text = all(renderRca(input('tls_reject'), { name: 'orders-prod', flavour: f }))
      expect(text).toContain('TLS 1.2')
      expect(text).toMatch(/TLS 1\.0 or TLS 1\.1 are refused/)
      expect(text).toContain('sslmode=require')
    }
    expect(all(renderRca(input('tls_reject')))).toContain('ssl_min_protocol_version')
  })

  it('network: outbound 5432 everywhere, the regional gateway addresses for Single Server', () => {
    for (const f of FLAVOURS) {
      expect(all(renderRca(input('network'), { name: 'orders-prod', flavour: f }))).toContain('outbound TCP port 5432')
    }
    const we = all(renderRca(input('network'), { name: 'o', flavour: 'single', region: 'West Europe' }))
    expect(we).toContain('191.237.232.75, 40.68.37.158')
    const eus2 = all(renderRca(input('network'), { name: 'o', flavour: 'single', region: 'eastus2' }))
    expect(eus2).toContain('191.239.224.107, 40.79.84.180, 52.167.104.0')
    const eus = all(renderRca(input('network'), { name: 'o', flavour: 'single', region: 'eastus' }))
    expect(eus).toContain('191.238.6.43, 40.121.158.30')
    const none = all(renderRca(input('network'), { name: 'o', flavour: 'single' }))
    expect(none).toContain("set the server's region")
    // Gateway addresses are a Single Server matter only.
    expect(all(renderRca(input('network'), { name: 'o', flavour: 'flexible', region: 'West Europe' }))).not.toContain(
      '191.237.232.75',
    )
    // A Single Server firewall RCA also reminds of the client-side outbound rule.
    expect(all(renderRca(input('firewall_deny'), { name: 'o', flavour: 'single', region: 'UK West' }))).toContain(
      '51.141.8.11',
    )
  })

  it('auth, user errors, limits and transient errors carry their flavour facts', () => {
    const auth = (f: Flavour) => all(renderRca(input('auth_fail'), { name: 'orders-prod', flavour: f }))
    expect(auth('single')).toContain('user@orders-prod')
    expect(auth('flexible')).toContain('no @orders-prod suffix')
    expect(auth('self-hosted')).toContain('scram-sha-256')
    expect(auth('flexible')).toContain('most failures: app')
    expect(all(renderRca(input('user_error'), { name: 'x', flavour: 'citus' }))).toContain('one database, named citus')
    expect(all(renderRca(input('user_error'), { name: 'x', flavour: 'flexible' }))).toContain(
      'fully qualified domain name',
    )
    expect(all(renderRca(input('limit_reached'), { name: 'x', flavour: 'flexible' }))).toMatch(/pooler|PgBouncer/)
    expect(all(renderRca(input('limit_reached'), { name: 'x', flavour: 'citus' }))).toContain('worker nodes')
    const tr = all(renderRca(input('transient', { persistence: 'transient' }), { name: 'x', flavour: 'single' }))
    expect(tr).toContain('retry with backoff')
    expect(tr).toContain('longer than 60 seconds')
    expect(
      all(renderRca(input('transient', { persistence: 'recurring' }), { name: 'x', flavour: 'flexible' })),
    ).toContain('more than once within 24 hours: open an Azure support request')
    expect(all(renderRca(input('transient'), { name: 'x', flavour: 'self-hosted' }))).not.toContain('Azure')
  })
})

describe('suggestFirewallRule', () => {
  it('admits a single denied address with a single-address rule', () => {
    const s = suggestFirewallRule(['203.0.113.7', '203.0.113.7'])!
    expect(s).toMatchObject({
      kind: 'firewall_rule',
      startIp: '203.0.113.7',
      endIp: '203.0.113.7',
      cidr: '203.0.113.7/32',
    })
    expect(s.note).toBe('admit only the denied client 203.0.113.7 (203.0.113.7/32).')
    expect(s.rules).toBeUndefined()
  })

  it('uses the smallest block of one network for many addresses (a dynamic ISP pool)', () => {
    expect(suggestFirewallRule(['81.2.69.14', '81.2.69.200', '81.2.69.3'])).toMatchObject({
      startIp: '81.2.69.0',
      endIp: '81.2.69.255',
      cidr: '81.2.69.0/24',
    })
    expect(suggestFirewallRule(['10.1.1.10', '10.1.1.11'])).toMatchObject({
      startIp: '10.1.1.10',
      endIp: '10.1.1.11',
      cidr: '10.1.1.10/31',
    })
  })

  it('never merges unrelated networks into a wide range: one rule per network', () => {
    const s = suggestFirewallRule(['81.2.69.14', '81.2.69.15', '198.51.100.9', '::1', '[local]'])!
    expect(s).toMatchObject({ startIp: '81.2.69.14', endIp: '81.2.69.15' })
    expect(s.rules).toEqual([
      { startIp: '81.2.69.14', endIp: '81.2.69.15', cidr: '81.2.69.14/31' },
      { startIp: '198.51.100.9', endIp: '198.51.100.9', cidr: '198.51.100.9/32' },
    ])
    expect(suggestFirewallRule(['2001:db8::1', 'nonsense', '1.2.3.256'])).toBeUndefined()
  })
})

describe('SINGLE_SERVER_GATEWAYS', () => {
  it('has the 31 regions of the table with primary addresses first', () => {
    expect(Object.keys(SINGLE_SERVER_GATEWAYS)).toHaveLength(31)
    expect(SINGLE_SERVER_GATEWAYS['Australia East']).toEqual(['13.75.149.87', '40.79.161.1'])
    expect(SINGLE_SERVER_GATEWAYS['Brazil South']).toEqual(['104.41.11.5'])
  })
})

describe('texts people read (issue 14)', () => {
  it('the suggestion reads as a sentence and the all-addresses warning appears once, only where it applies', () => {
    for (const f of FLAVOURS) {
      const r = renderRca(input('firewall_deny'), { name: 'orders-prod', flavour: f })
      expect(r.suggestion?.note).toBe(
        'admit 81.2.69.0/24 (81.2.69.0–81.2.69.255), the smallest block holding the 3 denied addresses of that network, typically one ISP pool of dynamic addresses.',
      )
      const everything = [r.suggestion?.note, r.text, ...r.steps].join('\n')
      const warnings = everything.split('0.0.0.0–255.255.255.255').length - 1
      // Azure firewall rules have an all-addresses form to warn against; pg_hba.conf has 0.0.0.0/0
      expect(warnings, f).toBe(f === 'self-hosted' ? 0 : 1)
      if (f === 'self-hosted') {
        expect(r.steps.join('\n')).toContain('pg_hba.conf')
        expect(r.steps.join('\n')).not.toMatch(/firewall rule|portal/)
      }
    }
    expect(suggestFirewallRule(['81.2.69.1', '81.2.69.2', '10.0.0.1'])?.note).toContain(
      'Denied clients also came from 1 other network; see rules.',
    )
  })

  it('"1 connection attempt", not "1 connection attempts"', () => {
    expect(renderRca(input('auth_fail', { count: 1 })).text).toMatch(/^1 connection attempt to /)
  })
})
