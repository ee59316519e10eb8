/**
 * chDB's own API and the ClickHouse client, re-exported for code outside this package that
 * cannot resolve them itself (test/support/clickhouse-http-front.ts, services typing store.client).
 */
export { Session as ChdbSession } from 'chdb'
export { type ClickHouseClient, ClickHouseError, createClient } from '@clickhouse/client'
