const NL = 0x0a
const CR = 0x0d
/** A line longer than this is cut and handed on (it ends up dead-lettered, not buffered forever). */
const MAX_LINE_BYTES = 1024 * 1024

export type OnLine = (line: string, position: number) => void

/** Splits byte chunks into lines with the byte offset of each line start; keeps the unfinished tail. */
export class LineSplitter {
  private tail: Buffer | undefined
  private tailPos = 0

  /** Bytes at the end of the input that do not form a complete line yet. */
  get pendingBytes(): number {
    return this.tail?.length ?? 0
  }

  /** `chunk` starts at absolute byte offset `pos`. */
  feed(chunk: Buffer, pos: number, onLine: OnLine): void {
    let start = 0
    if (this.tail) {
      const nl = chunk.indexOf(NL)
      if (nl < 0) {
        this.tail = Buffer.concat([this.tail, chunk])
        if (this.tail.length > MAX_LINE_BYTES) this.emitTail(onLine)
        return
      }
      const joined = Buffer.concat([this.tail, chunk.subarray(0, nl)])
      onLine(decode(joined, 0, joined.length), this.tailPos)
      this.tail = undefined
      start = nl + 1
    }
    for (;;) {
      const nl = chunk.indexOf(NL, start)
      if (nl < 0) break
      onLine(decode(chunk, start, nl), pos + start)
      start = nl + 1
    }
    if (start < chunk.length) {
      this.tail = Buffer.from(chunk.subarray(start))
      this.tailPos = pos + start
      if (this.tail.length > MAX_LINE_BYTES) this.emitTail(onLine)
    }
  }

  /** Hands on an unterminated last line (the file will not grow any more). */
  end(onLine: OnLine): void {
    if (this.tail) this.emitTail(onLine)
  }

  reset(): void {
    this.tail = undefined
  }

  private emitTail(onLine: OnLine): void {
    const t = this.tail!
    this.tail = undefined
    onLine(decode(t, 0, t.length), this.tailPos)
  }
}

function decode(buf: Buffer, start: number, end: number): string {
  if (end > start && buf[end - 1] === CR) end--
  return buf.toString('utf8', start, end)
}
