/**
 * Metrics of a linear output ŷ against real targets y, over m samples:
 *
 *   MSE = (1/m) Σ (ŷ − y)²     RMSE = √MSE     MAE = (1/m) Σ |ŷ − y|
 *   R²  = 1 − Σ (ŷ − y)² / Σ (y − ȳ)²
 *
 * R² is undefined when every target is the same (Σ (y − ȳ)² = 0): then it is null with a reason
 * (sklearn's r2_score would answer 1 for a perfect fit and 0 otherwise, which hides that).
 */
import { fail } from '../validate.ts';

export interface RegressionMetrics {
  readonly mse: number;
  readonly rmse: number;
  readonly mae: number;
  readonly r2: number | null;
  /** Why a metric is null, by its name. */
  readonly undefinedMetrics: Readonly<Record<string, string>>;
}

export function regressionMetrics(
  predicted: ArrayLike<number>,
  actual: ArrayLike<number>,
): RegressionMetrics {
  const op = 'regressionMetrics';
  const m = actual.length;
  if (m === 0) fail(`${op}: no samples`);
  if (predicted.length !== m) fail(`${op}: predicted has ${predicted.length} values but actual has ${m}`);
  let squared = 0;
  let absolute = 0;
  let sumY = 0;
  let constant = true;
  for (let j = 0; j < m; j++) {
    const e = predicted[j]! - actual[j]!;
    squared += e * e;
    absolute += Math.abs(e);
    sumY += actual[j]!;
    if (actual[j] !== actual[0]) constant = false;
  }
  const mse = squared / m;
  const base = { mse, rmse: Math.sqrt(mse), mae: absolute / m };
  if (constant) {
    const reason = `every target is ${actual[0]}: R² divides by their variance, which is 0`;
    return { ...base, r2: null, undefinedMetrics: { r2: reason } };
  }
  const mean = sumY / m;
  let total = 0;
  for (let j = 0; j < m; j++) total += (actual[j]! - mean) ** 2;
  return { ...base, r2: 1 - squared / total, undefinedMetrics: {} };
}
