/**
 * Evaluation metrics of a trained network's outputs against known answers: binary, multi-class
 * and regression. Pure functions with sklearn's definitions (each file says where they differ),
 * checked against an independent numpy reference (test/fixtures/make_metrics.py).
 */
export { type BinaryMetrics, binaryMetrics } from './binary.ts';
export { type ClassScores, classScores } from './counts.ts';
export { LOG_LOSS_EPSILON, logLoss } from './log-loss.ts';
export { type AveragedScores, type MulticlassMetrics, multiclassMetrics } from './multiclass.ts';
export { type RegressionMetrics, regressionMetrics } from './regression.ts';
export { type Roc, type RocCurve, roc } from './roc.ts';
