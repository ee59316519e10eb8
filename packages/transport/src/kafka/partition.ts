/**
 * The partition Kafka's default partitioner (Java client, kafkajs DefaultPartitioner) picks for
 * a key: murmur2(key) & 0x7fffffff mod partitions. Lets a consumer tell which servers belong to
 * the partitions it was just assigned, e.g. to rebuild only their state after a rebalance.
 */
export function partitionFor(key: string, partitions: number): number {
  return (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % partitions
}

function murmur2(data: Buffer): number {
  const m = 0x5bd1e995
  const length = data.length
  let h = 0x9747b28c ^ length
  const words = length >> 2
  for (let i = 0; i < words; i++) {
    const o = i * 4
    let k = data[o] | (data[o + 1] << 8) | (data[o + 2] << 16) | (data[o + 3] << 24)
    k = Math.imul(k, m)
    k ^= k >>> 24
    k = Math.imul(k, m)
    h = Math.imul(h, m) ^ k
  }
  const tail = words * 4
  const rest = length & 3
  if (rest === 3) h ^= data[tail + 2] << 16
  if (rest >= 2) h ^= data[tail + 1] << 8
  if (rest >= 1) h = Math.imul(h ^ data[tail], m)
  h ^= h >>> 13
  h = Math.imul(h, m)
  h ^= h >>> 15
  return h
}
