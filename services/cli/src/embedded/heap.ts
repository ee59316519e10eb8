import { setFlagsFromString } from 'node:v8'

/**
 * Lets V8's old generation grow by at most 2× its live size between full collections (default: up
 * to 4× while allocation is fast). The embedded pipeline keeps little alive (~30 MB of state at
 * 1 M lines; heap snapshot) but allocates records and rows at a high rate, so by default the heap
 * ran up to ~140 MB of mostly garbage beside chDB: peak RSS of `run --once` 1 M lines 475-517 MB →
 * 423-441 MB with this; 10 M lines 524-534 → 470-473 MB for ~12 % more wall time (16.5-18.1 →
 * 18.3-20.6 s; 150 % gave 488-490 MB, too close to the 500 MB budget). Set before the
 * heap grows (a V8 flag read at every collection, so setting it at run time takes effect).
 */
export function limitHeapGrowth(): void {
  setFlagsFromString('--heap-growing-percent=100')
}
