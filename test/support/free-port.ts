import net, { type AddressInfo } from 'node:net'

/** A TCP port nobody listens on right now (the process under test binds it a moment later). */
export async function freePort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((resolve, reject) => s.once('error', reject).listen(0, '127.0.0.1', resolve))
  const { port } = s.address() as AddressInfo
  await new Promise<void>((r) => s.close(() => r()))
  return port
}
