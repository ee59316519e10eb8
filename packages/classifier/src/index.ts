export { Classifier, type ClassifierOptions } from './classifier.js'
export { REASONS, type Reason, type ReasonInfo } from './reasons.js'
