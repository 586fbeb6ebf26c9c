/**
 * The ROC curve of scores (P(class 1)) against 0/1 labels, and the area under it.
 *
 * One point per distinct score t, from the highest down: every sample scored ≥ t is predicted
 * positive, so fpr = FP/N and tpr = TP/P there (N negatives, P positives), and thresholds[i] = t.
 * The curve starts at (0, 0) with threshold +Infinity (nothing predicted positive) and ends at
 * (1, 1). Samples with equal scores move together, so ties make a diagonal step: the area under
 * it by the trapezoid rule is the Mann-Whitney statistic, in which a tied (positive, negative)
 * pair counts one half (sklearn's roc_auc_score).
 *
 * Points that lie on the straight line between their neighbours change neither the curve nor its
 * area and are dropped (sklearn's drop_intermediate drops the evenly spaced ones among them; this
 * drops all). A curve still longer than `maxPoints` keeps the points at indices
 * floor(k·(n−1)/(maxPoints−1)), k = 0..maxPoints−1 (the first and the last among them); the AUC is
 * always that of the whole curve.
 *
 * With one class only (P = 0 or N = 0) a rate divides by zero: there is no curve and no AUC.
 */

export interface RocCurve {
  readonly fpr: number[];
  readonly tpr: number[];
  /** thresholds[0] is +Infinity: the point where no sample is predicted positive. */
  readonly thresholds: number[];
}

export type Roc =
  | { readonly defined: true; readonly auc: number; readonly curve: RocCurve }
  | { readonly defined: false; readonly reason: string };

export function roc(scores: ArrayLike<number>, actual: ArrayLike<number>, maxPoints: number): Roc {
  const m = scores.length;
  let P = 0;
  for (let j = 0; j < m; j++) P += actual[j] === 1 ? 1 : 0;
  const N = m - P;
  if (P === 0 || N === 0) {
    return {
      defined: false,
      reason: `the labels hold one class only (${P} positive, ${N} negative samples): the ROC curve and its AUC are undefined`,
    };
  }

  // Counts (FP, TP) at each distinct score, highest first: integers, so the area and the
  // straight-line test below are exact.
  const order = Array.from({ length: m }, (_, j) => j).sort((a, b) => scores[b]! - scores[a]!);
  const fp: number[] = [0];
  const tp: number[] = [0];
  const thresholds: number[] = [Number.POSITIVE_INFINITY];
  let FP = 0;
  let TP = 0;
  for (let i = 0; i < m; i++) {
    const j = order[i]!;
    if (actual[j] === 1) TP++;
    else FP++;
    const next = order[i + 1];
    if (next === undefined || scores[next] !== scores[j]) {
      fp.push(FP);
      tp.push(TP);
      thresholds.push(scores[j]!);
    }
  }

  // Trapezoids: Σ (FP_i − FP_{i−1})·(TP_i + TP_{i−1}) / 2, over N·P.
  let twiceArea = 0;
  for (let i = 1; i < fp.length; i++) twiceArea += (fp[i]! - fp[i - 1]!) * (tp[i]! + tp[i - 1]!);
  const auc = twiceArea / (2 * N * P);

  // Keep a point unless it lies on the line from the last kept point to the next one.
  const kept: number[] = [0];
  for (let i = 1; i < fp.length - 1; i++) {
    const a = kept[kept.length - 1]!;
    const cross = (fp[i]! - fp[a]!) * (tp[i + 1]! - tp[i]!) - (tp[i]! - tp[a]!) * (fp[i + 1]! - fp[i]!);
    if (cross !== 0) kept.push(i);
  }
  kept.push(fp.length - 1);

  const n = kept.length;
  const shown =
    n <= maxPoints
      ? kept
      : Array.from({ length: maxPoints }, (_, k) => kept[Math.floor((k * (n - 1)) / (maxPoints - 1))]!);
  return {
    defined: true,
    auc,
    curve: {
      fpr: shown.map((i) => fp[i]! / N),
      tpr: shown.map((i) => tp[i]! / P),
      thresholds: shown.map((i) => thresholds[i]!),
    },
  };
}
