export { Classifier, type ClassifierOptions, type ClassifierSnapshot } from './classifier.js'
export { REASONS, type Reason, type ReasonInfo } from './reasons.js'
export { isCatalogSqlstate, mayClassify } from './relevance.js'
