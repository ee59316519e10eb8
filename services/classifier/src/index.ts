export * from './stage.js'
