import { NotifyConfig } from '@connrca/contracts'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { createNotifier } from '../src/notifier.js'
import { memoryNotifyState } from '../src/state.js'
import { makeEvent, startReceiver, type TestReceiver } from './helpers.js'

let rx: TestReceiver
beforeEach(async () => {
  rx = await startReceiver()
})
afterEach(async () => rx.close())

const config = () =>
  NotifyConfig.parse({
    tickInterval: '50ms',
    receivers: [{ name: 'hook', url: rx.url, timeout: '400ms' }],
    routes: [{ name: 'ops', receivers: ['hook'], groupWait: '100ms' }],
  })

it('start() delivers on its own timer with the system clock', async () => {
  const n = createNotifier({ config: config(), state: memoryNotifyState() })
  n.start()
  await n.handle([makeEvent({ id: 'a' })])
  const deadline = Date.now() + 3000
  while (rx.requests.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  await n.stop()
  expect(rx.requests).toHaveLength(1)
  expect(rx.requests[0].headers['idempotency-key']).toBe('a:1')
})

it('stop() waits for an in-flight delivery and persists its outcome', async () => {
  rx.replies = ['hang']
  const state = memoryNotifyState()
  const n = createNotifier({ config: config(), state })
  n.start()
  await n.handle([makeEvent({ id: 'a' })])
  const deadline = Date.now() + 3000
  while (rx.requests.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
  await n.stop() // returns only after the 400 ms timeout ended the attempt
  const jobs = (await state.load()).filter((r) => r.kind === 'job').map((r) => JSON.parse(r.body))
  expect(jobs).toHaveLength(1)
  expect(jobs[0].attempts).toBe(1)
  expect(jobs[0].lastError).toContain('timed out after 400 ms')
})

it('a state store that cannot be read at start is read again by the next call', async () => {
  const state = memoryNotifyState()
  let down = true
  const flaky = { ...state, load: () => (down ? Promise.reject(new Error('store unreachable')) : state.load()) }
  const n = createNotifier({ config: config(), state: flaky })
  n.start()
  await expect(n.handle([makeEvent({ id: 'a' })])).rejects.toThrow('store unreachable')
  down = false
  await n.handle([makeEvent({ id: 'a' })])
  const deadline = Date.now() + 3000
  while (rx.requests.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  await n.stop()
  expect(rx.requests.map((r) => r.headers['idempotency-key'])).toEqual(['a:1'])
})
