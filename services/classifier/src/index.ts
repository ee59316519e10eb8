export * from './stage.js'
export * from './service.js'
