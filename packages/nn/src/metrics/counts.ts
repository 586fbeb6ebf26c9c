/**
 * Precision, recall and F1 of one class from its counts, sklearn's definitions with
 * zero_division = 0: a ratio whose denominator is 0 (no sample predicted as the class, no sample
 * of the class, neither) is 0, never NaN.
 *
 *   precision = tp / (tp + fp)     recall = tp / (tp + fn)     F1 = 2·tp / (2·tp + fp + fn)
 *
 * (F1 = 2·P·R / (P + R) written with the counts: the same number, and defined wherever one is.)
 */
export interface ClassScores {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** How many samples belong to the class. */
  readonly support: number;
}

const ratio = (numerator: number, denominator: number) => (denominator === 0 ? 0 : numerator / denominator);

export function classScores(tp: number, fp: number, fn: number): ClassScores {
  return {
    precision: ratio(tp, tp + fp),
    recall: ratio(tp, tp + fn),
    f1: ratio(2 * tp, 2 * tp + fp + fn),
    support: tp + fn,
  };
}
