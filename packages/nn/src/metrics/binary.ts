/**
 * Metrics of a sigmoid output against 0/1 labels. The predicted label is the course's: 1 where
 * AL > 0.5 (nn's predictLabels, what the API's predictions answer), so the confusion matrix is
 * that of the predictions a client gets. Precision, recall and F1 are the positive class's (class
 * index 1), each 0 where its denominator is 0 (counts.ts). ROC AUC and the curve are null, with a
 * reason, when the labels hold one class only (roc.ts).
 */
import type { Matrix } from '../matrix.ts';
import { confusionMatrix, predictLabels } from '../predict.ts';
import { fail } from '../validate.ts';
import { checkOutputs } from './check.ts';
import { classScores } from './counts.ts';
import { logLoss } from './log-loss.ts';
import { type RocCurve, roc } from './roc.ts';

export interface BinaryMetrics {
  readonly accuracy: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly rocAuc: number | null;
  readonly logLoss: number;
  /** [[TN, FP], [FN, TP]]: rows the actual class, columns the predicted one. */
  readonly confusionMatrix: number[][];
  readonly rocCurve: RocCurve | null;
  /** Why a metric is null, by its name. */
  readonly undefinedMetrics: Readonly<Record<string, string>>;
}

/** AL: (1, m) probabilities of class 1; actual: m labels, 0 or 1. */
export function binaryMetrics(AL: Matrix, actual: ArrayLike<number>, maxRocPoints: number): BinaryMetrics {
  const op = 'binaryMetrics';
  checkOutputs(AL, actual, 2, op);
  if (AL.rows !== 1) fail(`${op}: AL must have 1 row (a sigmoid output), got ${AL.rows}`);
  if (!Number.isInteger(maxRocPoints) || maxRocPoints < 2)
    fail(`${op}: maxRocPoints must be an integer ≥ 2, got ${maxRocPoints}`);
  const m = AL.cols;
  const counts = confusionMatrix(predictLabels(AL, 'sigmoid', op), actual, 2);
  const [TN, FP] = counts[0]!;
  const [FN, TP] = counts[1]!;
  const { precision, recall, f1 } = classScores(TP!, FP!, FN!);
  const curve = roc(AL.data, actual, maxRocPoints);
  return {
    accuracy: (TP! + TN!) / m,
    precision,
    recall,
    f1,
    rocAuc: curve.defined ? curve.auc : null,
    logLoss: logLoss(AL, actual),
    confusionMatrix: counts,
    rocCurve: curve.defined ? curve.curve : null,
    undefinedMetrics: curve.defined ? {} : { rocAuc: curve.reason, rocCurve: curve.reason },
  };
}
