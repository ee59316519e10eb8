export { generateLines, generateSample, incidentTruth, renderedRecords, type Sample } from './generate.js'
export { defaultIncidents, SAMPLE_SERVERS } from './profiles.js'
export { compilePrefix, DEFAULT_PREFIX, SYSLOG_PREFIX } from './render.js'
export { DEFAULT_REASON, TEMPLATES } from './templates.js'
export type { GenerateOptions, GenFormat, GroundTruth, InjectedIncident, ServerProfile, WindowTruth } from './types.js'
export { writeLog, writeLogs } from './write.js'
export { baselineWeek, diagnosisScenarios, GUESSED_USERS, type Scenario } from './scenarios.js'
export { classifiedEvents, incidentsOf, latest, type RunOptions, runStage } from './replay.js'
export {
  type BaselineCase,
  type BaselineReport,
  baselineReport,
  renderBaselineReport,
} from './baseline-report.js'
