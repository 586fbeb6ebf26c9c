/** Per-feature statistics of a row-per-sample matrix, stored with the dataset for normalisation. */
import type { FeatureStat } from '@backprop/contracts';

/** mean, population std, min and max of each column of x (samples × names.length). */
export function featureStats(x: Float64Array, samples: number, names: readonly string[]): FeatureStat[] {
  const n = names.length;
  const sum = new Float64Array(n);
  const min = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  const max = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
  for (let i = 0; i < samples; i++) {
    for (let j = 0; j < n; j++) {
      const v = x[i * n + j]!;
      sum[j]! += v;
      if (v < min[j]!) min[j] = v;
      if (v > max[j]!) max[j] = v;
    }
  }
  const mean = sum.map((s) => s / samples);
  const squares = new Float64Array(n);
  for (let i = 0; i < samples; i++) {
    for (let j = 0; j < n; j++) {
      const d = x[i * n + j]! - mean[j]!;
      squares[j]! += d * d;
    }
  }
  return names.map((name, j) => ({
    name,
    mean: mean[j]!,
    std: Math.sqrt(squares[j]! / samples),
    min: min[j]!,
    max: max[j]!,
  }));
}
