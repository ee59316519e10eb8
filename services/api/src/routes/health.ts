import { HealthResponse, NoQuery } from '@connrca/contracts'
import type { Deps } from '../deps.js'
import { route } from '../router.js'
import { ms, num } from '../sql-fragments.js'

const DAY = 86_400_000

export function healthRoutes(deps: Deps) {
  return [
    route({
      method: 'GET',
      path: '/api/v1/health',
      tag: 'pipeline',
      summary: 'Pipeline health: sources, lag, last event time, dead letters, checkpoints',
      description:
        '`pipeline` is what the running process reports (null when the api runs alone); `store` is read ' +
        'from the tables, so it also reflects services running elsewhere.',
      query: NoQuery,
      response: HealthResponse,
      async handler({ now }) {
        const since = now - DAY
        const [pipeline, servers, dead, checkpoints] = await Promise.all([
          deps.health ? Promise.resolve(deps.health()).catch(() => null) : Promise.resolve(null),
          deps.query<{ server: string; last: number; n: number }>(
            `SELECT server, ${ms('max(time)')} AS last,
                    toFloat64(countIf(time >= fromUnixTimestamp64Milli({since:Int64}))) AS n
             FROM connection_events GROUP BY server ORDER BY server LIMIT 1000`,
            { since },
          ),
          deps.query<{ stage: string; n: number; recent: number; last: number }>(
            `SELECT stage, toFloat64(count()) AS n,
                    toFloat64(countIf(time >= fromUnixTimestamp64Milli({since:Int64}))) AS recent,
                    ${ms('max(time)')} AS last
             FROM dead_letters FINAL GROUP BY stage ORDER BY stage`,
            { since },
          ),
          deps.query<{ name: string; value: string; upd: number }>(
            `SELECT name, argMax(value, updated) AS value, ${ms('max(updated)')} AS upd
             FROM checkpoints GROUP BY name ORDER BY name LIMIT 500`,
          ),
        ])
        const serverRows = servers.map((s) => ({ server: s.server, lastEventTime: num(s.last), events24h: num(s.n) }))
        const lastEventTime = serverRows.length ? Math.max(...serverRows.map((s) => s.lastEventTime)) : null
        const byStage = dead.map((d) => ({ stage: d.stage, count: num(d.n), lastTime: num(d.last) }))
        return {
          status: pipeline?.status ?? 'ok',
          now,
          pipeline,
          store: {
            database: deps.store.database,
            lastEventTime,
            lagMs: lastEventTime === null ? null : Math.max(0, now - lastEventTime),
            servers: serverRows,
            deadLetters: {
              total: byStage.reduce((a, d) => a + d.count, 0),
              last24h: dead.reduce((a, d) => a + num(d.recent), 0),
              byStage,
            },
            checkpoints: checkpoints.map((c) => ({ name: c.name, value: c.value, updated: Math.round(num(c.upd)) })),
          },
        }
      },
    }),
  ]
}
