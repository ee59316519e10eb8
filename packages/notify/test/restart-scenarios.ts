import { NotifyConfig } from '@connrca/contracts'
import { expect } from 'vitest'
import { createNotifier } from '../src/notifier.js'
import type { NotifyStateStore } from '../src/state.js'
import { FakeClock, MIN, makeEvent, SEC, type TestReceiver } from './helpers.js'

/**
 * Restart scenarios shared by the in-memory and the ClickHouse state stores: a second notifier
 * over the same state plays the restarted process.
 */
export function restartScenarios(rx: TestReceiver, fresh: () => Promise<NotifyStateStore>) {
  const clock = new FakeClock()
  const make = (state: NotifyStateStore) =>
    createNotifier({
      config: NotifyConfig.parse({
        receivers: [{ name: 'hook', url: rx.url, retry: { attempts: 5, initialBackoff: '1s' } }],
        routes: [{ name: 'ops', receivers: ['hook'] }],
      }),
      state,
      clock,
      random: () => 1,
    })

  return {
    async noDuplicatesAfterRestart() {
      const state = await fresh()
      const before = rx.requests.length
      const a = make(state)
      await a.handle([makeEvent({ id: 'r1', server: 's1' })])
      clock.advance(30 * SEC)
      await a.tick()
      expect(rx.requests.length - before).toBe(1)
      await a.stop()
      const b = make(state)
      // Replayed input (e.g. Kafka re-delivery after the crash) and later ticks send nothing new.
      await b.handle([makeEvent({ id: 'r1', server: 's1' })])
      for (let i = 0; i < 5; i++) {
        clock.advance(5 * MIN)
        await b.tick()
      }
      expect(rx.requests.length - before).toBe(1)
      await b.stop()
    },

    async pendingResolveSurvives() {
      const state = await fresh()
      const before = rx.requests.length
      const a = make(state)
      await a.handle([makeEvent({ id: 'r2', server: 's2' })])
      clock.advance(30 * SEC)
      await a.tick()
      await a.handle([makeEvent({ id: 'r2', server: 's2', revision: 2, status: 'resolved' })])
      await a.stop() // before the group_interval flush
      const b = make(state)
      clock.advance(5 * MIN)
      await b.tick()
      const sent = rx.requests.slice(before)
      expect(sent).toHaveLength(2)
      expect(sent[1].json.status).toBe('resolved')
      await b.stop()
    },

    async pendingGroupWaitSurvives() {
      const state = await fresh()
      const before = rx.requests.length
      const a = make(state)
      await a.handle([makeEvent({ id: 'r3', server: 's3' })])
      await a.stop() // inside group_wait
      const b = make(state)
      clock.advance(30 * SEC)
      await b.tick()
      expect(rx.requests.length - before).toBe(1)
      await b.stop()
    },

    async retryingJobSurvives() {
      const state = await fresh()
      const before = rx.requests.length
      rx.replies = [503]
      const a = make(state)
      await a.handle([makeEvent({ id: 'r4', server: 's4' })])
      clock.advance(30 * SEC)
      await a.tick()
      expect(rx.requests.length - before).toBe(1)
      await a.stop()
      const b = make(state)
      clock.advance(1 * SEC)
      await b.tick()
      expect(rx.requests.length - before).toBe(2)
      expect(rx.requests.at(-1)!.headers['idempotency-key']).toBe('r4:1')
      clock.advance(5 * MIN)
      await b.tick()
      expect(rx.requests.length - before).toBe(2)
      await b.stop()
    },
  }
}
