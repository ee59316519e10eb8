/**
 * Deliberate bugs for kafka.test.ts, loaded into every `connrca service` child with `--import`
 * when KAFKA_CRASH_MUTANT names one; the test must then fail. The normal run never loads this.
 */
import { WindowStage } from '../../../packages/pipeline/src/stages/window.js'

const mutant = process.env.KAFKA_CRASH_MUTANT
const service = process.argv.at(-1)

if (mutant === 'forget-windows') {
  // Checkpoints without the open windows: whoever restores one (restart, rebalance, store
  // failure) counts those windows from zero again.
  const snapshot = WindowStage.prototype.snapshot
  WindowStage.prototype.snapshot = function (this: WindowStage) {
    const s = snapshot.call(this)
    return { ...s, windows: { ...(s.windows as object), keys: [] } }
  }
} else if (mutant === 'double-post') {
  // A notifier that posts every webhook twice with the same idempotency key.
  if (service === 'notifier') {
    const send = globalThis.fetch
    globalThis.fetch = async (input, init) => {
      await send(input, init)
      return send(input, init)
    }
  }
} else if (mutant) {
  throw new Error(`KAFKA_CRASH_MUTANT=${mutant}: unknown mutant (forget-windows, double-post)`)
}
