import type { Category } from '@connrca/contracts'

/** How each cause ends the first sentence ("… failed between … because …") and names the title. */
export const CAUSES: Record<Category, { because: string; title: string }> = {
  firewall_deny: { because: 'because of firewall rules', title: 'Firewall rules block connections to' },
  auth_fail: { because: 'because authentication failed', title: 'Authentication failures on' },
  tls_reject: {
    because: 'because their TLS/SSL settings were refused',
    title: 'Encryption (TLS/SSL) settings refused by',
  },
  limit_reached: {
    because: 'because the server had no connection slots left',
    title: 'Connection limit reached on',
  },
  transient: {
    because: 'because the server was briefly unavailable (starting, stopping, recovering or failing over)',
    title: 'Server briefly unavailable:',
  },
  user_error: {
    because: 'because of mistakes in the connection settings (unknown database or role, malformed user name)',
    title: 'Wrong connection settings for',
  },
  network: {
    because: 'because the network connection broke before the session was established',
    title: 'Connections dropped on the way to',
  },
}
