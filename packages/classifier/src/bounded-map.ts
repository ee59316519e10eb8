/**
 * A Map with a size cap that evicts the oldest insertion. `touch` re-inserts a key so that
 * frequently seen keys survive (LRU on write, not on read: reads stay allocation free).
 */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>()

  constructor(private readonly max: number) {}

  get size(): number {
    return this.map.size
  }

  get(key: K): V | undefined {
    return this.map.get(key)
  }

  has(key: K): boolean {
    return this.map.has(key)
  }

  set(key: K, value: V): void {
    // size first: below the cap (the usual case) no lookup is needed to know nothing is evicted
    if (this.map.size >= this.max && !this.map.has(key)) {
      const oldest = this.map.keys().next()
      if (!oldest.done) this.map.delete(oldest.value)
    }
    this.map.set(key, value)
  }

  /** Set and move to the young end. */
  touch(key: K, value: V): void {
    // a key that was there leaves room for itself: no eviction check
    if (this.map.delete(key)) this.map.set(key, value)
    else this.set(key, value)
  }

  delete(key: K): void {
    this.map.delete(key)
  }

  /** Oldest first, the order eviction follows. */
  entries(): IterableIterator<[K, V]> {
    return this.map.entries()
  }
}
