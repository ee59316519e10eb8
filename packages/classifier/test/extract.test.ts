import { describe, expect, it } from 'vitest'
import { keyValue, portValue, toPort } from '../src/extract.js'

describe('portValue', () => {
  it('reads the port in place exactly as toPort(keyValue(…)) does, whatever the value', () => {
    const values = ['54321', '0', '65535', '65536', '007', '000001', '1234567', '0x1F', '1e3', '+5', '-0', '12a', 'abc', '']
    const texts = values.flatMap((v) => [
      `connection received: host=10.0.0.1 port=${v}`,
      `disconnection: session time: 0:00:01.002 user=a database=b host=10.0.0.1 port=${v}, more`,
      `port=${v}`,
      `xport=${v} port=${v}9 end`,
    ])
    texts.push('connection received: host=[local]', 'connection received: host=h port=')
    for (const t of texts) {
      expect(portValue(t, 'port=')).toBe(toPort(keyValue(t, 'port=')))
      expect(portValue(t, 'port=', 20)).toBe(toPort(keyValue(t, 'port=', 20)))
    }
    expect(portValue('connection received: host=10.0.0.1 port=54321', 'port=')).toBe(54321)
  })
})
