export * from './sources/index.js'
export * from './service.js'
