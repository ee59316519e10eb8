import { SourceConfig } from '@connrca/contracts'
import { AzureMonitorSource } from './azure/index.js'
import { FileTailSource } from './file/index.js'
import { HttpPushSource } from './http/index.js'
import { StdinSource } from './stdin/index.js'
import { SyslogListener } from './syslog/index.js'
import type { Source, SourceDeps } from './types.js'

export { AzureMonitorSource, AzureQueryError, backfill, type PullProgress } from './azure/index.js'
export { FileTailSource } from './file/index.js'
export { HttpPushSource } from './http/index.js'
export { StdinSource } from './stdin/index.js'
export { SyslogListener } from './syslog/index.js'
export type { Deliver, Source, SourceBatch, SourceDeps } from './types.js'

/** A source for one `sources:` entry. The config is validated (defaults applied) here too, so partial objects work. */
export function createSource(cfg: SourceConfig, deps: SourceDeps = {}): Source {
  const parsed = SourceConfig.safeParse(cfg)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new Error(
      `source ${(cfg as { name?: string }).name ?? cfg.type}: ${issue.path.join('.')}${issue.path.length ? ': ' : ''}${issue.message}`,
    )
  }
  const c = parsed.data
  switch (c.type) {
    case 'file':
      return new FileTailSource(c, deps)
    case 'syslog':
      return new SyslogListener(c, deps)
    case 'http':
      return new HttpPushSource(c, deps)
    case 'stdin':
      return new StdinSource(c, deps)
    case 'azure':
      return new AzureMonitorSource(c, deps)
  }
}
