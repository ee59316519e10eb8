import type { Message } from '../types.js'
import type { WireMessage } from './client.js'

/**
 * Frames: one Kafka message carries many records of one key, as a JSON array. Kafka's cost is
 * per message (kafkajs encodes and decodes each one in JavaScript, with its headers, varints
 * and buffers), so a record per message spent more CPU on the envelope than on the record.
 * A frame holds the records of one `publish` call for one key, in order, up to FRAME_BYTES;
 * a larger record is a frame of its own (the producer refuses anything over its request limit).
 */
export const FRAME_BYTES = 256 * 1024

/** Groups `messages` per key, in order, into frames of at most FRAME_BYTES (one record may exceed it). */
export function encodeFrames<T>(messages: Message<T>[]): WireMessage[] {
  const out: WireMessage[] = []
  const open = new Map<string, { parts: string[]; bytes: number }>()
  const close = (key: string, f: { parts: string[] }) => out.push({ key, value: `[${f.parts.join(',')}]` })
  for (const m of messages) {
    const json = JSON.stringify(m.value)
    // UTF-16 length bounds the UTF-8 size from below; the producer checks the exact byte size.
    const size = json.length + 1
    let f = open.get(m.key)
    if (f && f.bytes + size > FRAME_BYTES) {
      close(m.key, f)
      f = undefined
    }
    if (!f) open.set(m.key, (f = { parts: [], bytes: 2 }))
    f.parts.push(json)
    f.bytes += size
  }
  for (const [key, f] of open) close(key, f)
  return out
}

/**
 * The records of one message: a frame's elements, or the value itself when it is not an array
 * (a message written one record per message, as connrca 0.1 did, still reads). Throws on text
 * that is not JSON.
 */
export function decodeFrame(raw: string): unknown[] {
  const json: unknown = JSON.parse(raw)
  return Array.isArray(json) ? json : [json]
}
