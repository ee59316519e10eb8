import { createHash } from 'node:crypto'
import type { FileHandle } from 'node:fs/promises'

/** Bytes at the head of a file that identify it beside device + inode (inode numbers get reused). */
export const FINGERPRINT_BYTES = 1024

export interface Fingerprint {
  hash: string
  /** How many head bytes the hash covers; grows with a young file up to FINGERPRINT_BYTES. */
  length: number
}

export async function fingerprint(
  fh: FileHandle,
  size: number,
  length = Math.min(size, FINGERPRINT_BYTES),
): Promise<Fingerprint> {
  if (length <= 0) return { hash: '', length: 0 }
  const buf = Buffer.allocUnsafe(length)
  const { bytesRead } = await fh.read(buf, 0, length, 0)
  return { hash: headHash(buf.subarray(0, bytesRead)), length: bytesRead }
}

/** The `hash` of a fingerprint over these head bytes. */
export function headHash(head: Buffer): string {
  return createHash('sha1').update(head).digest('hex').slice(0, 16)
}

/** Same file as when fingerprinted: its first `fp.length` bytes are unchanged. */
export async function sameHead(fh: FileHandle, size: number, fp: Fingerprint): Promise<boolean> {
  if (fp.length === 0) return true
  if (size < fp.length) return false
  return (await fingerprint(fh, size, fp.length)).hash === fp.hash
}
