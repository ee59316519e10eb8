/**
 * A small ClickHouse SQL tokenizer: enough to split statements and to inspect keywords,
 * identifiers and function calls without being fooled by strings, quoted identifiers or comments.
 * It is not a parser; the guard built on it refuses what it cannot vouch for.
 */

export type TokenKind = 'word' | 'quoted' | 'string' | 'number' | 'punct' | 'op'

export interface Token {
  kind: TokenKind
  /** For `word` the text as written; for `quoted` the identifier without quotes; for `string` the raw literal. */
  text: string
  /** Lower-cased text for `word`/`quoted`, to compare without allocating again. */
  lower: string
  start: number
  end: number
}

export class SqlLexError extends Error {}

const isWordStart = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c >= 128
const isWordPart = (c: number) => isWordStart(c) || (c >= 48 && c <= 57)
const isDigit = (c: number) => c >= 48 && c <= 57

/** Tokenizes `sql`; comments and whitespace are dropped. Throws SqlLexError on an unterminated quote/comment. */
export function tokenize(sql: string): Token[] {
  const out: Token[] = []
  const n = sql.length
  let i = 0
  while (i < n) {
    const c = sql.charCodeAt(i)
    // whitespace
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 12) {
      i++
      continue
    }
    // -- comment, # comment (ClickHouse accepts both)
    if ((c === 45 && sql.charCodeAt(i + 1) === 45) || c === 35) {
      const nl = sql.indexOf('\n', i)
      i = nl === -1 ? n : nl + 1
      continue
    }
    if (c === 47 && sql.charCodeAt(i + 1) === 42) {
      const close = sql.indexOf('*/', i + 2)
      if (close === -1) throw new SqlLexError(`unterminated /* comment at offset ${i}`)
      i = close + 2
      continue
    }
    if (c === 39 || c === 34 || c === 96) {
      const end = scanQuoted(sql, i, c)
      if (c === 39) {
        out.push({ kind: 'string', text: sql.slice(i, end), lower: '', start: i, end })
      } else {
        const ident = unescapeQuoted(sql.slice(i + 1, end - 1), c)
        out.push({ kind: 'quoted', text: ident, lower: ident.toLowerCase(), start: i, end })
      }
      i = end
      continue
    }
    // heredoc string: $tag$ ... $tag$ (must be recognised, or a quote inside it would hide code)
    if (c === 36) {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 66))
      if (m) {
        const close = sql.indexOf(m[0], i + m[0].length)
        if (close === -1) throw new SqlLexError(`unterminated heredoc ${m[0]} starting at offset ${i}`)
        const end = close + m[0].length
        out.push({ kind: 'string', text: sql.slice(i, end), lower: '', start: i, end })
        i = end
        continue
      }
    }
    if (isWordStart(c)) {
      let j = i + 1
      while (j < n && isWordPart(sql.charCodeAt(j))) j++
      const text = sql.slice(i, j)
      out.push({ kind: 'word', text, lower: text.toLowerCase(), start: i, end: j })
      i = j
      continue
    }
    if (isDigit(c)) {
      let j = i + 1
      while (j < n && (isWordPart(sql.charCodeAt(j)) || sql.charCodeAt(j) === 46)) j++
      out.push({ kind: 'number', text: sql.slice(i, j), lower: '', start: i, end: j })
      i = j
      continue
    }
    const ch = sql[i]
    if ('(),;.[]{}'.includes(ch)) {
      out.push({ kind: 'punct', text: ch, lower: ch, start: i, end: i + 1 })
      i++
      continue
    }
    // operators: group runs of operator characters
    let j = i + 1
    while (j < n && '=<>!+-*/%|&^:?~@'.includes(sql[j]) && !(sql[j] === '-' && sql[j + 1] === '-')) j++
    const op = sql.slice(i, j)
    out.push({ kind: 'op', text: op, lower: op, start: i, end: j })
    i = j
  }
  return out
}

function scanQuoted(sql: string, start: number, quote: number): number {
  let i = start + 1
  const n = sql.length
  while (i < n) {
    const c = sql.charCodeAt(i)
    if (c === 92) {
      i += 2
      continue
    }
    if (c === quote) {
      if (sql.charCodeAt(i + 1) === quote) {
        i += 2
        continue
      }
      return i + 1
    }
    i++
  }
  const kind = quote === 39 ? 'string' : 'quoted identifier'
  throw new SqlLexError(`unterminated ${kind} starting at offset ${start}`)
}

function unescapeQuoted(body: string, quote: number): string {
  const q = String.fromCharCode(quote)
  return body.replaceAll(q + q, q).replace(/\\(.)/g, '$1')
}

/**
 * Splits a script into statements on top-level `;`. Returns the statement texts
 * (trimmed, without the `;`), skipping empty ones and comment-only ones.
 */
export function splitStatements(sql: string): string[] {
  const tokens = tokenize(sql)
  const out: string[] = []
  let from = 0
  let first = -1
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]
    if (t.kind === 'punct' && t.text === ';') {
      if (first !== -1) out.push(sql.slice(tokens[first].start, tokens[k - 1].end).trim())
      from = k + 1
      first = -1
    } else if (first === -1) {
      first = k
    }
  }
  if (first !== -1 && from < tokens.length)
    out.push(sql.slice(tokens[first].start, tokens[tokens.length - 1].end).trim())
  return out
}
