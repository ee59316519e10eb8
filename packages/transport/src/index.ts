export * from './in-process.js'
export * from './kafka/index.js'
export * from './types.js'
