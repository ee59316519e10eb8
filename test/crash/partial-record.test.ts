import { describe, expect, it } from 'vitest'
import { partialRecordScenario } from './support/partial.js'

// A writer that stops inside a multi-line record (FATAL line written, DETAIL not yet) while the
// follower is killed: the stored reason must be the one of the complete record, as in a one-shot
// run on the finished file (the restart case is in partial-record-restart.test.ts).
describe('a kill while the file ends inside a multi-line record', () => {
  it('without a crash, a short pause inside the record changes nothing (control)', async () => {
    const { live, reference } = await partialRecordScenario('no-crash')
    expect(reference.reasons.password_mismatch).toBeGreaterThan(0)
    expect(live).toEqual(reference)
  }, 120_000)

  it('killed mid-record, the rest written while it is down: the restart reads the whole record', async () => {
    const { live, reference } = await partialRecordScenario('kill-then-rest')
    expect(live).toEqual(reference)
  }, 120_000)
})
