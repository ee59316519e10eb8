import type { Category, Flavour, Persistence, Suggestion, TopEntry } from '@connrca/contracts'
import { gatewayFor } from './gateways.js'
import { ALL_ADDRESSES_WARNING } from './ipv4.js'

export interface StepContext {
  server: string
  flavour: Flavour
  region?: string
  persistence: Persistence
  suggestion?: Suggestion
  topUsers: TopEntry[]
  topDatabases: TopEntry[]
  topClients: TopEntry[]
}

const azure = (f: Flavour) => f !== 'self-hosted'

function list(entries: TopEntry[], max = 3): string {
  return entries
    .slice(0, max)
    .map((e) => e.value)
    .join(', ')
}

/** Outbound 5432 on the client side, with the regional gateway addresses for Single Server. */
function outboundStep(c: StepContext): string {
  const base =
    'On every firewall between the clients and the internet (corporate proxy, host firewall), allow outbound TCP port 5432.'
  if (c.flavour !== 'single') return base
  const gw = gatewayFor(c.region)
  if (gw === undefined) {
    return `${base} Single Server clients connect through a regional gateway; set the server's region in connrca's config to list that gateway's addresses here.`
  }
  return `${base} Single Server clients reach the server through the ${gw.region} gateway: allow outbound 5432 to ${gw.addresses.join(', ')} (the first is in use, the others take over on a gateway failover, so allow all of them).`
}

function firewallSteps(c: StepContext): string[] {
  const s = c.suggestion
  const range = s ? (s.startIp === s.endIp ? s.startIp : `${s.startIp}–${s.endIp} (${s.cidr})`) : undefined
  const target = range
    ? `for ${range}, the narrowest rule that admits the denied clients`
    : 'for the public IPv4 address the clients connect from (after NAT or proxies)'
  if (c.flavour === 'self-hosted') {
    return [
      `Add a pg_hba.conf line (host or hostssl) ${target}, limited to the databases and roles they need, with scram-sha-256 authentication; then reload the configuration (SELECT pg_reload_conf()).`,
      'Make sure listen_addresses covers the interface the clients reach and that host or cloud firewalls (iptables/nftables, security groups) pass TCP 5432 from that range.',
      'If the clients get dynamic addresses from their ISP, allow the ISP range assigned to them, or give them static addresses: a single-address rule breaks at the next address change.',
      'Do not add 0.0.0.0/0 to pg_hba.conf to make the errors go away: it lets every address on the internet try to log in.',
    ]
  }
  const how: Record<Exclude<Flavour, 'self-hosted'>, string> = {
    single: `in the portal under Connection security, or with az postgres server firewall-rule create --server-name ${c.server} --start-ip-address … --end-ip-address …`,
    flexible: `in the portal under Networking, or with az postgres flexible-server firewall-rule create --name ${c.server} --start-ip-address … --end-ip-address …`,
    citus:
      "in the portal on the server group's Networking page; the rule guards the coordinator node, which is where clients connect",
  }
  const steps = [
    `Add a server firewall rule ${target} (${how[c.flavour]}). Rules take IPv4 addresses only.`,
    'After saving a rule, wait up to five minutes before testing again: firewall changes can take that long to take effect.',
    'If the clients get dynamic addresses from their ISP, ask the ISP for the range assigned to them and allow that range, or switch the clients to static addresses: a single-address rule breaks at the next address change.',
    ALL_ADDRESSES_WARNING,
  ]
  if (c.flavour === 'flexible') {
    steps.push(
      'Firewall rules only exist for servers created with public access. A server with private access (VNet integration) has no public endpoint: connect from its virtual network or a peered one with the private DNS zone linked, and check network security group rules. The networking mode cannot be changed after creation.',
    )
  }
  if (c.flavour === 'single') {
    steps.push(
      'The server name resolves to a public gateway that answers ping and telnet even while the firewall refuses the client; a reachable gateway does not mean the rule is in place.',
    )
    steps.push(outboundStep(c))
  }
  if (c.flavour !== 'single') {
    steps.push(
      "The setting that allows all Azure services admits every Azure address, other customers' subscriptions included; prefer explicit rules for your own outbound addresses.",
    )
  }
  return steps
}

function authSteps(c: StepContext): string[] {
  const who = c.topUsers.length ? ` (most failures: ${list(c.topUsers)})` : ''
  const steps = [
    `Check the user name and password the failing clients send${who}. A firewall rule only lets a client try; it still has to present valid credentials.`,
    'After a password rotation, update every application, connection pool and secret store that still uses the old password, and restart pools that keep connections.',
  ]
  if (c.flavour === 'single') {
    steps.push(
      `Single Server expects the user name with the server name appended: user@${c.server}. A missing @${c.server} suffix fails like a wrong password.`,
    )
  } else if (azure(c.flavour)) {
    steps.push(
      `Use the plain role name (no @${c.server} suffix: that form belongs to Single Server and fails on ${c.flavour === 'citus' ? 'Hyperscale (Citus)' : 'Flexible Server'}).`,
    )
  } else {
    steps.push(
      'Check the pg_hba.conf line that matches these clients: its method (scram-sha-256, md5, cert, ldap) must fit the credentials; a password stored as MD5 cannot pass scram-sha-256 until it is set again.',
    )
  }
  steps.push(
    'Many failures from unfamiliar addresses or for many different user names look like password guessing: narrow the firewall rules to known clients.',
  )
  return steps
}

function tlsSteps(c: StepContext): string[] {
  const steps = [
    'Clients must encrypt with TLS 1.2 or newer: connections offering TLS 1.0 or TLS 1.1 are refused. Upgrade old drivers, JDBC/ODBC builds and OpenSSL libraries on the failing clients.',
    "Set sslmode=require (or verify-full with the server's CA certificate) in the connection string so the client encrypts at all.",
  ]
  if (c.flavour === 'flexible') {
    steps.push(
      'Flexible Server only accepts encrypted connections, and only with TLS 1.2 or later; there is no setting that re-enables TLS 1.0/1.1.',
    )
  } else if (c.flavour === 'single') {
    steps.push(
      'Single Server enforces SSL and a minimum TLS version in its connection security settings; keep the minimum at TLS 1.2 and fix the clients instead of lowering it.',
    )
  } else if (c.flavour === 'citus') {
    steps.push(
      'Hyperscale (Citus) requires encrypted connections to the coordinator; make sure every application and tool connecting to it uses TLS 1.2 or later.',
    )
  } else {
    steps.push(
      'On the server, ssl_min_protocol_version sets the oldest protocol accepted (TLS 1.2 by default since PostgreSQL 13); hostssl lines in pg_hba.conf refuse clients that do not use SSL.',
    )
  }
  return steps
}

function limitSteps(c: StepContext): string[] {
  const steps = [
    'Put a connection pooler (such as PgBouncer) in front of the server, or size the application pools so that together they stay below max_connections minus the slots reserved for administrators.',
    'Look for sessions that hold slots without working (pg_stat_activity, state idle or idle in transaction) and set idle_in_transaction_session_timeout; fix connection leaks in the applications.',
    'Near its resource limits a server also produces errors that look like transient connectivity problems; check CPU, memory and connection counts together.',
  ]
  if (c.flavour === 'single' || c.flavour === 'flexible') {
    steps.push(
      `The connection limit of ${c.flavour === 'single' ? 'Single Server' : 'Flexible Server'} grows with the compute tier; scale up if pooling is not enough.${c.flavour === 'flexible' ? ' Flexible Server can also run a built-in PgBouncer.' : ''}`,
    )
  } else if (c.flavour === 'citus') {
    steps.push(
      'For a Hyperscale (Citus) server group, more node RAM, or more worker nodes with the data rebalanced, raises what the group can handle.',
    )
  } else {
    steps.push(
      'Raising max_connections costs memory per connection and needs a restart; pooling is usually the better fix.',
    )
  }
  return steps
}

function transientSteps(c: StepContext): string[] {
  const steps = [
    'Short outages (usually under 60 seconds) happen during maintenance, restarts, failovers and scaling: make applications retry with backoff instead of showing the error to users.',
  ]
  if (azure(c.flavour)) {
    steps.push('Check the Azure status page and Service Health for an outage at the time of the failures.')
    if (c.flavour === 'citus') {
      steps.push('High availability on the server group nodes lets a coordinator failover finish quickly.')
    }
    if (c.flavour === 'single') {
      steps.push(
        'Changing the vCores or the pricing tier also drops connections for a moment: schedule scaling outside busy hours.',
      )
    }
    if (c.flavour === 'flexible') {
      steps.push('Flexible Server lets you choose its maintenance window: put it outside busy hours.')
    }
    steps.push(
      c.persistence === 'transient'
        ? 'If this lasts longer than 60 seconds or repeats several times a day, open an Azure support request.'
        : `This ${c.persistence === 'recurring' ? 'happened more than once within 24 hours' : 'lasted longer than 60 seconds'}: open an Azure support request with the times above.`,
    )
  } else {
    steps.push(
      'Read the server log around these times for restarts, crash recovery, or sessions ended by an administrator; a long recovery usually follows a large transaction.',
    )
  }
  return steps
}

function userErrorSteps(c: StepContext): string[] {
  const asked = [
    c.topDatabases.length ? `databases asked for: ${list(c.topDatabases)}` : '',
    c.topUsers.length ? `users: ${list(c.topUsers)}` : '',
  ]
    .filter(Boolean)
    .join('; ')
  const steps = [
    `Check the connection strings of the failing clients: server name, database and user${asked ? ` (${asked})` : ''}.`,
    'If the application is right and the server lacks the role or database, create it (CREATE ROLE / CREATE DATABASE).',
  ]
  if (c.flavour === 'single') steps.push(`On Single Server the user name must end with @${c.server}.`)
  if (c.flavour === 'citus') steps.push('A Hyperscale (Citus) server group has exactly one database, named citus.')
  if (c.flavour === 'flexible') {
    steps.push(
      "Use the server's fully qualified domain name as host, not an IP address: the address is not guaranteed to stay the same.",
    )
  }
  return steps
}

function networkSteps(c: StepContext): string[] {
  const steps = [outboundStep(c)]
  if (azure(c.flavour)) {
    steps.push(
      "Connect with the fully qualified domain name (…postgres.database.azure.com); the server's IP address can change.",
    )
  }
  if (c.flavour === 'flexible') {
    steps.push(
      'For a server with private access, the client must be in the virtual network or a peered one and resolve the private DNS zone.',
    )
  }
  steps.push(
    'Connections that end before the startup packet often come from load-balancer health checks or port scanners that open TCP 5432 without speaking PostgreSQL; if the top clients are your own probes, the failures are harmless.',
    'Give clients a connect timeout and retry with backoff; unstable links (VPN, NAT with short idle timeouts) benefit from TCP keepalives.',
  )
  return steps
}

const BY_CATEGORY: Record<Category, (c: StepContext) => string[]> = {
  firewall_deny: firewallSteps,
  auth_fail: authSteps,
  tls_reject: tlsSteps,
  limit_reached: limitSteps,
  transient: transientSteps,
  user_error: userErrorSteps,
  network: networkSteps,
}

export function stepsFor(category: Category, c: StepContext): string[] {
  return BY_CATEGORY[category](c)
}
