/**
 * RFC 6587 framing of a syslog TCP stream: octet counting (`LEN SP MSG`, RFC 5425 style) or
 * non-transparent framing (messages end at LF). The method is decided per frame by its first
 * byte, as rsyslog does. Oversized or malformed frames are reported, and the stream resyncs.
 */
export interface FrameSink {
  frame(msg: string): void
  bad(reason: string, raw: string): void
}

const LF = 0x0a
const SP = 0x20

export class TcpFramer {
  private buf: Buffer = Buffer.alloc(0)
  /** Bytes of an oversized frame still to throw away. */
  private skip = 0
  /** Dropping an oversized LF-framed message until its LF. */
  private skipToLf = false

  constructor(
    private readonly maxBytes: number,
    private readonly sink: FrameSink,
  ) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk
    let i = 0
    const b = this.buf
    while (i < b.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, b.length - i)
        this.skip -= n
        i += n
        continue
      }
      if (this.skipToLf) {
        const lf = b.indexOf(LF, i)
        if (lf < 0) {
          i = b.length
          break
        }
        this.skipToLf = false
        i = lf + 1
        continue
      }
      const c = b[i]
      if (c === LF || c === 0x0d || c === 0) {
        i++
        continue
      }
      if (c >= 0x31 && c <= 0x39) {
        // Octet counting: digits, one space, then exactly LEN bytes.
        let k = i
        while (k < b.length && k - i < 10 && b[k] >= 0x30 && b[k] <= 0x39) k++
        if (k === b.length) break // need more bytes
        if (b[k] === SP) {
          const len = Number(b.toString('latin1', i, k))
          if (len > this.maxBytes) {
            this.sink.bad(
              `syslog frame of ${len} bytes exceeds the limit of ${this.maxBytes}`,
              b.toString('utf8', i, Math.min(b.length, k + 200)),
            )
            this.skip = len
            i = k + 1
            continue
          }
          if (b.length - (k + 1) < len) break // incomplete frame
          this.sink.frame(stripLf(b.toString('utf8', k + 1, k + 1 + len)))
          i = k + 1 + len
          continue
        }
        // Digits not followed by a space: not a length; fall through to LF framing.
      }
      const lf = b.indexOf(LF, i)
      if (lf < 0) {
        if (b.length - i > this.maxBytes) {
          this.sink.bad(
            `syslog message longer than ${this.maxBytes} bytes without a line end`,
            b.toString('utf8', i, i + 200),
          )
          this.skipToLf = true
          i = b.length
        }
        break
      }
      if (lf - i > this.maxBytes)
        this.sink.bad(
          `syslog message of ${lf - i} bytes exceeds the limit of ${this.maxBytes}`,
          b.toString('utf8', i, i + 200),
        )
      else this.sink.frame(stripLf(b.toString('utf8', i, lf)))
      i = lf + 1
    }
    this.buf = i >= b.length ? Buffer.alloc(0) : b.subarray(i)
  }

  /** The connection closed: a final LF-less message still counts. */
  end(): void {
    if (this.buf.length > 0 && this.skip === 0 && !this.skipToLf) {
      const text = stripLf(this.buf.toString('utf8'))
      if (text.length > 0) {
        if (/^\d+ /.test(text))
          this.sink.bad('syslog connection closed inside an octet-counted frame', text.slice(0, 200))
        else this.sink.frame(text)
      }
    }
    this.buf = Buffer.alloc(0)
  }
}

function stripLf(s: string): string {
  let end = s.length
  while (end > 0 && (s.charCodeAt(end - 1) === 10 || s.charCodeAt(end - 1) === 13)) end--
  return end === s.length ? s : s.slice(0, end)
}
