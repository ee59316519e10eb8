import { Classifier, REASONS } from '@connrca/classifier'
import type { LogRecord } from '@connrca/contracts'
import { sampleEvent } from '@connrca/notify'
import { createParser } from '@connrca/pglog'
import { describe, expect, it } from 'vitest'

/** `connrca notify test` shows receivers what real notifications carry: codes the classifier emits. */
describe('the sample notification', () => {
  it('uses reason codes the classifier really emits for its own sample messages', () => {
    const e = sampleEvent(Date.UTC(2026, 2, 2, 11))
    for (const r of e.reasons) expect(Object.keys(REASONS)).toContain(r.value)
    const records: LogRecord[] = []
    const parser = createParser(
      { format: 'stderr', prefix: '%m [%p] %q%u@%d ', server: e.server, source: { kind: 'file', name: 'sample' } },
      { record: (r) => records.push(r), deadLetter: (d) => expect.fail(d.reason) },
    )
    for (const [i, m] of e.sampleMessages.entries())
      parser.push(`2026-03-02 10:00:00.120 UTC [${10 + i}] app@orders FATAL:  ${m}`, i * 200)
    parser.flush()
    const classifier = new Classifier()
    const events = records.map((r) => classifier.classify(r))
    expect(events.map((ev) => [ev?.category, ev?.reason])).toEqual(e.sampleMessages.map(() => [e.category, e.reasons[0].value]))
  })
})
