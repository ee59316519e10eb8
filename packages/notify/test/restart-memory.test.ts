import { afterAll, beforeAll, describe, it } from 'vitest'
import { memoryNotifyState } from '../src/state.js'
import { startReceiver, type TestReceiver } from './helpers.js'
import { restartScenarios } from './restart-scenarios.js'

let rx: TestReceiver
let s: ReturnType<typeof restartScenarios>
beforeAll(async () => {
  rx = await startReceiver()
  s = restartScenarios(rx, async () => memoryNotifyState())
})
afterAll(async () => rx.close())

describe('restart with in-memory state', () => {
  it('does not re-send what was delivered', () => s.noDuplicatesAfterRestart())
  it('does not lose a pending resolve', () => s.pendingResolveSurvives())
  it('keeps a group inside group_wait', () => s.pendingGroupWaitSurvives())
  it('resumes a notification that was being retried', () => s.retryingJobSurvives())
})
