/** Test helpers: the course's datasets from /data, and comparisons. Tests may use node: modules. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { expect } from 'vitest';
import { type Matrix, matrix } from '../src/index.ts';

const DATA = join(dirname(fileURLToPath(import.meta.url)), '../../../data');

export interface Dataset {
  /** (n_x, m): one column per sample, as in the course. */
  X: Matrix;
  /** (1, m) labels 0/1. */
  Y: Matrix;
}

/** Parse a `label,f1,f2,...` CSV (one row per sample) into the course's column-per-sample X and Y. */
function parseCsv(text: string, scale: number): Dataset {
  const lines = text.trimEnd().split('\n').slice(1);
  const m = lines.length;
  const nx = lines[0]!.split(',').length - 1;
  const X = new Float64Array(nx * m);
  const Y = new Float64Array(m);
  lines.forEach((line, j) => {
    const cells = line.split(',');
    Y[j] = Number(cells[0]);
    for (let i = 0; i < nx; i++) X[i * m + j] = Number(cells[i + 1]) / scale;
  });
  return { X: matrix(nx, m, X), Y: matrix(1, m, Y) };
}

/** The week 3 planar "flower" data: X (2, 400), Y (1, 400). */
export function loadPlanar(): Dataset {
  return parseCsv(readFileSync(join(DATA, 'planar_flower.csv'), 'utf8'), 1);
}

/** The cat/non-cat images, pixels / 255: train X (12288, 209), test X (12288, 50). */
export function loadCats(): { train: Dataset; test: Dataset } {
  return {
    train: parseCsv(gunzipSync(readFileSync(join(DATA, 'catvnoncat_train.csv.gz'))).toString('utf8'), 255),
    test: parseCsv(readFileSync(join(DATA, 'catvnoncat_test.csv'), 'utf8'), 255),
  };
}

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

/** The exact bits of a float array, for bit-identical comparisons (−0, NaN payloads included). */
export function bits(x: Float64Array | Float32Array): string {
  return Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex');
}
