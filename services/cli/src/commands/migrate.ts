import { parse } from '../args.js'
import { loadConfig } from '../config-file.js'
import { openStoreOrExplain } from '../instance.js'

/** Applies pending schema migrations to the configured store (embedded or server). */
export async function migrate(argv: string[]): Promise<void> {
  const { values } = parse(argv, { config: { type: 'string' }, 'data-dir': { type: 'string' } }, 'connrca migrate [--config C] [--data-dir D]')
  const config = loadConfig(values.config)
  if (values['data-dir']) config.store.dataDir = values['data-dir']
  const store = await openStoreOrExplain(config, 'it has applied the migrations already')
  try {
    const applied = await store.migrate()
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'schema is up to date\n')
  } finally {
    await store.close()
  }
}
