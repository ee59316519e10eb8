import type { IncomingMessage, ServerResponse } from 'node:http'
import { HttpError } from './http.js'

/** The slice of a zod schema the router needs; keeps this service free of a direct zod import. */
export interface Schema<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: Issue[] } }
  toJSONSchema(opts?: { io?: 'input' | 'output'; unrepresentable?: 'any' | 'throw' }): Record<string, unknown>
}
interface Issue {
  path: PropertyKey[]
  message: string
}

export interface RouteContext<Q, B, P> {
  query: Q
  body: B
  params: P
  req: IncomingMessage
  res: ServerResponse
  now: number
}

/** A response that is not JSON (CSV, text table, static files). */
export class RawResponse {
  constructor(
    readonly status: number,
    readonly contentType: string,
    readonly body: string | Buffer,
    readonly headers: Record<string, string> = {},
  ) {}
}

export interface RouteDef<Q, B, P> {
  method: 'GET' | 'POST'
  /** `/api/v1/rca/:id`: `:name` segments become `params`. */
  path: string
  tag: string
  summary: string
  description?: string
  query?: Schema<Q>
  params?: Schema<P>
  body?: Schema<B>
  /** For the OpenAPI document only. */
  response?: Schema<unknown>
  /** Extra content types the route can answer with (besides application/json). */
  produces?: string[]
  /** false only for /healthz. */
  auth?: boolean
  handler(ctx: RouteContext<Q, B, P>): Promise<unknown>
}

// biome-ignore lint/suspicious/noExplicitAny: one table holds routes of every parameter shape
export interface Route extends RouteDef<any, any, any> {
  segments: string[]
}

/** Declares a route; the schemas both validate requests and generate the OpenAPI document. */
export function route<Q = Record<string, never>, B = undefined, P = Record<string, never>>(
  def: RouteDef<Q, B, P>,
): Route {
  return { ...def, segments: def.path.split('/').filter(Boolean) } as Route
}

export function matchRoute(
  routes: readonly Route[],
  method: string,
  pathname: string,
): { route: Route; params: Record<string, string> } | { allowed: string[] } | undefined {
  const parts = pathname.split('/').filter(Boolean)
  const allowed: string[] = []
  for (const r of routes) {
    if (r.segments.length !== parts.length) continue
    const params: Record<string, string> = {}
    let ok = true
    for (let i = 0; i < parts.length; i++) {
      const seg = r.segments[i]
      if (seg.charCodeAt(0) === 58 /* : */) {
        try {
          params[seg.slice(1)] = decodeURIComponent(parts[i])
        } catch {
          ok = false
          break
        }
      } else if (seg !== parts[i]) {
        ok = false
        break
      }
    }
    if (!ok) continue
    if (r.method === method || (method === 'HEAD' && r.method === 'GET')) return { route: r, params }
    allowed.push(r.method)
  }
  return allowed.length ? { allowed } : undefined
}

/** Repeated keys become arrays, so `?server=a&server=b` and `?server=a,b` mean the same. */
export function queryObject(search: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [k, v] of search) {
    const prev = out[k]
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v]
  }
  return out
}

export function validate<T>(schema: Schema<T> | undefined, value: unknown, where: string): T {
  if (!schema) return value as T
  const r = schema.safeParse(value)
  if (r.success) return r.data
  const msg = r.error.issues
    .slice(0, 5)
    .map((i) => `${where}${i.path.length ? `.${i.path.map(String).join('.')}` : ''}: ${i.message}`)
    .join('; ')
  throw new HttpError(400, 'bad_request', msg)
}
