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

/** A block of consecutive samples' values, row per sample. */
export interface SampleBlock {
  values: ArrayLike<number>;
  samples: number;
}

/**
 * The three passes over the samples (range, scaled sum, scaled squares), each taking one block at a
 * time in sample order. columnStatistics runs them over one block; a chunked dataset runs them
 * over its chunks, with the same arithmetic in the same order, so both give the same bits.
 */
class ColumnPasses {
  readonly min: Float64Array;
  readonly max: Float64Array;
  private scale = new Float64Array(0);
  private inverse = new Float64Array(0);
  private readonly sum: Float64Array;
  private scaledMean = new Float64Array(0);
  private readonly squares: Float64Array;
  private samples = 0;

  constructor(private readonly n: number) {
    this.min = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
    this.max = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
    this.sum = new Float64Array(n);
    this.squares = new Float64Array(n);
  }

  range({ values: x, samples }: SampleBlock): void {
    const { n, min, max } = this;
    for (let i = 0; i < samples; i++) {
      for (let j = 0; j < n; j++) {
        const v = x[i * n + j]!;
        if (v < min[j]!) min[j] = v;
        if (v > max[j]!) max[j] = v;
      }
    }
    this.samples += samples;
  }

  sums({ values: x, samples }: SampleBlock): void {
    const { n, sum } = this;
    if (this.inverse.length !== n) {
      this.scale = Float64Array.from(this.min, (lo, j) =>
        powerOfTwoScale(Math.max(Math.abs(lo), Math.abs(this.max[j]!))),
      );
      // 1/s is a power of two too, so x · (1/s) is exactly x / s, and a multiplication is cheaper.
      this.inverse = this.scale.map((s) => 1 / s);
    }
    const { inverse } = this;
    for (let i = 0; i < samples; i++) {
      for (let j = 0; j < n; j++) sum[j]! += x[i * n + j]! * inverse[j]!;
    }
  }

  squaredDeviations({ values: x, samples }: SampleBlock): void {
    const { n, inverse, squares } = this;
    if (this.scaledMean.length !== n) this.scaledMean = this.sum.map((s) => s / this.samples);
    const { scaledMean } = this;
    for (let i = 0; i < samples; i++) {
      for (let j = 0; j < n; j++) {
        const d = x[i * n + j]! * inverse[j]! - scaledMean[j]!;
        squares[j]! += d * d;
      }
    }
  }

  finish(): ColumnStatistics[] {
    const { samples } = this;
    return Array.from({ length: this.n }, (_, j) => {
      const lo = this.min[j]!;
      const hi = this.max[j]!;
      // A constant column: say so exactly, rather than with rounding noise (which standard
      // normalisation would divide by, turning a constant into ±1).
      if (lo === hi) return { mean: lo, std: 0, min: lo, max: hi };
      const s = this.scale[j]!;
      // Rounding can put the mean a hair outside [min, max] or the std above the largest double.
      const mean = Math.min(hi, Math.max(lo, this.scaledMean[j]! * s));
      const std = Math.min(Number.MAX_VALUE, Math.sqrt(this.squares[j]! / samples) * s);
      return { mean, std, min: lo, max: hi };
    });
  }
}

/** mean, population std, min and max of each column of x (samples × features, row per sample). */
export function columnStatistics(
  x: ArrayLike<number>,
  samples: number,
  features: number,
): ColumnStatistics[] {
  const passes = new ColumnPasses(features);
  const block = { values: x, samples };
  passes.range(block);
  passes.sums(block);
  passes.squaredDeviations(block);
  return passes.finish();
}

/**
 * columnStatistics of a matrix held in blocks (a chunked dataset): `blocks()` is read three times,
 * one block at a time, and the result is the same, bit for bit, as columnStatistics of the blocks
 * laid end to end.
 */
export async function blockColumnStatistics(
  blocks: () => AsyncIterable<SampleBlock>,
  features: number,
): Promise<ColumnStatistics[]> {
  const passes = new ColumnPasses(features);
  for await (const block of blocks()) passes.range(block);
  for await (const block of blocks()) passes.sums(block);
  for await (const block of blocks()) passes.squaredDeviations(block);
  return passes.finish();
}
