import { readdir, stat } from 'node:fs/promises'
import path from 'node:path'

const WILDCARD = /[*?[]/

/**
 * A path pattern split into the directory to walk and a matcher for what lies below it.
 * `*` and `?` stay within one path segment, `**` crosses segments, `[…]` is a class.
 */
export interface PathPattern {
  /** Directory that contains every match (no wildcards). */
  base: string
  /** Absolute-path matcher; undefined = the plain path itself (a file or a directory). */
  match?: RegExp
  /** The walk must descend below `base`. */
  deep: boolean
}

export function compilePattern(p: string): PathPattern {
  const abs = path.resolve(p)
  if (!WILDCARD.test(abs)) return { base: abs, deep: false }
  const segments = abs.split(path.sep)
  const firstWild = segments.findIndex((s) => WILDCARD.test(s))
  const base = segments.slice(0, firstWild).join(path.sep) || path.sep
  const rest = segments.slice(firstWild)
  let re = ''
  for (let i = 0; i < rest.length; i++) {
    const seg = rest[i]
    if (seg === '**') {
      re += i === rest.length - 1 ? '(?:/.*)?' : '(?:/[^/]+)*'
      continue
    }
    re += `/${segmentToRegex(seg)}`
  }
  const deep = rest.length > 1 || rest.includes('**')
  return { base, match: new RegExp(`^${escapeRegex(base === path.sep ? '' : base)}${re}$`), deep }
}

function segmentToRegex(seg: string): string {
  let out = ''
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]
    if (c === '*') out += '[^/]*'
    else if (c === '?') out += '[^/]'
    else if (c === '[') {
      const end = seg.indexOf(']', i + 1)
      if (end < 0) out += '\\['
      else {
        const body = seg.slice(i + 1, end)
        out += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`
        i = end
      }
    } else out += escapeRegex(c)
  }
  return out
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}

/**
 * Regular files matching the patterns, sorted by path. A plain directory means the files
 * directly inside it; missing paths are simply not (yet) there.
 */
export async function expandPatterns(patterns: PathPattern[]): Promise<string[]> {
  const found = new Set<string>()
  for (const p of patterns) {
    if (!p.match) {
      const st = await stat(p.base).catch(() => undefined)
      if (st?.isFile()) found.add(p.base)
      else if (st?.isDirectory()) {
        for (const e of await readdir(p.base, { withFileTypes: true }).catch(() => [])) {
          if (e.isFile()) found.add(path.join(p.base, e.name))
        }
      }
      continue
    }
    await walk(p.base, p, found, 0)
  }
  return [...found].sort()
}

async function walk(dir: string, p: PathPattern, found: Set<string>, depth: number): Promise<void> {
  if (depth > 32) return
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
  for (const e of entries) {
    const full = path.join(dir, e.name)
    if (e.isFile() && p.match!.test(full)) found.add(full)
    else if (e.isDirectory() && p.deep) await walk(full, p, found, depth + 1)
  }
}
