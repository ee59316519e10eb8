import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { ApiConfigInput, PipelineHealth } from '@connrca/contracts'
import { openStore, type Store } from '@connrca/store'
import { createApiServer } from '../src/index.js'
import { generateSampleData, loadSampleData, type SampleData } from './sample-data.js'

export const TOKEN = 'test-token-0123456789abcdef'

export interface Harness {
  url: string
  store: Store
  data: SampleData
  now: number
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies
  get(path: string, token?: string | null): Promise<{ status: number; body: any; headers: Headers }>
  post(path: string, body: unknown, token?: string | null): Promise<{ status: number; text: string; headers: Headers }>
  close(): Promise<void>
}

/** chDB in a fresh directory, a day of sample data ending now, and the api on a free port. */
export async function startHarness(config: ApiConfigInput = {}, health?: () => PipelineHealth): Promise<Harness> {
  const dir = mkdtempSync(path.join(tmpdir(), 'connrca-api-'))
  const store = await openStore({ dataDir: dir })
  await store.migrate()
  const now = Date.now()
  const data = generateSampleData(now)
  await loadSampleData(store, data)
  const api = createApiServer({ store, config: { port: 0, token: TOKEN, ...config }, health, onError: () => {} })
  const { url } = await api.listen()
  const auth = (token: string | null | undefined): Record<string, string> =>
    token === null ? {} : { authorization: `Bearer ${token ?? TOKEN}` }
  return {
    url,
    store,
    data,
    now,
    async get(p, token) {
      const res = await fetch(url + p, { headers: auth(token) })
      const text = await res.text()
      let body: unknown = text
      try {
        body = JSON.parse(text)
      } catch {}
      return { status: res.status, body, headers: res.headers }
    },
    async post(p, body, token) {
      const res = await fetch(url + p, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth(token) },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      })
      return { status: res.status, text: await res.text(), headers: res.headers }
    },
    async close() {
      await api.close()
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
