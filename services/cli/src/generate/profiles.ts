import type { InjectedIncident, ServerProfile } from './types.js'

const HOUR = 3_600_000
const MIN = 60_000

/** The three servers of the bundled sample; also usable as `servers` config for the sample. */
export const SAMPLE_SERVERS: ServerProfile[] = [
  {
    name: 'orders-prod',
    flavour: 'single',
    region: 'West Europe',
    version: 11,
    hostname: 'orders-prod',
    databases: ['orders', 'postgres'],
    users: [
      ['orders_app', 'orders-api', 70],
      ['reporting', 'Metabase', 20],
      ['azure_pg_admin', 'psql', 5],
    ],
    appClients: ['10.1.0.11', '10.1.0.12', '10.1.0.13', '10.1.0.14', '10.1.0.15', '10.1.0.16'],
    adminClients: ['203.0.113.40'],
  },
  {
    name: 'billing-flex',
    flavour: 'flexible',
    region: 'West Europe',
    version: 15,
    hostname: 'billing-flex',
    databases: ['billing', 'postgres'],
    users: [
      ['billing_app', 'billing-worker', 75],
      ['billing_ro', 'PostgreSQL JDBC Driver', 20],
      ['pgadmin', 'pgAdmin 4 - DB:billing', 5],
    ],
    appClients: ['10.20.0.11', '10.20.0.12', '10.20.0.13', '10.20.0.14'],
    adminClients: ['10.20.9.5'],
  },
  {
    name: 'analytics-citus',
    flavour: 'citus',
    region: 'West Europe',
    version: 14,
    hostname: 'analytics-citus',
    databases: ['citus'],
    users: [
      ['citus', 'dashboards', 80],
      ['etl', 'airflow', 20],
    ],
    appClients: ['10.30.1.21', '10.30.1.22', '10.30.1.23', '10.30.1.24', '10.30.1.25'],
    adminClients: ['10.30.9.9'],
  },
]

/** Profile for a server name outside the sample: a self-hosted PG 16 with generic users. */
export function profileFor(name: string, index: number): ServerProfile {
  const known = SAMPLE_SERVERS.find((s) => s.name === name)
  if (known) return known
  const net = `10.${100 + (index % 150)}`
  return {
    name,
    flavour: 'self-hosted',
    version: 16,
    hostname: name,
    databases: ['appdb', 'postgres'],
    users: [
      ['app', 'app-server', 80],
      ['readonly', 'psql', 15],
      ['postgres', 'psql', 5],
    ],
    appClients: [1, 2, 3, 4].map((i) => `${net}.0.${10 + i}`),
    adminClients: [`${net}.9.5`],
  }
}

export function serverNames(servers: string[] | number): string[] {
  if (typeof servers !== 'number') return servers
  return Array.from({ length: servers }, (_, i) => `pg-${String(i + 1).padStart(2, '0')}`)
}

/** A part of a run of length `duration`: the story is written for a day and scales to any length. */
function at(start: number, duration: number, hour: number): number {
  return Math.round(start + (duration * hour) / 24)
}
function len(duration: number, ms: number): number {
  return Math.max(MIN, Math.round((duration * ms) / (24 * HOUR)))
}

/**
 * The bundled sample story. With a day-long run (times below are offsets from `start`):
 * - orders-prod 10:02-10:47: firewall denies from a dynamic range, 40 addresses of 81.2.69.0/24
 * - billing-flex 03:00-07:00: a legacy TLS 1.0 reporting client refused (tls_reject)
 * - billing-flex 14:00-14:30: password rotated in the vault but not in the app (auth_fail)
 * - analytics-citus 16:30-16:42: connection storm hits max_connections (limit_reached)
 * - orders-prod 22:15-22:17: a restart: shutting down, then starting up (transient)
 * - all day: a few missing databases / roles (user_error) and health-probe noise (network)
 * Only servers present in `servers` get incidents; other servers get noise only.
 */
export function defaultIncidents(servers: string[], start: number, duration: number): InjectedIncident[] {
  const has = (s: string) => servers.includes(s)
  const out: InjectedIncident[] = []
  if (has('orders-prod')) {
    const dynamicRange = Array.from({ length: 40 }, (_, i) => `81.2.69.${17 + ((i * 37) % 230)}`)
    out.push(
      {
        server: 'orders-prod',
        category: 'firewall_deny',
        reason: 'no_hba_entry',
        start: at(start, duration, 10 + 2 / 60),
        durationMs: len(duration, 45 * MIN),
        perMinute: 9,
        clients: dynamicRange,
        user: 'reporting',
        database: 'orders',
      },
      {
        server: 'orders-prod',
        category: 'transient',
        start: at(start, duration, 22.25),
        durationMs: len(duration, 2 * MIN),
        perMinute: 40,
        clients: SAMPLE_SERVERS[0].appClients,
        user: 'orders_app',
        database: 'orders',
      },
      {
        server: 'orders-prod',
        category: 'user_error',
        reason: 'role_not_found',
        start,
        durationMs: duration,
        perMinute: 0.01,
        clients: SAMPLE_SERVERS[0].adminClients,
        user: 'orders_admin',
        database: 'orders',
      },
    )
  }
  if (has('billing-flex')) {
    out.push(
      {
        server: 'billing-flex',
        category: 'tls_reject',
        reason: 'tls_unsupported_protocol',
        start: at(start, duration, 3),
        durationMs: len(duration, 4 * HOUR),
        perMinute: 1.5,
        clients: ['10.20.5.77'],
      },
      {
        server: 'billing-flex',
        category: 'auth_fail',
        reason: 'password_mismatch',
        start: at(start, duration, 14),
        durationMs: len(duration, 30 * MIN),
        perMinute: 24,
        clients: SAMPLE_SERVERS[1].appClients,
        user: 'billing_app',
        database: 'billing',
      },
      {
        server: 'billing-flex',
        category: 'network',
        reason: 'client_connection_reset',
        start,
        durationMs: duration,
        perMinute: 0.03,
        clients: SAMPLE_SERVERS[1].appClients,
      },
    )
  }
  if (has('analytics-citus')) {
    out.push(
      {
        server: 'analytics-citus',
        category: 'limit_reached',
        reason: 'too_many_clients',
        start: at(start, duration, 16.5),
        durationMs: len(duration, 12 * MIN),
        perMinute: 80,
        clients: SAMPLE_SERVERS[2].appClients,
        user: 'citus',
        database: 'citus',
      },
      {
        server: 'analytics-citus',
        category: 'user_error',
        reason: 'database_not_found',
        start,
        durationMs: duration,
        perMinute: 0.02,
        clients: SAMPLE_SERVERS[2].appClients,
        user: 'etl',
        database: 'analytics',
      },
    )
  }
  for (const s of servers) {
    out.push({
      server: s,
      category: 'network',
      reason: 'incomplete_startup_packet',
      start,
      durationMs: duration,
      perMinute: 0.05,
      clients: ['10.0.0.4'],
    })
  }
  return out
}
