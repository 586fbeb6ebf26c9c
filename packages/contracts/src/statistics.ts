/**
 * Per-feature statistics of a row-per-sample matrix: the dataset's featureStats and the
 * normalisation a job trains with (and its model predicts with) both come from here.
 *
 * Any finite input gives finite statistics. Each column is first scaled by a power of two near
 * its largest magnitude, so sums and squares cannot overflow (a column holding 1e200 or ±1.7e308
 * would otherwise give a standard deviation of Infinity). Scaling by a power of two is exact, so
 * for ordinary values the results are bit-identical to the plain formulas, mean = Σx / n and
 * std = sqrt(Σ(x − mean)² / n).
 */

export interface ColumnStatistics {
  mean: number;
  /** Population standard deviation; exactly 0 for a constant column. */
  std: number;
  min: number;
  max: number;
}

/** The largest power of two not above |v| (within the normal range), or 1 for 0. */
function powerOfTwoScale(magnitude: number): number {
  if (magnitude === 0) return 1;
  const exponent = Math.min(1023, Math.max(-1022, Math.floor(Math.log2(magnitude))));
  return 2 ** exponent;
}

/** mean, population std, min and max of each column of x (samples × features, row per sample). */
export function columnStatistics(
  x: ArrayLike<number>,
  samples: number,
  features: number,
): ColumnStatistics[] {
  const n = features;
  const min = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  const max = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
  for (let i = 0; i < samples; i++) {
    for (let j = 0; j < n; j++) {
      const v = x[i * n + j]!;
      if (v < min[j]!) min[j] = v;
      if (v > max[j]!) max[j] = v;
    }
  }
  const scale = Float64Array.from(min, (lo, j) => powerOfTwoScale(Math.max(Math.abs(lo), Math.abs(max[j]!))));
  // 1/s is a power of two too, so x · (1/s) is exactly x / s, and a multiplication is cheaper.
  const inverse = scale.map((s) => 1 / s);
  const sum = new Float64Array(n);
  for (let i = 0; i < samples; i++) {
    for (let j = 0; j < n; j++) sum[j]! += x[i * n + j]! * inverse[j]!;
  }
  const scaledMean = sum.map((s) => s / samples);
  const squares = new Float64Array(n);
  for (let i = 0; i < samples; i++) {
    for (let j = 0; j < n; j++) {
      const d = x[i * n + j]! * inverse[j]! - scaledMean[j]!;
      squares[j]! += d * d;
    }
  }
  return Array.from({ length: n }, (_, j) => {
    const lo = min[j]!;
    const hi = max[j]!;
    // A constant column: say so exactly, rather than with rounding noise (which standard
    // normalisation would divide by, turning a constant into ±1).
    if (lo === hi) return { mean: lo, std: 0, min: lo, max: hi };
    const s = scale[j]!;
    // Rounding can put the mean a hair outside [min, max] or the std above the largest double.
    const mean = Math.min(hi, Math.max(lo, scaledMean[j]! * s));
    const std = Math.min(Number.MAX_VALUE, Math.sqrt(squares[j]! / samples) * s);
    return { mean, std, min: lo, max: hi };
  });
}
