import type { Route } from './router.js'

const ERROR_SCHEMA = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' } },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
}

interface JsonSchema {
  properties?: Record<string, Record<string, unknown>>
  required?: string[]
  [k: string]: unknown
}

function jsonSchema(s: Route['query'], io: 'input' | 'output'): JsonSchema {
  const out = s!.toJSONSchema({ io, unrepresentable: 'any' }) as JsonSchema
  delete out.$schema
  return out
}

/** OpenAPI 3.1 from the routes' own schemas, so the document cannot drift from validation. */
export function buildOpenApi(routes: readonly Route[], info: { version: string; tokenRequired: boolean }) {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const r of routes) {
    if (!r.path.startsWith('/api/') && r.path !== '/healthz') continue
    const path = r.path.replace(/:(\w+)/g, '{$1}')
    const parameters: unknown[] = []
    if (r.params) {
      const s = jsonSchema(r.params, 'input')
      for (const [name, schema] of Object.entries(s.properties ?? {})) {
        parameters.push({ name, in: 'path', required: true, schema })
      }
    }
    if (r.query) {
      const s = jsonSchema(r.query, 'input')
      const required = new Set<string>(s.required ?? [])
      for (const [name, schema] of Object.entries(s.properties ?? {})) {
        const { description, ...rest } = schema
        parameters.push({
          name,
          in: 'query',
          required: required.has(name) && !('default' in rest),
          ...(description ? { description } : {}),
          schema: rest,
          ...(rest.type === 'array' ? { style: 'form', explode: false } : {}),
        })
      }
    }
    const content: Record<string, unknown> = {
      'application/json': { schema: r.response ? jsonSchema(r.response, 'output') : {} },
    }
    for (const type of r.produces ?? []) content[type] = { schema: { type: 'string' } }
    const op: Record<string, unknown> = {
      operationId: `${r.method.toLowerCase()}${path.replace(/[^a-zA-Z0-9]+(\w)?/g, (_, c: string) => (c ?? '').toUpperCase())}`,
      tags: [r.tag],
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(r.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(r.body, 'input') } } } }
        : {}),
      responses: {
        200: { description: 'OK', content },
        400: {
          description: 'Invalid parameters or refused SQL',
          content: { 'application/json': { schema: ERROR_SCHEMA } },
        },
        ...(r.auth === false
          ? {}
          : {
              401: {
                description: 'Missing or wrong bearer token',
                content: { 'application/json': { schema: ERROR_SCHEMA } },
              },
            }),
      },
      ...(r.auth === false || !info.tokenRequired ? { security: [] } : {}),
    }
    paths[path] ??= {}
    paths[path][r.method.toLowerCase()] = op
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'connrca API',
      version: info.version,
      description:
        'Failed PostgreSQL connection attempts: counts over time, top offenders, RCA events, pipeline health and ' +
        'read-only SQL over the store. Times are epoch milliseconds UTC.',
    },
    servers: [{ url: '/' }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: info.tokenRequired ? [{ bearer: [] }] : [],
    paths,
  }
}
