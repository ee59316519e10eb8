export { ApiConfigError, isLoopbackHost } from './auth.js'
export { buildOpenApi } from './openapi.js'
export { type ApiServer, type ApiServerOptions, createApiServer } from './server.js'
export { EXAMPLES, renderSchemaMarkdown, TABLES } from './schema-doc.js'
