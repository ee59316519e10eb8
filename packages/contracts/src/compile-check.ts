import type { z } from 'zod'

/** True when the value is valid as it is: every field as the schema says, no other field. */
export type Check = (value: unknown) => boolean

/**
 * A schema's validity test compiled once into JavaScript source, for the consumers' hot path
 * (every record of every Kafka frame): no copy of the value and no issue objects. zod stays the
 * contract: a value the check refuses goes through `safeParse`, which decides (it accepts and
 * strips unknown fields, which the check refuses so they still get stripped) and gives the
 * reason. Only what the topic schemas use compiles (objects, strings, finite numbers, enums,
 * optionals, unions, all without refinements); for any other schema the result is undefined and
 * the caller uses zod alone. `compile-check.test.ts` checks that check(v) implies zod accepts v
 * unchanged, and that zod accepting a value without unknown fields implies check(v).
 * Generated code, as fastify's schema compilers do: closures per field (a Set lookup per key, a
 * call per field) took 350-500 ns per log record and 550 per connection event, one straight-line
 * function per object schema 50 and 120.
 */
export function compileCheck(schema: z.ZodType): Check | undefined {
  const parts: Check[] = []
  const sets: ReadonlySet<unknown>[] = []
  try {
    const root = expression(schema, 'v', parts, sets)
    if (root === undefined) return undefined
    return new Function('parts', 'sets', `'use strict'; return (v) => ${root}`)(parts, sets) as Check
  } catch {
    // node --disallow-code-generation-from-strings: zod alone decides, slower but the same
    return undefined
  }
}

/** A JavaScript expression over `x` that is true when x is valid; undefined for what does not compile. */
function expression(schema: z.ZodType, x: string, parts: Check[], sets: ReadonlySet<unknown>[]): string | undefined {
  // biome-ignore lint/suspicious/noExplicitAny: zod's internal definition, read not typed
  const def = (schema as any)._zod.def
  if (def.checks?.length) return undefined
  switch (def.type) {
    case 'string':
      return `typeof ${x} === 'string'`
    case 'number':
      return `Number.isFinite(${x})`
    case 'enum': {
      const values = Object.values(def.entries)
      if (values.length <= 8) return `(${values.map((e) => `${x} === ${JSON.stringify(e)}`).join(' || ')})`
      sets.push(new Set(values))
      return `sets[${sets.length - 1}].has(${x})`
    }
    case 'optional': {
      const inner = expression(def.innerType, x, parts, sets)
      return inner && `(${x} === undefined || ${inner})`
    }
    case 'union': {
      const options = (def.options as z.ZodType[]).map((o) => expression(o, x, parts, sets))
      if (options.some((o) => o === undefined)) return undefined
      return `(${options.join(' || ')})`
    }
    case 'object': {
      if (def.catchall !== undefined) return undefined
      const keys = Object.keys(def.shape as Record<string, z.ZodType>)
      const lines: string[] = []
      for (const k of keys) {
        const e = expression(def.shape[k], 'f', parts, sets)
        if (e === undefined) return undefined
        lines.push(`f = o[${JSON.stringify(k)}]; if (!(${e})) return false`)
      }
      // unknown keys first: for-in over a parsed object is cheap, and each key is one comparison
      const known = keys.map((k) => `case ${JSON.stringify(k)}:`).join(' ')
      const body = [
        `if (typeof o !== 'object' || o === null || Array.isArray(o)) return false`,
        `for (const k in o) switch (k) { ${known} break; default: return false }`,
        'let f',
        ...lines,
        'return true',
      ].join('\n')
      parts.push(new Function('parts', 'sets', `'use strict'; return (o) => {\n${body}\n}`)(parts, sets) as Check)
      return `parts[${parts.length - 1}](${x})`
    }
    default:
      return undefined
  }
}
