import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { clickhouseNotifyState } from '@connrca/notify'
import { openStore } from '@connrca/store'
import { describe, expect, it } from 'vitest'
import { connrca } from '../support/cli.js'

/** `connrca notify retry` tells scripts whether the re-send achieved anything (issue 14). */
describe('connrca notify retry', () => {
  it('exits 1 when every dead letter failed again, 0 once they are re-sent', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'connrca-notify-retry-'))
    const dataDir = join(dir, 'data')
    let up = false
    const server = createServer((req, res) => {
      req.resume()
      res.writeHead(up ? 200 : 503).end()
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as AddressInfo).port
    const config = join(dir, 'connrca.yaml')
    await writeFile(
      config,
      `notify:\n  receivers: [{ name: hook, url: 'http://127.0.0.1:${port}/hook', retry: { attempts: 1 } }]\n  routes: [{ name: all, receivers: [hook] }]\n`,
    )
    const store = await openStore({ dataDir })
    try {
      await store.migrate()
      const now = Date.now()
      await clickhouseNotifyState(store).putDeadLetters([
        {
          id: 'dl-1',
          createdAt: now,
          updatedAt: now,
          route: 'all',
          receiver: 'hook',
          kind: 'test',
          groupKey: 'g',
          idempotencyKey: 'k-1',
          body: '{}',
          error: 'HTTP 503',
          attempts: 1,
          status: 'pending',
        },
      ])
    } finally {
      await store.close()
    }
    try {
      const failed = await connrca(['notify', 'retry', '--config', config, '--data-dir', dataDir])
      expect(failed.stdout).toContain('re-sent 0 dead-lettered notification(s), 1 failed again')
      expect(failed.code).toBe(1)
      up = true
      const sent = await connrca(['notify', 'retry', '--config', config, '--data-dir', dataDir])
      expect(sent.stdout).toContain('re-sent 1 dead-lettered notification(s), 0 failed again')
      expect(sent.code, sent.stderr).toBe(0)
    } finally {
      server.close()
    }
  }, 60_000)
})
