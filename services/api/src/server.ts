import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ApiConfig, type ApiConfigInput, type PipelineHealth } from '@connrca/contracts'
import type { Store } from '@connrca/store'
import { assertSafeBinding, bearerMatches } from './auth.js'
import { type Deps, limitedQuery } from './deps.js'
import { HttpError, readJson, send, sendError, sendJson } from './http.js'
import { ApiMetrics } from './metrics.js'
import { buildOpenApi } from './openapi.js'
import { failuresRoutes } from './routes/failures.js'
import { healthRoutes } from './routes/health.js'
import { metaRoutes } from './routes/meta.js'
import { rcaRoutes } from './routes/rca.js'
import { sqlRoutes } from './routes/sql.js'
import { topRoutes } from './routes/top.js'
import { matchRoute, queryObject, RawResponse, type Route, validate } from './router.js'
import { type Asset, loadAssets, PAGE_CSP } from './static.js'

export interface ApiServerOptions {
  store: Store
  /** The `api` section of connrca.yaml; defaults filled in when partial. */
  config: ApiConfigInput
  health?: () => PipelineHealth | Promise<PipelineHealth>
  /** The pipeline's window width in ms (default 5 min): the automatic step is never finer. */
  windowMs?: number
  /** Extra Prometheus text appended to /metrics (e.g. the process-wide registry). */
  metrics?: () => string
  /** Called with internal errors (the response only says "internal error"). */
  onError?: (err: unknown, where: string) => void
}

export interface ApiServer {
  listen(): Promise<{ url: string }>
  close(): Promise<void>
  /** The route table, for the OpenAPI document and tests. */
  readonly routes: readonly Route[]
}

const VERSION = '1.0.0'

export function createApiServer(opts: ApiServerOptions): ApiServer {
  const config = ApiConfig.parse(opts.config)
  assertSafeBinding(config.host, config.token)
  const deps: Deps = {
    store: opts.store,
    config,
    health: opts.health,
    windowMs: opts.windowMs ?? 5 * 60_000,
    maxRangeMs: config.maxRangeDays * 86_400_000,
    query: limitedQuery(opts.store),
  }
  const routes: Route[] = [
    ...metaRoutes(deps),
    ...failuresRoutes(deps),
    ...topRoutes(deps),
    ...rcaRoutes(deps),
    ...healthRoutes(deps),
    ...sqlRoutes(deps),
  ]
  const openapi = JSON.stringify(buildOpenApi(routes, { version: VERSION, tokenRequired: !!config.token }))
  const assets = loadAssets()
  const metrics = new ApiMetrics()
  const corsOrigins = new Set(config.cors)
  const onError =
    opts.onError ?? ((err: unknown, where: string) => console.error(`api: ${where}: ${(err as Error)?.stack ?? err}`))

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<string> {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const method = req.method ?? 'GET'
    const origin = req.headers.origin
    if (typeof origin === 'string' && corsOrigins.has(origin)) {
      res.setHeader('access-control-allow-origin', origin)
      res.setHeader('vary', 'Origin')
      if (method === 'OPTIONS') {
        res.setHeader('access-control-allow-methods', 'GET, POST')
        res.setHeader('access-control-allow-headers', 'authorization, content-type')
        res.setHeader('access-control-max-age', '600')
        send(res, 204, '', 'text/plain')
        return 'preflight'
      }
    }

    // The dashboard shell is static and holds no data: a browser navigation cannot carry a
    // bearer header, so the page loads openly and every data request it makes needs the token.
    // /incidents/<id> is one page for every id; the script reads the id from the address
    const assetPath = /^\/incidents\/[^/]+$/.test(url.pathname) ? '/incidents/' : url.pathname
    const asset = method === 'GET' || method === 'HEAD' ? assets.get(assetPath) : undefined
    if (asset) {
      sendAsset(res, asset)
      return 'static'
    }

    if (url.pathname === '/metrics' && (method === 'GET' || method === 'HEAD')) {
      requireToken(req)
      send(res, 200, metrics.render() + (opts.metrics?.() ?? ''), 'text/plain; version=0.0.4; charset=utf-8')
      return '/metrics'
    }
    if (url.pathname === '/api/v1/openapi.json' && (method === 'GET' || method === 'HEAD')) {
      requireToken(req)
      send(res, 200, openapi, 'application/json; charset=utf-8')
      return '/api/v1/openapi.json'
    }

    const match = matchRoute(routes, method, url.pathname)
    if (!match)
      throw new HttpError(404, 'not_found', `no route for ${method} ${url.pathname}; see /api/v1/openapi.json`)
    if ('allowed' in match) {
      res.setHeader('allow', match.allowed.join(', '))
      throw new HttpError(405, 'method_not_allowed', `${url.pathname} accepts ${match.allowed.join(', ')}`)
    }
    const { route, params } = match
    if (route.auth !== false) requireToken(req)
    const query = validate(route.query, queryObject(url.searchParams), 'query')
    const pathParams = validate(route.params, params, 'path')
    const body = route.body ? validate(route.body, await readJson(req, config.maxBodyBytes), 'body') : undefined
    const result = await route.handler({ query, params: pathParams, body, req, res, now: Date.now() })
    if (result instanceof RawResponse) send(res, result.status, result.body, result.contentType, result.headers)
    else sendJson(res, 200, result)
    return route.path
  }

  function requireToken(req: IncomingMessage): void {
    if (!config.token) return
    if (!bearerMatches(req, config.token)) {
      throw new HttpError(401, 'unauthorized', 'missing or wrong bearer token (Authorization: Bearer <api.token>)')
    }
  }

  const server = createServer((req, res) => {
    const started = performance.now()
    handle(req, res).then(
      (name) => metrics.observe(name, res.statusCode, (performance.now() - started) / 1000),
      (err: unknown) => {
        let httpErr: HttpError
        if (err instanceof HttpError) {
          httpErr = err
        } else {
          onError(err, `${req.method} ${(req.url ?? '').split('?')[0]}`)
          httpErr = new HttpError(500, 'internal', 'internal error; the server log has the details')
        }
        if (httpErr.status === 401) res.setHeader('www-authenticate', 'Bearer')
        sendError(res, httpErr)
        metrics.observe('error', httpErr.status, (performance.now() - started) / 1000)
      },
    )
  })
  server.requestTimeout = 120_000
  server.headersTimeout = 20_000

  return {
    routes,
    listen() {
      return new Promise((resolve, reject) => {
        const onErr = (err: NodeJS.ErrnoException) =>
          reject(new Error(`api: cannot listen on ${config.host}:${config.port}: ${err.code ?? err.message}`))
        server.once('error', onErr)
        server.listen(config.port, config.host, () => {
          server.off('error', onErr)
          const addr = server.address() as AddressInfo
          const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
          resolve({ url: `http://${host}:${addr.port}` })
        })
      })
    },
    close() {
      return new Promise((resolve) => {
        if (!server.listening) return resolve()
        server.close(() => resolve())
        server.closeAllConnections()
      })
    },
  }
}

function sendAsset(res: ServerResponse, asset: Asset): void {
  send(res, 200, asset.body, asset.type, {
    'cache-control': asset.immutable ? 'public, max-age=86400' : 'no-cache',
    'content-security-policy': PAGE_CSP,
  })
}
