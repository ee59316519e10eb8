export { SAMPLE, SAMPLE_THRESHOLDS, bundledSample, sampleStart, writtenSampleStart } from './embedded/sample.js'
export * from './generate/index.js'
