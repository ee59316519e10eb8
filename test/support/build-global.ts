import { ensureBuilt } from '../../scripts/build.js'

/** `connrca service …` children and the package test run the compiled dist/: build it once per run when stale. */
export default async function setup(): Promise<void> {
  const started = performance.now()
  if ((await ensureBuilt()) === 'built') {
    process.stderr.write(`test setup: built dist/ in ${Math.round(performance.now() - started)} ms\n`)
  }
}
