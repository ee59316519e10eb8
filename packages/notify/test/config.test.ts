import { ConfigError, NotifyConfig, parseConfig } from '@connrca/contracts'
import { describe, expect, it } from 'vitest'
import { createNotifier } from '../src/notifier.js'
import { resolveConfig } from '../src/resolve-config.js'
import { memoryNotifyState } from '../src/state.js'

const base = {
  receivers: [{ name: 'hook', url: 'https://example.com/hook/abc' }],
  routes: [{ name: 'ops', receivers: ['hook'] }],
}

describe('notify config', () => {
  it('fills in Alertmanager-like defaults', () => {
    const cfg = NotifyConfig.parse(base)
    expect(cfg.routes[0]).toMatchObject({
      groupBy: ['server', 'category'],
      groupWait: '30s',
      groupInterval: '5m',
      repeatInterval: '4h',
      sendResolved: true,
    })
    expect(cfg.inhibit).toEqual([
      { source: { categories: ['transient'] }, target: { categories: ['network'] }, equal: ['server'] },
    ])
    expect(cfg.receivers[0].retry).toEqual({ attempts: 8, initialBackoff: '1s', maxBackoff: '5m' })
    const r = resolveConfig(cfg, {})
    expect(r.routes[0].groupWaitMs).toBe(30_000)
    expect(r.receivers.get('hook')!.minIntervalMs).toBe(0)
  })

  it('rate-limits Slack receivers to one message per second by default', () => {
    const cfg = NotifyConfig.parse({ ...base, receivers: [{ ...base.receivers[0], format: 'slack' }] })
    expect(resolveConfig(cfg, {}).receivers.get('hook')!.minIntervalMs).toBe(1000)
  })

  it('reports unknown receivers, duplicates and bad durations with their path', () => {
    const doc = {
      notify: {
        receivers: [base.receivers[0], base.receivers[0]],
        routes: [{ name: 'ops', receivers: ['hook', 'pager'], groupWait: 'soon' }],
      },
    }
    let msg = ''
    try {
      parseConfig(doc, {}, 'connrca.yaml')
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError)
      msg = (e as Error).message
    }
    expect(msg).toContain('connrca.yaml: notify.receivers.1.name: duplicate receiver "hook"')
    expect(msg).toContain('connrca.yaml: notify.routes.0.receivers.1: unknown receiver "pager"')
    expect(msg).toContain('connrca.yaml: notify.routes.0.groupWait')
  })

  it('takes URL and secret from the environment and says which variable is missing', () => {
    const cfg = NotifyConfig.parse({
      ...base,
      receivers: [{ name: 'hook', urlEnv: 'HOOK_URL', secretEnv: 'HOOK_SECRET' }],
    })
    const r = resolveConfig(cfg, { HOOK_URL: 'https://example.com/x', HOOK_SECRET: 's' })
    expect(r.receivers.get('hook')).toMatchObject({ url: 'https://example.com/x', secret: 's' })
    expect(() => resolveConfig(cfg, { HOOK_URL: 'https://example.com/x' })).toThrow(
      'notify.receivers.hook: environment variable HOOK_SECRET is not set',
    )
    expect(() => NotifyConfig.parse({ ...base, receivers: [{ name: 'hook' }] })).toThrow(
      'a receiver needs `url` or `urlEnv`',
    )
  })

  it('refuses a URL from the environment with a scheme no webhook has, naming the variable, at start', () => {
    const cfg = NotifyConfig.parse({ ...base, receivers: [{ name: 'hook', urlEnv: 'HOOK_URL' }] })
    expect(() => resolveConfig(cfg, { HOOK_URL: 'smtp://mail.example.com' })).toThrow(
      'notify.receivers.hook: the URL from HOOK_URL must start with http:// or https://, not smtp://',
    )
    expect(() => createNotifier({ config: cfg, state: memoryNotifyState(), env: { HOOK_URL: 'file:///etc/passwd' } })).toThrow(
      'the URL from HOOK_URL must start with http:// or https://',
    )
  })

  it('rejects a bad digest schedule when the notifier is created', () => {
    const config = NotifyConfig.parse({ ...base, routes: [{ ...base.routes[0], digest: { schedule: 'every day' } }] })
    expect(() => createNotifier({ config, state: memoryNotifyState() })).toThrow(
      'notify.routes.ops.digest.schedule: "every day" is not a cron expression',
    )
  })
})
