/** Config that says what is wrong (issue 14): every mistake below used to pass or fail late. */
import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from '../src/index.js'

function problems(doc: unknown, env: Record<string, string> = {}): string[] {
  try {
    parseConfig(doc, env, 'connrca.yaml')
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return (err as Error).message.split('\n')
  }
  return []
}

describe('connrca.yaml is read strictly', () => {
  it('an unknown key is an error with its path and the key that was meant', () => {
    expect(problems({ sorces: [{ type: 'file', paths: ['/var/log/pg.log'] }] })).toEqual([
      'connrca.yaml: sorces: unknown key (did you mean "sources"?)',
    ])
    expect(problems({ pipeline: { windw: '5m' }, sources: [{ type: 'file', paths: ['x'], folow: false }] })).toEqual([
      'connrca.yaml: pipeline.windw: unknown key (did you mean "window"?)',
      'connrca.yaml: sources.0.folow: unknown key (did you mean "follow"?)',
    ])
    // inside a discriminated union's variant, a record's values, and a nested object
    expect(
      problems({
        servers: [{ name: 'a', flavor: 'single' }],
        sources: [{ type: 'azure', workspaceId: 'w', credential: { type: 'clientSecret', tenantId: 't', clientId: 'c', clientSecrt: 's' } }],
        api: { sql: { maxRow: 5 } },
      }),
    ).toEqual([
      'connrca.yaml: servers.0.flavor: unknown key (did you mean "flavour"?)',
      'connrca.yaml: sources.0.credential.clientSecrt: unknown key (did you mean "clientSecret"?)',
      'connrca.yaml: api.sql.maxRow: unknown key (did you mean "maxRows"?)',
    ])
    // far from every known key: no guess
    expect(problems({ pipeline: { colour: 'blue' } })).toEqual(['connrca.yaml: pipeline.colour: unknown key'])
  })

  it('a duration needs a unit (30 used to mean 30 ms)', () => {
    expect(problems({ pipeline: { window: 300, idleTimeout: 30 } })).toEqual([
      'connrca.yaml: pipeline.window: 300 has no unit: write 300s, 300m or 300ms (units: ms, s, m, h, d)',
      'connrca.yaml: pipeline.idleTimeout: 30 has no unit: write 30s, 30m or 30ms (units: ms, s, m, h, d)',
    ])
    expect(problems({ notify: { receivers: [{ name: 'a', url: 'https://x/y', timeout: 5 }] } })).toEqual([
      'connrca.yaml: notify.receivers.0.timeout: 5 has no unit: write 5s, 5m or 5ms (units: ms, s, m, h, d)',
    ])
    expect(problems({ pipeline: { idleTimeout: '30s', allowedLateness: 0 } })).toEqual([])
  })

  it('URLs with a scheme that cannot work are refused when the config is read', () => {
    expect(problems({ notify: { receivers: [{ name: 'a', url: 'ftp://hooks.example.com/x' }] } })).toEqual([
      'connrca.yaml: notify.receivers.0.url: must start with http:// or https://',
    ])
    expect(problems({ store: { url: 'tcp://clickhouse:9000' } })).toEqual([
      'connrca.yaml: store.url: must start with http:// or https://',
    ])
    expect(problems({ sources: [{ type: 'azure', workspaceId: 'w', endpoint: 'http://api.loganalytics.io/v1' }] })).toEqual([
      'connrca.yaml: sources.0.endpoint: must start with https://',
    ])
  })

  it('serverFromPath must compile and capture (?<server>…)', () => {
    expect(problems({ sources: [{ type: 'file', paths: ['x'], serverFromPath: 'logs/([^/]+)/' }] })).toEqual([
      'connrca.yaml: sources.0.serverFromPath: needs a named group (?<server>…) that captures the server name',
    ])
    const [bad] = problems({ sources: [{ type: 'file', paths: ['x'], serverFromPath: 'logs/(?<server>[^/]+/' }] })
    expect(bad).toMatch(/^connrca\.yaml: sources\.0\.serverFromPath: not a valid regular expression: .*Unterminated group/)
  })

  it('an error in a value from the environment names the variable', () => {
    expect(problems({}, { CONNRCA_API_PORT: '80a' })).toEqual([
      'CONNRCA_API_PORT: Invalid input: expected number, received string (it sets api.port)',
    ])
    expect(problems({}, { CONNRCA_STORE_URL: 'clickhouse:8123' })[0]).toMatch(/^CONNRCA_STORE_URL: .* \(it sets store\.url\)$/)
    expect(parseConfig({}, { CONNRCA_API_PORT: '9090' }).api.port).toBe(9090)
  })
})
