import { z } from 'zod'
import { LogFormat } from '../log-record.js'

const common = {
  format: LogFormat.default('auto'),
  /** stderr log_line_prefix, when not one of the known defaults. */
  prefix: z.string().optional(),
  /** Fixed server name for everything this source reads. */
  server: z.string().optional(),
}

export const FileSource = z.object({
  type: z.literal('file'),
  /** Files, directories or globs. */
  paths: z.array(z.string()).min(1),
  /** Regex with a named group `server` applied to the path, e.g. `logs/(?<server>[^/]+)/`. */
  serverFromPath: z.string().optional(),
  ...common,
})

export const SourceConfig = z.discriminatedUnion('type', [FileSource])
export type SourceConfig = z.infer<typeof SourceConfig>
