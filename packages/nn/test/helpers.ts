/** Test helpers: comparisons. (The datasets are in data.ts, which also works outside vitest.) */
import { expect } from 'vitest';
import { type Matrix, TrainingAbortedError } from '../src/index.ts';

export { type Dataset, loadCats, loadPlanar } from './data.ts';

/** Flatten nested arrays / Matrix / typed arrays / numbers into a plain number list. */
export function flat(x: unknown): number[] {
  if (typeof x === 'number') return [x];
  if (x instanceof Float64Array || x instanceof Float32Array) return Array.from(x);
  if (Array.isArray(x)) return x.flatMap(flat);
  if (typeof x === 'object' && x !== null && 'data' in x) return flat((x as Matrix).data);
  throw new Error(`flat: cannot flatten ${typeof x}`);
}

/**
 * Element-wise |a − e| ≤ rel·|e| + rel·1e-3·max|e|: relative to each value, with a small floor
 * relative to the array's largest value for entries that are nearly zero by cancellation.
 */
export function expectClose(actual: unknown, expected: unknown, rel = 1e-9, what = 'value'): void {
  const a = flat(actual);
  const e = flat(expected);
  expect(a.length, `${what}: length`).toBe(e.length);
  const scale = e.reduce((s, v) => Math.max(s, Math.abs(v)), 0);
  for (let k = 0; k < e.length; k++) {
    const tol = rel * Math.abs(e[k]!) + rel * 1e-3 * scale;
    if (!(Math.abs(a[k]! - e[k]!) <= tol)) {
      expect.fail(
        `${what}[${k}]: ${a[k]} differs from ${e[k]} by ${Math.abs(a[k]! - e[k]!)} (tolerance ${tol})`,
      );
    }
  }
}

/** Runs `run`, which must stop with a TrainingAbortedError ('stop' or an abort), and returns that error. */
export function expectTrainingAborted(run: () => unknown): TrainingAbortedError {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(TrainingAbortedError);
    if (e instanceof TrainingAbortedError) return e;
  }
  throw new Error('expected a TrainingAbortedError, but the run ended normally');
}

/** The exact bits of a float array, for bit-identical comparisons (−0, NaN payloads included). */
export function bits(x: Float64Array | Float32Array): string {
  return Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex');
}
