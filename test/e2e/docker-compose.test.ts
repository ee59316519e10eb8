/**
 * docker-compose.yml cannot run here (no Docker); this keeps it consistent with the code:
 * service names and commands, the env vars the code reads, ports, the inline connrca.yaml
 * (validated with the real config schema), Grafana provisioning paths. The Dockerfile: dockerfile.test.ts.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../packages/contracts/src/index.js'
import { DEFAULT_HEALTH_PORT } from '../../packages/observe/src/index.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
// `yaml` is a dependency of the CLI, not of the workspace root: resolve it from there.
const YAML = createRequire(path.join(root, 'services/cli/package.json'))('yaml') as typeof import('yaml')

const doc = YAML.parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true })
interface ComposeService {
  command: string[]
  build?: unknown
  depends_on: Record<string, { condition: string }>
  healthcheck: { test: string[] }
  environment: Record<string, string>
  volumes: string[]
  ports: string[]
  configs: { source: string; target: string }[]
}
interface Datasource {
  type: string
  jsonData: { host: string; port: number }
}
const services: Record<string, ComposeService> = doc.services
const STAGES = ['collector', 'classifier', 'aggregator', 'notifier', 'api'] as const

/** Every CONNRCA_ or KAFKA_BROKERS name appearing in the sources of packages/ and services/. */
function envNamesInCode(): Set<string> {
  const names = new Set<string>()
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name === 'test') continue
      const p = path.join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.name.endsWith('.ts'))
        for (const m of readFileSync(p, 'utf8').matchAll(/\b(CONNRCA_[A-Z_]+|KAFKA_BROKERS)\b/g)) names.add(m[1])
    }
  }
  walk(path.join(root, 'packages'))
  walk(path.join(root, 'services'))
  return names
}

describe('docker-compose.yml', () => {
  it('has Kafka, ClickHouse, the migration job, the five services and Grafana', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['aggregator', 'api', 'classifier', 'clickhouse', 'collector', 'grafana', 'kafka', 'migrate', 'notifier'].sort(),
    )
    for (const name of STAGES) {
      const s = services[name]
      expect(s.command, name).toEqual(['service', name])
      expect(s.build, name).toEqual({ context: '.', dockerfile: 'Dockerfile', target: 'runtime' })
      expect(s.depends_on.kafka.condition, name).toBe('service_healthy')
      expect(s.depends_on.migrate.condition, name).toBe('service_completed_successfully')
      expect(s.healthcheck.test.join(' '), name).toContain(`127.0.0.1:${DEFAULT_HEALTH_PORT}/healthz`)
      expect(s.environment.CONNRCA_HEALTH_PORT, name).toBe(String(DEFAULT_HEALTH_PORT))
    }
    expect(services.migrate.command).toEqual(['migrate'])
    expect(services.migrate.depends_on.clickhouse.condition).toBe('service_healthy')
  })

  it('every depends_on names a service', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const dep of Object.keys(s.depends_on ?? {})) expect(services, `${name} -> ${dep}`).toHaveProperty(dep)
    }
  })

  it('passes only env vars the code reads, pointing at the compose services', () => {
    const known = envNamesInCode()
    for (const name of [...STAGES, 'migrate']) {
      for (const key of Object.keys(services[name].environment)) {
        if (key === 'CONNRCA_WEBHOOK_URL') continue // referenced by name from the config (urlEnv)
        expect(known, `${name}: ${key} is not read anywhere in packages/ or services/`).toContain(key)
      }
      const env = services[name].environment
      expect(env.KAFKA_BROKERS).toBe('kafka:9092')
      expect(services.kafka.environment.KAFKA_ADVERTISED_LISTENERS).toContain(`PLAINTEXT://${env.KAFKA_BROKERS}`)
      expect(new URL(env.CONNRCA_STORE_URL).host).toBe('clickhouse:8123')
    }
    expect(services.kafka.environment.KAFKA_AUTO_CREATE_TOPICS_ENABLE).toBe('false')
    const { KAFKA_NODE_ID, KAFKA_CONTROLLER_QUORUM_VOTERS } = services.kafka.environment
    expect(KAFKA_CONTROLLER_QUORUM_VOTERS).toBe(`${KAFKA_NODE_ID}@kafka:9093`)
  })

  it('embeds a connrca.yaml that the real config schema accepts, with env overrides applied', () => {
    const target = services.classifier.configs[0]
    expect(target.target).toBe(services.classifier.environment.CONNRCA_CONFIG)
    const raw = YAML.parse(doc.configs[target.source].content)
    const env = { ...services.api.environment, CONNRCA_API_TOKEN: 'secret' }
    const cfg = parseConfig(raw, env, 'docker-compose.yml configs.connrca')
    expect(cfg.kafka?.brokers).toEqual(['kafka:9092'])
    expect(cfg.store.url).toBe('http://clickhouse:8123')
    expect(cfg.api.port).toBe(Number(services.api.environment.CONNRCA_API_PORT))
    expect(services.api.ports).toContain(`${cfg.api.port}:${cfg.api.port}`)
    const src = cfg.sources[0]
    expect(src.type === 'file' && src.paths[0]).toBe('/var/log/postgresql')
    expect(services.collector.volumes[0]).toMatch(/:\/var\/log\/postgresql:ro$/)
  })

  it('requires an API token (the API listens beyond loopback)', () => {
    expect(services.api.environment.CONNRCA_API_TOKEN).toMatch(/^\$\{CONNRCA_API_TOKEN:\?/)
    expect(services.api.environment.CONNRCA_API_HOST).toBe('0.0.0.0')
  })

  it('provisions Grafana from infra/grafana with the ClickHouse datasource pointing at the compose service', () => {
    const g = services.grafana
    expect(g.environment.GF_INSTALL_PLUGINS).toContain('grafana-clickhouse-datasource')
    for (const v of g.volumes.filter((v: string) => v.startsWith('./'))) {
      expect(existsSync(path.join(root, v.split(':')[0])), v).toBe(true)
    }
    const dsDir = path.join(root, 'infra/grafana/provisioning/datasources')
    const ds: Datasource[] = readdirSync(dsDir).flatMap(
      (f) => YAML.parse(readFileSync(path.join(dsDir, f), 'utf8')).datasources,
    )
    const ch = ds.find((d: Datasource) => d.type === 'grafana-clickhouse-datasource')
    expect(ch?.jsonData.host).toBe('clickhouse')
    expect(ch?.jsonData.port).toBe(8123)
    const provider = YAML.parse(
      readFileSync(path.join(root, 'infra/grafana/provisioning/dashboards/connrca.yaml'), 'utf8'),
    )
    expect(g.volumes).toContain(`./infra/grafana/dashboards:${provider.providers[0].options.path}:ro`)
  })
})
