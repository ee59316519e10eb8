export { SAMPLE, SAMPLE_THRESHOLDS, bundledSample } from './embedded/sample.js'
export * from './generate/index.js'
