export { type AzureRowOptions, isDeadLetter, parseAzureRow } from './azure.js'
export type { ParseSink, RecordFilter } from './common.js'
export { detectFormat, KNOWN_PREFIXES } from './detect.js'
export { JOIN_WINDOW } from './join.js'
export { loosePrefix } from './loose-prefix.js'
export { type LogParser, type ParseOptions, createParser, DETECT_LINES } from './parser.js'
export { compilePrefix, PrefixFields, type PrefixMatcher } from './prefix.js'
export { LineSplitter, type OnAsciiLines, type OnLine } from './line-splitter.js'
export {
  feedFile,
  type LineBatch,
  MAX_LINE_BYTES,
  gunzipIfCompressed,
  readLineBatches,
  readLines,
  splitLineBatches,
  splitLines,
} from './read-lines.js'
export { recordId } from './record-id.js'
export { parseTimestamp, zoneOffsetMinutes } from './timestamp.js'
