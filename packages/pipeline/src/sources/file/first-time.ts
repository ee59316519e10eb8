import { createParser, type ParseOptions, readLines } from '@connrca/pglog'

const HEAD_LINES = 200

/**
 * Event time of the first records of a file (the lowest among its first lines), NaN when none
 * parses. Files of a server are read oldest content first by it, whatever their names, so
 * rotated parts given newest first (`postgresql.log postgresql.log.1 postgresql.log.2.gz`) are not
 * dropped as late by the windows.
 */
export async function firstRecordTime(file: string, opts: Omit<ParseOptions, 'source' | 'relevant'>): Promise<number> {
  let first = Number.NaN
  const parser = createParser(
    { ...opts, source: { kind: 'file', name: file } },
    {
      record: (r) => {
        if (!(r.time >= first)) first = r.time
      },
      deadLetter: () => {},
    },
  )
  let n = 0
  try {
    for await (const { line, position } of readLines(file)) {
      parser.push(line, position)
      if (++n >= HEAD_LINES) break
    }
  } catch {
    // unreadable or a broken archive: reading it proper reports that
  }
  parser.flush()
  return first
}
