import { createReadStream } from 'node:fs'
import { open, readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import { createGunzip } from 'node:zlib'
import { type Fingerprint, fingerprint, headHash, sameHead } from './identity.js'

/** Where a file read before is now, found beside its old path. */
export interface RotatedCopy {
  path: string
  gz: boolean
  dev: number
  ino: number
  birth: number
  mtimeMs: number
}

export interface Lost {
  path: string
  dev: number
  ino: number
  fp: Fingerprint
  /** Where reading stopped: a copy shorter than this cannot hold the unread tail. */
  offset: number
}

/**
 * The rotated file that holds the unread tail of `lost`, which left its path while connrca was
 * not looking: the same inode under another name (rename + create: `pg.log.1`,
 * `pg.log-20240501`), else a copy with the same head (copytruncate's `pg.log.1`), else a `.gz`
 * whose decompressed head is the same (compress, or delaycompress one rotation later).
 * Only siblings whose name starts with the file's name (or its stem before the first dot) are
 * looked at; `otherInode` excludes the file itself (copytruncate left it in place, emptied).
 */
export async function findRotated(lost: Lost, otherInode = false): Promise<RotatedCopy | undefined> {
  const plain: RotatedCopy[] = []
  const gz: RotatedCopy[] = []
  for (const { copy, size } of await rotatedSiblings(lost.path)) {
    if (copy.gz) gz.push(copy)
    else if (!otherInode && copy.dev === lost.dev && copy.ino === lost.ino) {
      if (await headMatches(copy.path, lost.fp)) return copy
    } else if (lost.fp.length > 0 && size >= lost.offset) plain.push(copy)
  }
  // Without a head to compare (the file was empty) only the inode can say it is the same file.
  if (lost.fp.length === 0) return undefined
  for (const c of plain) if (await headMatches(c.path, lost.fp)) return c
  for (const c of gz) if ((await gzHead(c.path, lost.fp.length)) === lost.fp.hash) return c
  return undefined
}

/**
 * Files beside `file` named like its rotations: its name or its stem (up to the first dot) then
 * `.`, `-` or `_` (`pg.log.1`, `pg.log-20240501`, `pg.log.2.gz`, `pg.1.log`), by name.
 */
export async function rotatedSiblings(file: string): Promise<Array<{ copy: RotatedCopy; size: number }>> {
  const dir = path.dirname(file)
  const base = path.basename(file)
  const stem = base.split('.')[0]
  const names = (await readdir(dir).catch(() => [] as string[])).filter(
    (n) =>
      n !== base && (n.startsWith(base) || (stem !== '' && n.startsWith(stem) && /^[.\-_]/.test(n.slice(stem.length)))),
  )
  const out: Array<{ copy: RotatedCopy; size: number }> = []
  for (const n of names.sort()) {
    const p = path.join(dir, n)
    const st = await stat(p).catch(() => undefined)
    if (!st?.isFile()) continue
    out.push({
      copy: {
        path: p,
        gz: n.endsWith('.gz'),
        dev: st.dev,
        ino: st.ino,
        birth: Math.round(st.birthtimeMs),
        mtimeMs: st.mtimeMs,
      },
      size: st.size,
    })
  }
  return out
}

/** The head of a rotated copy hashed as a fingerprint of `length` bytes ('' when shorter), decompressing a .gz. */
export async function copyHead(copy: RotatedCopy, length: number): Promise<string> {
  if (copy.gz) return gzHead(copy.path, length)
  const fh = await open(copy.path, 'r').catch(() => undefined)
  if (!fh) return ''
  try {
    const fp = await fingerprint(fh, (await fh.stat()).size, length)
    return fp.length === length ? fp.hash : ''
  } finally {
    await fh.close()
  }
}

async function headMatches(p: string, fp: Fingerprint): Promise<boolean> {
  const fh = await open(p, 'r').catch(() => undefined)
  if (!fh) return false
  try {
    return await sameHead(fh, (await fh.stat()).size, fp)
  } finally {
    await fh.close()
  }
}

/** Fingerprint hash of the first `length` decompressed bytes of a .gz file ('' when it is shorter or broken). */
async function gzHead(p: string, length: number): Promise<string> {
  const chunks: Buffer[] = []
  let have = 0
  const raw = createReadStream(p)
  const stream = raw.pipe(createGunzip())
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      chunks.push(chunk)
      have += chunk.length
      if (have >= length) break
    }
  } catch {
    return ''
  } finally {
    raw.destroy()
    stream.destroy()
  }
  if (have < length) return ''
  return headHash(Buffer.concat(chunks).subarray(0, length))
}
