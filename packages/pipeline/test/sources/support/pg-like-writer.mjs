// A log writer that behaves like PostgreSQL's logging collector under logrotate: it appends
// (O_APPEND, so copytruncate works) numbered stderr lines to one path, and on SIGUSR1 keeps
// writing to the file it has open for as many ms as <delay file> says (the renamed file, after a
// `create` rotation) before it opens the path again. SIGTERM: stop, print `written <n>`.
//   node pg-like-writer.mjs <path> <lines per 5 ms tick> <delay file>
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs'

const [file, perTickArg, delayFile] = process.argv.slice(2)
const perTick = Number(perTickArg ?? 2)
let fd = openSync(file, 'a')
let seq = 0
const start = Date.UTC(2024, 4, 1, 10, 0, 0)

function line(n) {
  const t = new Date(start + n).toISOString().replace('T', ' ').replace('Z', '')
  return `${t} UTC [${1000 + (n % 50)}] LOG:  connection received: host=10.1.0.${n % 250} port=5432 seq=${n}\n`
}

const tick = setInterval(() => {
  for (let i = 0; i < perTick; i++) writeSync(fd, line(seq++))
}, 5)

process.on('SIGUSR1', () => {
  let delay = 0
  try {
    delay = Number(readFileSync(delayFile, 'utf8')) || 0
  } catch {}
  setTimeout(() => {
    const next = openSync(file, 'a')
    closeSync(fd)
    fd = next
  }, delay)
})

process.on('SIGTERM', () => {
  clearInterval(tick)
  closeSync(fd)
  process.stdout.write(`written ${seq}\n`, () => process.exit(0))
})
process.stdout.write('ready\n')
