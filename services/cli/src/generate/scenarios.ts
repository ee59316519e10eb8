import type { InjectedIncident } from './types.js'
import { SAMPLE_SERVERS } from './profiles.js'

const HOUR = 3_600_000
const MIN = 60_000

/** One situation the diagnosis must recognise, with the hypothesis it should name first. */
export interface Scenario {
  name: string
  servers: string[]
  incidents: InjectedIncident[]
}

const [orders, billing, analytics] = SAMPLE_SERVERS

/** 37 user names a password-guessing bot tries. */
export const GUESSED_USERS = [
  'postgres',
  'admin',
  'root',
  'user',
  'test',
  'guest',
  'oracle',
  'pgsql',
  'ubuntu',
  'administrator',
  'sa',
  'dbadmin',
  'demo',
  'backup',
  'support',
  'web',
  'www',
  'ftp',
  'mysql',
  'odoo',
  'git',
  'jenkins',
  'deploy',
  'dev',
  'prod',
  'app',
  'api',
  'service',
  'monitor',
  'nagios',
  'zabbix',
  'grafana',
  'sonar',
  'gitlab',
  'redmine',
  'openerp',
  'replication',
]

/**
 * Every situation of the diagnosis, each on a server of its own timeline (a run starting at
 * `start`, at least 6 h long): normal traffic for hours before, so "logged in before" means
 * something. The fleet-wide deny spans four self-hosted servers; the probe trickle is noise that
 * baselines must absorb without losing the others.
 */
export function diagnosisScenarios(start: number): Scenario[] {
  const at = (h: number) => start + h * HOUR
  const egress = Array.from({ length: 30 }, (_, i) => `81.2.69.${20 + i * 7}`)
  const fleet = ['pg-01', 'pg-02', 'pg-03', 'pg-04']
  return [
    {
      name: 'rotation gone wrong',
      servers: [billing.name],
      incidents: [
        {
          server: billing.name,
          category: 'auth_fail',
          reason: 'password_mismatch',
          start: at(4),
          durationMs: 30 * MIN,
          perMinute: 24,
          clients: billing.appClients,
          user: 'billing_app',
          database: 'billing',
          expect: 'credentials_changed',
        },
      ],
    },
    {
      name: 'password guessing',
      servers: [orders.name],
      incidents: [
        {
          server: orders.name,
          category: 'auth_fail',
          reason: 'password_mismatch',
          start: at(4),
          durationMs: 10 * MIN,
          perMinute: 41,
          clients: ['203.0.113.7'],
          users: GUESSED_USERS,
          database: 'postgres',
          expect: 'password_guessing',
        },
      ],
    },
    {
      name: 'moved egress range',
      servers: [orders.name],
      incidents: [
        {
          server: orders.name,
          category: 'firewall_deny',
          reason: 'no_hba_entry',
          start: at(4),
          durationMs: 45 * MIN,
          perMinute: 9,
          clients: egress,
          user: 'reporting',
          database: 'orders',
          expect: 'new_clients',
        },
      ],
    },
    {
      name: 'removed rule',
      servers: [analytics.name],
      incidents: [
        {
          server: analytics.name,
          category: 'firewall_deny',
          reason: 'no_hba_entry',
          start: at(4),
          durationMs: 20 * MIN,
          perMinute: 12,
          clients: analytics.appClients,
          user: 'citus',
          database: 'citus',
          expect: 'rule_removed',
        },
      ],
    },
    {
      name: 'pool growth',
      servers: [billing.name],
      incidents: [
        {
          server: billing.name,
          category: 'limit_reached',
          reason: 'too_many_clients',
          start: at(4),
          durationMs: 15 * MIN,
          perMinute: 30,
          clients: billing.appClients,
          user: 'billing_app',
          database: 'billing',
          pool: { application: 'billing-api', user: 'billing_app', from: 40, to: 95, rampMs: 30 * MIN },
          expect: 'pool_growth',
        },
      ],
    },
    {
      name: 'restart',
      servers: [orders.name],
      incidents: [
        {
          server: orders.name,
          category: 'transient',
          start: at(4) + 15 * MIN + 3000,
          durationMs: 41_000,
          perMinute: 40,
          clients: orders.appClients,
          user: 'orders_app',
          database: 'orders',
          expect: 'restart',
        },
      ],
    },
    {
      name: 'legacy TLS client',
      servers: [billing.name],
      incidents: [
        {
          server: billing.name,
          category: 'tls_reject',
          reason: 'tls_unsupported_protocol',
          start: at(3),
          durationMs: 2 * HOUR,
          perMinute: 1.5,
          clients: ['10.20.5.77'],
          expect: 'legacy_client',
        },
      ],
    },
    {
      name: 'fleet-wide deny',
      servers: fleet,
      incidents: fleet.map((server) => ({
        server,
        category: 'firewall_deny' as const,
        reason: 'no_hba_entry',
        start: at(4) + 2 * MIN,
        durationMs: 30 * MIN,
        perMinute: 6,
        clients: egress.slice(0, 12),
        user: 'app',
        database: 'appdb',
        expect: 'new_clients',
      })),
    },
    {
      name: 'probe trickle',
      servers: [analytics.name],
      incidents: [
        {
          server: analytics.name,
          category: 'network',
          reason: 'incomplete_startup_packet',
          start,
          durationMs: 6 * HOUR,
          perMinute: 0.5,
          clients: ['10.0.0.4'],
        },
      ],
    },
  ]
}

const DAY = 24 * HOUR

/**
 * A week of the situations above on seven servers, for judging baselines: every server has a
 * load-balancer probe trickle all week (`incomplete startup packet`, 0.5 a minute) and
 * billing-flex a few wrong passwords an hour (3 an hour from one user), the normal noise a fixed
 * threshold of 1 pages for; each situation is injected on its own day (days 0 and 1 before the
 * baselines have the 3 days they need, days 3–6 after), the legacy TLS client twice at the same
 * hour (day 0 and 6) and the restart twice. The noise streams carry no `expect`: they are what
 * should stop paging.
 */
export function baselineWeek(start: number): Scenario {
  const day = (d: number) => start + d * DAY
  const pick = (d: number, name: string, shiftMs = 0) =>
    diagnosisScenarios(day(d))
      .find((s) => s.name === name)!
      .incidents.map((i) => ({ ...i, start: i.start + shiftMs }))
  const servers = [orders.name, billing.name, analytics.name, 'pg-01', 'pg-02', 'pg-03', 'pg-04']
  return {
    name: 'baseline week',
    servers,
    incidents: [
      ...servers.map((server) => ({
        server,
        category: 'network' as const,
        reason: 'incomplete_startup_packet',
        start,
        durationMs: 7 * DAY,
        perMinute: 0.5,
        clients: ['10.0.0.4'],
      })),
      {
        server: billing.name,
        category: 'auth_fail',
        reason: 'password_mismatch',
        start,
        durationMs: 7 * DAY,
        perMinute: 0.05,
        clients: ['10.20.9.31'],
        user: 'alice',
        database: 'billing',
      },
      ...pick(0, 'legacy TLS client'),
      ...pick(1, 'restart'),
      ...pick(3, 'rotation gone wrong'),
      ...pick(3, 'moved egress range'),
      ...pick(4, 'password guessing'),
      ...pick(4, 'removed rule'),
      ...pick(5, 'pool growth'),
      ...pick(5, 'fleet-wide deny'),
      ...pick(6, 'restart', 9 * HOUR),
      ...pick(6, 'legacy TLS client'),
    ],
  }
}
