export { Classifier, type ClassifierOptions, type ClassifierSnapshot } from './classifier.js'
export { CONTEXT_TEXTS, FAILURE_TEXTS, failureTerms } from './failure-terms.js'
export { REASONS, type Reason, type ReasonInfo } from './reasons.js'
export { isCatalogSqlstate, mayClassify } from './relevance.js'
