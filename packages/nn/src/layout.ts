/**
 * The course's layout and the ways data arrives.
 *
 * The math works on X of shape (n[0], m): one COLUMN per sample, so that Z = W·X + b is one matrix
 * product for the whole batch. CSV files and HTTP clients send one ROW per sample. `fromRows`
 * turns rows into the course's X (a transpose); `toRows` turns a result back. A Matrix is a flat
 * row-major typed array: element (i, j) of a (rows, cols) matrix is data[i·cols + j].
 */
import type { DType, FloatArray, Matrix } from './matrix.ts';
import { dtypeOf, zeros } from './matrix.ts';
import { fail, isMatrix, type MatrixInput, readMatrix } from './validate.ts';

/**
 * Wrap a flat row-major Float64Array (or Float32Array) as a (rows, cols) Matrix, without copying.
 * E.g. a dataset stored column per sample: `matrix(nx, m, new Float64Array(buffer))`.
 */
export function matrix(rows: number, cols: number, data: FloatArray): Matrix {
  return readMatrix(
    { rows, cols, data },
    'matrix',
    'data',
    data instanceof Float32Array ? 'float32' : 'float64',
  );
}

/** Nested rows → a (rows, cols) Matrix (copied, checked rectangular and finite). */
export function fromNested(rows: ReadonlyArray<ArrayLike<number>>, dtype: DType = 'float64'): Matrix {
  return readMatrix(rows, 'fromNested', 'rows', dtype);
}

/** A Matrix → nested rows, number[rows][cols]. */
export function toNested(M: Matrix): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < M.rows; i++) out.push(Array.from(M.data.subarray(i * M.cols, (i + 1) * M.cols)));
  return out;
}

/** Mᵀ: (cols, rows). */
export function transpose(M: Matrix): Matrix {
  const { rows, cols, data } = M;
  const out = zeros(cols, rows, data instanceof Float32Array ? 'float32' : 'float64');
  const o = out.data;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) o[j * rows + i] = data[i * cols + j]!;
  }
  return out;
}

/**
 * Samples one row each → the course's X, one column each. `samples`: m rows of n[0] features
 * (nested arrays, or an (m, n[0]) Matrix such as a row-major Float64Array of a stored dataset);
 * result: (n[0], m). fromRows([[x1, x2], [x1', x2']]) = [[x1, x1'], [x2, x2']].
 */
export function fromRows(samples: MatrixInput, dtype: DType = 'float64'): Matrix {
  const M = readMatrix(samples, 'fromRows', 'samples', dtype);
  if (M.rows === 0) fail('fromRows: samples is empty (0 rows)');
  return transpose(M);
}

/** The course's (n, m) layout → one row per sample: number[m][n]. */
export function toRows(M: Matrix): number[][] {
  return toNested(transpose(M));
}

/**
 * Class labels 0..K−1 → one-hot Y of shape (K, m): Y[labels[j]][j] = 1. The targets of a softmax
 * output layer with K units.
 */
export function oneHot(labels: ArrayLike<number>, classes: number, dtype: DType = 'float64'): Matrix {
  if (!Number.isInteger(classes) || classes < 2)
    fail(`oneHot: classes must be an integer ≥ 2, got ${classes}`);
  const m = labels.length;
  if (m === 0) fail('oneHot: labels is empty');
  const Y = zeros(classes, m, dtype);
  for (let j = 0; j < m; j++) {
    const c = labels[j]!;
    if (!Number.isInteger(c) || c < 0 || c >= classes) {
      fail(`oneHot: labels[${j}] is ${c} but class labels must be integers 0..${classes - 1}`);
    }
    Y.data[c * m + j] = 1;
  }
  return Y;
}

/**
 * Columns `columns` of M: (n, m), in that order, as a new (n, columns.length) Matrix of M's dtype.
 * E.g. the samples a training run held out: `selectColumns(X, result.split.validation)`.
 */
export function selectColumns(M: Matrix, columns: ArrayLike<number>): Matrix {
  const { rows: n, cols: m, data } = M;
  const count = columns.length;
  for (let c = 0; c < count; c++) {
    const j = columns[c]!;
    if (!Number.isInteger(j) || j < 0 || j >= m) fail(`selectColumns: column ${j} is not in 0..${m - 1}`);
  }
  const out = zeros(n, count, dtypeOf(M));
  for (let i = 0; i < n; i++) {
    const src = i * m;
    const dst = i * count;
    for (let c = 0; c < count; c++) out.data[dst + c] = data[src + columns[c]!]!;
  }
  return out;
}

/** A copy of M (same dtype). */
export function copyMatrix(M: Matrix): Matrix {
  return { rows: M.rows, cols: M.cols, data: M.data.slice() };
}

export { isMatrix };
