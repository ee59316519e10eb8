export * from './in-process.js'
export * from './types.js'
