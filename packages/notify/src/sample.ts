import type { RcaEvent } from '@connrca/contracts'

/** A plausible firewall incident for `connrca notify test`; nothing about it is real. */
export function sampleEvent(now: number, server = 'example-server'): RcaEvent {
  const start = now - 45 * 60_000
  return {
    schema: 'connrca.rca.v1',
    id: 'test-0000000000000000',
    revision: 1,
    status: 'open',
    server,
    category: 'firewall_deny',
    count: 412,
    attempts: 980,
    firstFailure: start,
    lastFailure: now - 60_000,
    windows: [{ start, end: now, failures: 412 }],
    // what the classifier emits for the sample message below (services/cli/test/notify-sample.test.ts)
    reasons: [{ value: 'no_hba_entry', count: 412 }],
    topClients: [{ value: '203.0.113.24', count: 390 }],
    topUsers: [{ value: 'app', count: 412 }],
    topDatabases: [{ value: 'orders', count: 412 }],
    sampleMessages: ['no pg_hba.conf entry for host "203.0.113.24", user "app", database "orders", SSL encryption'],
    persistence: 'persistent',
    severity: 'warning',
    title: `Test notification from connrca for ${server}`,
    text: 'This is a sample incident sent by `connrca notify test` to check that this receiver is reachable. No action is needed.',
    steps: ['Nothing to do: this message only checks the webhook.'],
    suggestion: {
      kind: 'firewall_rule',
      startIp: '203.0.113.0',
      endIp: '203.0.113.255',
      cidr: '203.0.113.0/24',
      note: 'Example only (documentation address range).',
    },
    emittedAt: now,
  }
}
