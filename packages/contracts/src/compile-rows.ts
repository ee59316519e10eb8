import type { z } from 'zod'

/**
 * A record as a JSON array in its schema's field order, and back: the Kafka frames' wire form.
 * Field names are written once per frame (`layout`) instead of once per record, and V8
 * stringifies and parses arrays of values faster than objects (measured on the 1 M-line Kafka
 * corpus: a connection event 352 → 258 bytes and 2.45 → 1.75 µs encoded and decoded, a log
 * record 286 → 246 bytes and 2.4 → 1.9 µs).
 *
 * Shared fields (the topic names them: a record's server and source file) hold one value for a
 * whole run of records; they are written once per frame, in `shared`, and left out of the rows.
 * Decoded, every record of the frame holds the same string: made once, and hashed once by the
 * Maps keyed by it downstream.
 */
export interface RowCodec {
  /**
   * The fields in row order; a nested object is `name(fields)`, a shared field is `=name`:
   * `id,=server,time,source(=kind,=name,position)`
   */
  readonly layout: string
  /** An absent optional field becomes null (JSON.stringify writes undefined in an array so). */
  toRow(value: unknown): unknown[]
  /** The shared fields' values of a record, in layout order. */
  shared(value: unknown): unknown[]
  /** Whether two records hold the same shared values (then one frame can carry both). */
  sameShared(a: unknown, b: unknown): boolean
  /**
   * The object of a row of this layout and its frame's shared values, fields in schema order,
   * null → undefined for optional fields. Decodes and does not validate: whatever is not a row
   * of this layout comes out as something the schema's check refuses.
   */
  fromRow(row: unknown, shared: unknown): unknown
}

/**
 * Compiled once into straight-line JavaScript, as compileCheck is. Only objects whose fields are
 * strings, finite numbers, enums, unions of those, or such objects, each optional or not: a
 * nullable field would be indistinguishable from an absent one. `shared`: dotted paths of scalar
 * fields (`source.name`). Anything else: undefined, and the caller writes objects.
 */
export function compileRows(schema: z.ZodType, shared: readonly string[] = []): RowCodec | undefined {
  const root = fieldsOf(schema, shared, '')
  if (root === undefined || countShared(root) !== shared.length) return undefined
  const [a, b] = [sharedPaths(root, 'a', 'o'), sharedPaths(root, 'b', 'p')]
  const same = a.map((x, i) => `${x} === ${b[i]}`).join(' && ') || 'true'
  try {
    const code = (args: string, body: string) => new Function(`'use strict'; return (${args}) => { ${body} }`)()
    return {
      layout: layoutOf(root),
      toRow: code('v', `let o; return ${writer(root, 'v')}`),
      shared: code('a', `let o; return [${a.join(', ')}]`),
      sameShared: code('a, b', `let o, p; return ${same}`),
      fromRow: code(
        'r, s',
        `let o; if (!Array.isArray(s)) s = []; return Array.isArray(r) ? ${reader(root, 'r', { shared: 0 })} : r`,
      ),
    }
  } catch {
    return undefined // node --disallow-code-generation-from-strings: objects, as before
  }
}

/** A field: its name, whether it may be absent, its own fields when it is an object, whether it is shared. */
interface Field {
  name: string
  optional: boolean
  fields?: Field[]
  shared?: boolean
}

// biome-ignore lint/suspicious/noExplicitAny: zod's internal definition, read not typed
const defOf = (schema: unknown): any => (schema as { _zod: { def: unknown } })._zod.def

function fieldsOf(schema: z.ZodType, shared: readonly string[], path: string): Field[] | undefined {
  const def = defOf(schema)
  if (def.type !== 'object' || def.catchall !== undefined) return undefined
  const out: Field[] = []
  for (const [name, field] of Object.entries(def.shape as Record<string, z.ZodType>)) {
    let d = defOf(field)
    const optional = d.type === 'optional'
    if (optional) d = defOf(d.innerType)
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return undefined
    if (d.type === 'object') {
      const fields = fieldsOf(optional ? defOf(field).innerType : field, shared, `${path}${name}.`)
      if (fields === undefined) return undefined
      out.push({ name, optional, fields })
    } else if (scalar(d)) out.push({ name, optional, shared: shared.includes(path + name) })
    else return undefined
  }
  return out
}

function scalar(d: ReturnType<typeof defOf>): boolean {
  if (d.type === 'union') return (d.options as z.ZodType[]).every((o) => scalar(defOf(o)))
  return d.type === 'string' || d.type === 'number' || d.type === 'enum'
}

function countShared(fields: Field[]): number {
  return fields.reduce((n, f) => n + (f.shared ? 1 : 0) + (f.fields ? countShared(f.fields) : 0), 0)
}

/** Expressions reading each shared field of `x`, in layout order (undefined when its object is absent); `tmp` holds that object. */
function sharedPaths(fields: Field[], x: string, tmp: string): string[] {
  return fields.flatMap((f) => {
    if (f.shared) return [`${x}.${f.name}`]
    if (!f.fields) return []
    return sharedPaths(f.fields, tmp, tmp).map(
      (get) => `((${tmp} = ${x}.${f.name}) === undefined ? undefined : ${get})`,
    )
  })
}

function layoutOf(fields: Field[]): string {
  return fields.map((f) => (f.fields ? `${f.name}(${layoutOf(f.fields)})` : f.shared ? `=${f.name}` : f.name)).join(',')
}

/** `[x.a, x.b, …]` without the shared fields, a nested object as its own array (undefined when absent, null on the wire). */
function writer(fields: Field[], x: string): string {
  const items = fields
    .filter((f) => !f.shared)
    .map((f) => {
      if (!f.fields) return `${x}.${f.name}`
      return `((o = ${x}.${f.name}) === undefined ? undefined : ${writer(f.fields, 'o')})`
    })
  return `[${items.join(', ')}]`
}

/**
 * `{ a: r[0], b: r[1] ?? undefined, c: s[0], … }`: row fields from the row, shared ones from the
 * frame's `s`; nested rows are read when they are arrays, else passed on as they are.
 */
function reader(fields: Field[], r: string, next: { shared: number }): string {
  let at = 0
  const items = fields.map((f) => {
    const opt = f.optional ? ' ?? undefined' : ''
    if (f.shared) return `${f.name}: s[${next.shared++}]${opt}`
    const value = `${r}[${at++}]`
    if (!f.fields) return `${f.name}: ${value}${opt}`
    return `${f.name}: (Array.isArray(o = ${value}) ? ${reader(f.fields, 'o', next)} : o${opt})`
  })
  return `{ ${items.join(', ')} }`
}

/**
 * A row of any layout, field by field: frames written by another version of connrca (a field
 * added or dropped) still read, and the schema check then decides. Slower than a compiled
 * codec; only for layouts that are not this reader's.
 */
export function readRow(layout: string, row: unknown, shared: unknown): unknown {
  return Array.isArray(row) ? build(parseLayout(layout), row, Array.isArray(shared) ? shared : []) : row
}

const layouts = new Map<string, ParsedField[]>()

interface ParsedField {
  name: string
  /** Where its value is: in the row (among the fields that are not shared), or in the frame's shared values. */
  at: number
  shared: boolean
  fields?: ParsedField[]
}

function build(fields: ParsedField[], row: unknown[], shared: unknown[]): Record<string, unknown> {
  const o: Record<string, unknown> = {}
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]
    const v = f.shared ? shared[f.at] : row[f.at]
    // own property even for "__proto__" (defineProperty, not assignment); the check refuses it
    const value = v === null ? undefined : f.fields && Array.isArray(v) ? build(f.fields, v, shared) : v
    Object.defineProperty(o, f.name, { value, enumerable: true, writable: true, configurable: true })
  }
  return o
}

/** `a,=b,c(=d,e)` → fields; a layout that does not parse reads as no fields (the check refuses the record). */
function parseLayout(layout: string): ParsedField[] {
  let parsed = layouts.get(layout)
  if (parsed !== undefined) return parsed
  let i = 0
  let sharedAt = 0
  // depth is bounded: a made-up layout of nested parentheses must not exhaust the stack
  const list = (depth: number): ParsedField[] => {
    const out: ParsedField[] = []
    let rowAt = 0
    for (;;) {
      const shared = layout[i] === '='
      if (shared) i++
      const start = i
      while (i < layout.length && !',()'.includes(layout[i])) i++
      const name = layout.slice(start, i)
      if (shared) out.push({ name, at: sharedAt++, shared })
      else if (layout[i] === '(' && depth < 4) {
        i++
        out.push({ name, at: rowAt++, shared, fields: list(depth + 1) })
        i++ // ')'
      } else out.push({ name, at: rowAt++, shared })
      if (layout[i] !== ',') return out
      i++
    }
  }
  parsed = list(0)
  // frames name few layouts (one per version that wrote them); a flood of made-up ones is not kept
  if (layouts.size < 16) layouts.set(layout, parsed)
  return parsed
}
