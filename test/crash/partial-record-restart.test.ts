import { describe, expect, it } from 'vitest'
import { partialRecordScenario } from './support/partial.js'

// Regression: a follower that (re)started while the file ended inside a multi-line record used to
// release the record as soon as it had caught up; the DETAIL written 200 ms later was then lost and
// the stored reason changed (password_mismatch -> password_auth_failed). Now the record is held
// until the file has been quiet for a second, as in a follower that never restarted.
describe('a restart while the file ends inside a multi-line record', () => {
  it('stores the reason of the complete record', async () => {
    const { live, reference } = await partialRecordScenario('restart-mid-record')
    expect(live).toEqual(reference)
  }, 120_000)
})
