import { NoQuery } from '@connrca/contracts'
import type { Deps } from '../deps.js'
import { route } from '../router.js'
import { EXAMPLES, TABLES } from '../schema-doc.js'

export function metaRoutes(deps: Deps) {
  return [
    route({
      method: 'GET',
      path: '/healthz',
      tag: 'pipeline',
      summary: 'Liveness: 200 while the api can reach its store (no token needed)',
      auth: false,
      query: NoQuery,
      async handler() {
        await deps.store.ping()
        return { status: 'ok' }
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/schema',
      tag: 'sql',
      summary: 'Tables and columns of the store, with example queries, for writing SQL',
      query: NoQuery,
      async handler() {
        return { database: deps.store.database, tables: TABLES, examples: EXAMPLES }
      },
    }),
  ]
}
