/**
 * Azure Database for PostgreSQL – Single Server gateway addresses per region (primary first, then
 * failover addresses). Clients behind a corporate firewall must allow outbound 5432 to all of them.
 */
export const SINGLE_SERVER_GATEWAYS: Record<string, string[]> = {
  'Australia East': ['13.75.149.87', '40.79.161.1'],
  'Australia South East': ['191.239.192.109', '13.73.109.251'],
  'Brazil South': ['104.41.11.5'],
  'Canada Central': ['40.85.224.249'],
  'Canada East': ['40.86.226.166'],
  'Central US': ['23.99.160.139', '13.67.215.62'],
  'China East 1': ['139.219.130.35'],
  'China East 2': ['40.73.82.1'],
  'China North 1': ['139.219.15.17'],
  'China North 2': ['40.73.50.0'],
  'East Asia': ['191.234.2.139', '52.175.33.150'],
  'East US 1': ['191.238.6.43', '40.121.158.30'],
  'East US 2': ['191.239.224.107', '40.79.84.180', '52.167.104.0'],
  'France Central': ['40.79.137.0', '40.79.129.1'],
  'Germany Central': ['51.4.144.100'],
  'India Central': ['104.211.96.159'],
  'India South': ['104.211.224.146'],
  'India West': ['104.211.160.80'],
  'Japan East': ['191.237.240.43', '13.78.61.196'],
  'Japan West': ['191.238.68.11', '104.214.148.156'],
  'Korea Central': ['52.231.32.42'],
  'Korea South': ['52.231.200.86'],
  'North Central US': ['23.98.55.75', '23.96.178.199'],
  'North Europe': ['191.235.193.75', '40.113.93.91'],
  'South Central US': ['23.98.162.75', '13.66.62.124'],
  'South East Asia': ['23.100.117.95', '104.43.15.0'],
  'UK South': ['51.140.184.11'],
  'UK West': ['51.141.8.11'],
  'West Europe': ['191.237.232.75', '40.68.37.158'],
  'West US 1': ['23.99.34.75', '104.42.238.205'],
  'West US 2': ['13.66.226.202'],
}

const squash = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '')

/** Azure's programmatic names (`eastus`, `centralindia`) for the table's display names. */
const ALIASES: Record<string, string> = {
  eastus: 'East US 1',
  westus: 'West US 1',
  centralindia: 'India Central',
  southindia: 'India South',
  westindia: 'India West',
  southeastasia: 'South East Asia',
  australiasoutheast: 'Australia South East',
  chinaeast: 'China East 1',
  chinanorth: 'China North 1',
  germanycentral: 'Germany Central',
}

const BY_SQUASHED = new Map<string, string>()
for (const name of Object.keys(SINGLE_SERVER_GATEWAYS)) BY_SQUASHED.set(squash(name), name)
for (const [alias, name] of Object.entries(ALIASES)) if (!BY_SQUASHED.has(alias)) BY_SQUASHED.set(alias, name)

/** Gateway region and addresses for a configured region in any common spelling (`West Europe`, `westeurope`). */
export function gatewayFor(region: string | undefined): { region: string; addresses: string[] } | undefined {
  if (!region) return undefined
  const name = BY_SQUASHED.get(squash(region))
  return name === undefined ? undefined : { region: name, addresses: SINGLE_SERVER_GATEWAYS[name] }
}
