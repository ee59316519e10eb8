import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Delivery {
  key: string
  status: string
  events: { id: string; revision: number; status: string }[]
}

export interface WebhookReceiver {
  url: string
  /** Every request, in arrival order, duplicates included. */
  received: Delivery[]
  close(): Promise<void>
}

/** A real receiver of the notifier's generic payload on loopback; it records and answers 200. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: Delivery[] = []
  const server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (d) => (body += d))
    req.on('end', () => {
      const p = JSON.parse(body) as { status: string; events: Delivery['events'] }
      received.push({
        key: String(req.headers['idempotency-key']),
        status: p.status,
        events: p.events.map((e) => ({ id: e.id, revision: e.revision, status: e.status })),
      })
      res.writeHead(200).end('ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    close: () => {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
