import type { TopicKey, TopicMessage } from '@connrca/contracts'
import type { BatchHandler, Message, Publisher, Subscription, Transport } from './types.js'

/**
 * Topics as direct calls: publish awaits every subscribed group's handler, so a publisher's
 * promise resolving means the whole downstream chain has handled the batch. No copies, no
 * serialisation — values are passed by reference, and backpressure is the await itself.
 */
export function createInProcessTransport(): Transport {
  const groups = new Map<TopicKey, Map<string, BatchHandler<unknown>>>()

  function handlersOf(topic: TopicKey): Map<string, BatchHandler<unknown>> {
    let g = groups.get(topic)
    if (!g) groups.set(topic, (g = new Map()))
    return g
  }

  return {
    publisher<K extends TopicKey>(topic: K): Publisher<TopicMessage<K>> {
      const handlers = handlersOf(topic)
      return {
        async publish(messages: Message<TopicMessage<K>>[]) {
          if (messages.length === 0) return
          const values = messages.map((m) => m.value)
          for (const handler of handlers.values()) await handler(values)
        },
        async flush() {},
      }
    },
    async subscribe<K extends TopicKey>(topic: K, group: string, handler: BatchHandler<TopicMessage<K>>) {
      const handlers = handlersOf(topic)
      if (handlers.has(group)) throw new Error(`group "${group}" already subscribed to ${topic}`)
      handlers.set(group, handler as BatchHandler<unknown>)
      const sub: Subscription = {
        async close() {
          handlers.delete(group)
        },
      }
      return sub
    },
    async close() {
      groups.clear()
    },
  }
}
