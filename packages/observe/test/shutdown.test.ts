import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const fixture = fileURLToPath(new URL('./fixtures/shutdown-child.ts', import.meta.url))
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))

/** Runs the fixture; sends each signal once its trigger text has appeared in the output. */
function runChild(
  mode: string,
  plan: [trigger: string, signal: NodeJS.Signals][],
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, mode], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    const onData = (d: Buffer) => {
      out += d
      // Standard signals do not queue: send the next only after the previous one was handled.
      while (plan.length && out.includes(plan[0][0])) child.kill(plan.shift()![1])
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('error', reject)
    child.on('exit', (code) => resolve({ code, out }))
  })
}

describe('onShutdown', () => {
  it('runs steps in reverse order on SIGTERM, finishing async work, then exits 0', async () => {
    const { code, out } = await runChild('ok', [['ready', 'SIGTERM']])
    expect(code).toBe(0)
    const steps = out.split('\n').filter((l) => l.startsWith('step '))
    expect(steps).toEqual(['step consumer stopped', 'step producer flushed'])
  }, 20_000)

  it('exits 1 when a step fails, after running the others', async () => {
    const { code, out } = await runChild('fail', [['ready', 'SIGINT']])
    expect(code).toBe(1)
    expect(out).toContain('step failed: commit failed')
    expect(out).toContain('step producer flushed')
  }, 20_000)

  it('a second signal forces the exit while a step hangs', async () => {
    const { code, out } = await runChild('hang', [
      ['ready', 'SIGTERM'],
      ['stopping', 'SIGTERM'],
    ])
    expect(code).toBe(130)
    expect(out).toContain('exiting now')
  }, 20_000)
})
