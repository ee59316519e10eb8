/**
 * Deliberately broken commit/restore orders, injected into a connrca child with `--import` when
 * CRASH_MUTANT names one. They exist to show that the crash test notices each kind of bug
 * (`CRASH_MUTANT=checkpoint-first npx vitest run test/crash` must fail); the normal run never loads them.
 */
import { putCheckpoint } from '@connrca/store'
import { EmbeddedPipeline } from '../../../services/cli/src/embedded/pipeline.js'

type Internals = {
  serial<T>(fn: () => Promise<T>): Promise<T>
  aggregator: EmbeddedPipeline['aggregator']
  store: EmbeddedPipeline['store']
}

const mutant = process.env.CRASH_MUTANT
const proto = EmbeddedPipeline.prototype as unknown as Internals & { commit: EmbeddedPipeline['commit'] }

if (mutant === 'checkpoint-first') {
  // Positions saved before the rows they cover are stored: a kill in between loses those rows.
  proto.commit = function (this: Internals, sourcesState: () => unknown) {
    return this.serial(async () => {
      const cp = { sources: sourcesState(), stages: this.aggregator.snapshot() }
      if (this.store) await putCheckpoint(this.store, 'embedded.pipeline', JSON.stringify(cp))
      await new Promise((r) => setTimeout(r, 400))
      await this.aggregator.flush()
    })
  }
} else if (mutant === 'positions-only') {
  // Positions saved without the window/incident state: a restart forgets the open windows.
  proto.commit = function (this: Internals, sourcesState: () => unknown) {
    return this.serial(async () => {
      const cp = { sources: sourcesState() }
      await this.aggregator.flush()
      if (this.store) await putCheckpoint(this.store, 'embedded.pipeline', JSON.stringify(cp))
    })
  }
} else if (mutant) {
  throw new Error(`CRASH_MUTANT=${mutant}: unknown mutant (checkpoint-first, positions-only)`)
}
