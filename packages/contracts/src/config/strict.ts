/**
 * What zod's lenient objects let through in a config file: unknown keys (a typo such as `sorces:`
 * would silently run on defaults) and durations without a unit (`idleTimeout: 30` reads as 30 ms).
 * Walks the document along the schema and reports each as `path: message`.
 */
import { z } from 'zod'

/** Duration schemas (and refinements of them): a bare number there is ambiguous in a file. */
export const DURATION_SCHEMAS = new WeakSet<object>()

export interface StrictIssue {
  path: (string | number)[]
  message: string
}

type Def = { type: string; [k: string]: any }
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def

export function strictIssues(schema: z.ZodType, doc: unknown, path: (string | number)[] = []): StrictIssue[] {
  const out: StrictIssue[] = []
  walk(schema, doc, path, out)
  return out
}

function walk(schema: z.ZodType, doc: unknown, path: (string | number)[], out: StrictIssue[]): void {
  if (doc === undefined || doc === null) return
  if (DURATION_SCHEMAS.has(schema) && typeof doc === 'number' && doc !== 0) {
    out.push({ path, message: `${doc} has no unit: write ${doc}s, ${doc}m or ${doc}ms (units: ms, s, m, h, d)` })
    return
  }
  const def = defOf(schema)
  switch (def.type) {
    case 'optional':
    case 'default':
    case 'prefault':
    case 'nullable':
    case 'readonly':
    case 'catch':
      walk(def.innerType, doc, path, out)
      return
    case 'pipe':
      walk(def.in, doc, path, out)
      return
    case 'array':
      if (Array.isArray(doc))
        doc.forEach((item, i) => {
          walk(def.element, item, [...path, i], out)
        })
      return
    case 'record':
      if (isMapping(doc)) for (const [k, v] of Object.entries(doc)) walk(def.valueType, v, [...path, k], out)
      return
    case 'union': {
      if (!isMapping(doc)) return
      const options = (def.options as z.ZodType[]).filter((o) => defOf(unwrap(o)).type === 'object')
      const chosen = def.discriminator
        ? options.find((o) => literalValues(shapeOf(o)[def.discriminator]).includes(doc[def.discriminator]))
        : options.length === 1
          ? options[0]
          : undefined
      if (chosen) walk(chosen, doc, path, out)
      return
    }
    case 'object': {
      if (!isMapping(doc)) return
      const shape = def.shape as Record<string, z.ZodType>
      for (const [key, value] of Object.entries(doc)) {
        const field = shape[key]
        if (field) {
          walk(field, value, [...path, key], out)
          continue
        }
        const near = closest(key, Object.keys(shape))
        out.push({ path: [...path, key], message: `unknown key${near ? ` (did you mean "${near}"?)` : ''}` })
      }
      return
    }
  }
}

function unwrap(s: z.ZodType): z.ZodType {
  const def = defOf(s)
  return def.innerType ? unwrap(def.innerType) : s
}

function shapeOf(s: z.ZodType): Record<string, z.ZodType> {
  return defOf(unwrap(s)).shape ?? {}
}

function literalValues(s: z.ZodType | undefined): unknown[] {
  if (!s) return []
  const def = defOf(unwrap(s))
  return def.type === 'literal' ? (def.values as unknown[]) : []
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** The known key within a small edit distance (a third of its length, at least 1, at most 3). */
export function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase())
    if (d < bestDistance) {
      best = c
      bestDistance = d
    }
  }
  const allowed = Math.min(3, Math.max(1, Math.floor((best?.length ?? 0) / 3)))
  return bestDistance <= allowed ? best : undefined
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    prev = cur
  }
  return prev[b.length]
}

/** A URL with one of the given schemes, checked when the config is read (not on first use). */
export function urlWithScheme(...schemes: string[]) {
  const list = schemes.map((s) => `${s}://`).join(' or ')
  return z
    .string()
    .url()
    .refine((u) => schemes.includes(new URL(u).protocol.slice(0, -1)), { message: `must start with ${list}` })
}
