export {
  BASELINE_P,
  BaselineLearner,
  type BaselineOptions,
  type BaselineSnapshot,
  type HourlyFailures,
  poissonThreshold,
} from './baseline.js'
export { persistenceOf, RECURRENCE_WINDOW_MS, severityOf, TRANSIENT_LIMIT_MS } from './classify.js'
export { gatewayFor, SINGLE_SERVER_GATEWAYS } from './gateways.js'
export { incidentId } from './incident-id.js'
export {
  ALL_ADDRESSES_WARNING,
  type FirewallRule,
  firewallRules,
  formatIpv4,
  parseIpv4,
  suggestFirewallRule,
} from './ipv4.js'
export { type Rendered, type RenderInput, renderRca } from './render.js'
export { IncidentTracker, type RcaOptions, type RcaSnapshot } from './tracker.js'
export { humanDuration, utcSpan } from './time-format.js'
export {
  diagnose,
  EvidenceCollector,
  type EvidenceOptions,
  type EvidenceSnapshot,
  type IncidentEvidence,
} from './diagnosis/index.js'
