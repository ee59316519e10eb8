import type { z } from 'zod'

/** True when the value is valid as it is: every field as the schema says, no other field. */
export type Check = (value: unknown) => boolean

/**
 * A schema's validity test compiled once into plain closures, for the consumers' hot path (every
 * record of every Kafka frame): no copy of the value and no issue objects. zod stays the
 * contract: a value the check refuses goes through `safeParse`, which decides (it accepts and
 * strips unknown fields, which the check refuses so they still get stripped) and gives the
 * reason. Only what the topic schemas use compiles (objects, strings, finite numbers, enums,
 * optionals, unions, all without refinements); for any other schema the result is undefined and
 * the caller uses zod alone. `compile-check.test.ts` checks that check(v) implies zod accepts v
 * unchanged, and that zod accepting a value without unknown fields implies check(v).
 */
export function compileCheck(schema: z.ZodType): Check | undefined {
  // biome-ignore lint/suspicious/noExplicitAny: zod's internal definition, read not typed
  const def = (schema as any)._zod.def
  if (def.checks?.length) return undefined
  switch (def.type) {
    case 'string':
      return (v) => typeof v === 'string'
    case 'number':
      return (v) => typeof v === 'number' && Number.isFinite(v)
    case 'enum': {
      const values = new Set<unknown>(Object.values(def.entries))
      return (v) => values.has(v)
    }
    case 'optional': {
      const inner = compileCheck(def.innerType)
      return inner && ((v) => v === undefined || inner(v))
    }
    case 'union': {
      const options = (def.options as z.ZodType[]).map(compileCheck)
      if (options.some((o) => o === undefined)) return undefined
      return (v) => (options as Check[]).some((o) => o(v))
    }
    case 'object': {
      if (def.catchall !== undefined) return undefined
      const fields = Object.entries(def.shape as Record<string, z.ZodType>).map(([k, t]) => [k, compileCheck(t)] as const)
      if (fields.some(([, c]) => c === undefined)) return undefined
      const known = new Set(fields.map(([k]) => k))
      return (v) => {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
        for (const k in v) if (!known.has(k)) return false
        for (const [k, c] of fields) if (!(c as Check)((v as Record<string, unknown>)[k])) return false
        return true
      }
    }
    default:
      return undefined
  }
}
