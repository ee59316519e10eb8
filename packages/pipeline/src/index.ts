export * from './sources/index.js'
export * from './stages/classify.js'
export * from './stages/window.js'
