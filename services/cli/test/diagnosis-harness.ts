// The replay helpers live beside the generator (the baseline report uses them too).
export { classifiedEvents, incidentsOf, latest, type RunOptions, runStage } from '../src/generate/replay.js'
