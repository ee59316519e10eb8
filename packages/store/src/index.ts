export { baselineHistory, type HourlyFailureRow } from './baselines.js'
export { BatchWriter, BatchWriterClosed, type BatchWriterOptions } from './batch-writer.js'
export { applyMigrations, defaultMigrationsDir, loadMigrations, type Migration, MigrationError } from './migrations.js'
export { openStore, type Store, StoreError, type StoreOptions } from './open-store.js'
export {
  countsByServerCategory,
  getCheckpoint,
  latestRcaEvents,
  latestWindowCounts,
  putCheckpoint,
  type RcaQuery,
  type ServerCategoryCount,
  type TimeRange,
} from './reads.js'
export {
  type ReadOnlySqlOptions,
  type ReadOnlySqlResult,
  renderResult,
  runReadOnlySql,
  SqlError,
} from './read-only-sql.js'
export { checkReadOnlySql, SqlRefused } from './sql-guard.js'
export { splitStatements, tokenize } from './sql-lexer.js'
