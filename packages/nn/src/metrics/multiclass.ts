/**
 * Metrics of a softmax output against class indices 0..K−1. The predicted class is the most
 * probable one (argmax, the first on a tie: nn's predictLabels). Per class c, from the confusion
 * matrix C (rows actual, columns predicted): tp = C[c][c], fp = Σ_a C[a][c] − tp,
 * fn = Σ_p C[c][p] − tp, then precision, recall and F1 as in counts.ts (0 where undefined).
 *
 *   macro    = the plain mean over all K classes (a class absent from the labels counts, with
 *              recall 0: sklearn's average='macro' with every class listed)
 *   weighted = Σ_c support_c · score_c / m
 */
import type { Matrix } from '../matrix.ts';
import { confusionMatrix, predictLabels } from '../predict.ts';
import { checkOutputs } from './check.ts';
import { type ClassScores, classScores } from './counts.ts';
import { logLoss } from './log-loss.ts';

export interface AveragedScores {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

export interface MulticlassMetrics {
  readonly accuracy: number;
  readonly logLoss: number;
  /** One entry per class, in class-index order. */
  readonly perClass: ClassScores[];
  readonly macro: AveragedScores;
  readonly weighted: AveragedScores;
  /** K × K: confusionMatrix[a][p] = samples of actual class a predicted as p. */
  readonly confusionMatrix: number[][];
}

/** AL: (K, m) class probabilities; actual: m class indices. */
export function multiclassMetrics(AL: Matrix, actual: ArrayLike<number>): MulticlassMetrics {
  const op = 'multiclassMetrics';
  const K = AL.rows;
  checkOutputs(AL, actual, K, op);
  const m = AL.cols;
  const C = confusionMatrix(predictLabels(AL, 'softmax', op), actual, K);
  const perClass = C.map((row, c) => {
    const tp = row[c]!;
    let predicted = 0;
    for (let a = 0; a < K; a++) predicted += C[a]![c]!;
    const actualCount = row.reduce((s, v) => s + v, 0);
    return classScores(tp, predicted - tp, actualCount - tp);
  });
  let right = 0;
  for (let c = 0; c < K; c++) right += C[c]![c]!;
  const average = (weight: (s: ClassScores) => number, total: number): AveragedScores => ({
    precision: perClass.reduce((sum, s) => sum + weight(s) * s.precision, 0) / total,
    recall: perClass.reduce((sum, s) => sum + weight(s) * s.recall, 0) / total,
    f1: perClass.reduce((sum, s) => sum + weight(s) * s.f1, 0) / total,
  });
  return {
    accuracy: right / m,
    logLoss: logLoss(AL, actual),
    perClass,
    macro: average(() => 1, K),
    weighted: average((s) => s.support, m),
    confusionMatrix: C,
  };
}
