/**
 * Checks at the public edge. Everything a caller hands in (data, labels, layer specs, parameters,
 * options) is checked here once, with a message that names the operation, the argument and the
 * sizes; the math files behind it trust their inputs and stay free of checks.
 */
import type { HiddenActivationName, OutputActivationName } from './activations.ts';
import { DEFAULT_LEAKY_SLOPE, HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS } from './activations.ts';
import type { Layer } from './architecture.ts';
import { NnInputError } from './errors.ts';
import type { DType, FloatArray, Matrix } from './matrix.ts';
import { dtypeOf, zeros } from './matrix.ts';

/** A matrix as callers may give it: nested rows (`number[][]`, or rows that are typed arrays) or a Matrix. */
export type MatrixInput = Matrix | ReadonlyArray<ArrayLike<number>>;

export function fail(message: string): never {
  throw new NnInputError(message);
}

/** Throws an NnInputError about one option: `${op}: ${reason}`, with the option named. */
export function failOption(op: string, argument: string, reason: string): never {
  throw new NnInputError(`${op}: ${reason}`, { argument, reason });
}

export function isMatrix(x: unknown): x is Matrix {
  return (
    typeof x === 'object' && x !== null && !Array.isArray(x) && 'data' in x && 'rows' in x && 'cols' in x
  );
}

function describe(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (v === null) return 'null';
  if (v === undefined) return 'missing';
  return `a ${typeof v}`;
}

function checkFiniteData(data: FloatArray, cols: number, op: string, arg: string): void {
  for (let k = 0; k < data.length; k++) {
    const v = data[k]!;
    // v - v is 0 for finite v and NaN for NaN and ±Infinity: one test for both.
    if (v - v !== 0) {
      const i = Math.floor(k / cols);
      fail(`${op}: ${arg}[${i}][${k - i * cols}] is ${v}; ${arg} must hold finite numbers`);
    }
  }
}

/**
 * Read a nested array or a Matrix into a Matrix of the given dtype, checking that it is
 * rectangular and holds only finite numbers. A Matrix already of that dtype is returned as is
 * (no copy: the 20 MB datasets of the service pass through without one).
 */
export function readMatrix(input: MatrixInput, op: string, arg: string, dtype: DType): Matrix {
  if (isMatrix(input)) {
    const { rows, cols, data } = input;
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
      fail(`${op}: ${arg} has rows ${rows} and cols ${cols}; both must be non-negative integers`);
    }
    if (!(data instanceof Float64Array || data instanceof Float32Array)) {
      fail(`${op}: ${arg}.data must be a Float64Array or a Float32Array`);
    }
    if (data.length !== rows * cols) {
      fail(`${op}: ${arg} is (${rows}, ${cols}) so data needs ${rows * cols} values but has ${data.length}`);
    }
    checkFiniteData(data, cols, op, arg);
    if (dtypeOf(input) === dtype) return input;
    const out = zeros(rows, cols, dtype);
    out.data.set(data);
    return out;
  }
  if (!Array.isArray(input)) {
    fail(`${op}: ${arg} must be a nested array (one inner array per row) or a Matrix { rows, cols, data }`);
  }
  const rows = input.length;
  if (rows === 0) fail(`${op}: ${arg} is empty (0 rows)`);
  const first = input[0];
  if (first === null || typeof first !== 'object' || typeof first.length !== 'number') {
    fail(`${op}: ${arg}[0] must be an array of numbers (${arg} is one inner array per row)`);
  }
  const cols = first.length;
  const out = zeros(rows, cols, dtype);
  const d = out.data;
  for (let i = 0; i < rows; i++) {
    const row = input[i];
    if (row === null || typeof row !== 'object' || typeof row.length !== 'number') {
      fail(`${op}: ${arg}[${i}] must be an array of numbers`);
    }
    if (row.length !== cols) {
      fail(`${op}: ${arg} row ${i} has ${row.length} entries but row 0 has ${cols}`);
    }
    for (let j = 0; j < cols; j++) {
      const v: unknown = row[j];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        fail(`${op}: ${arg}[${i}][${j}] is ${describe(v)}; ${arg} must hold finite numbers`);
      }
      d[i * cols + j] = v;
    }
  }
  return out;
}

/** X: (n[0], m) with m ≥ 1 and n[0] the network's inputSize. */
export function readX(X: MatrixInput, inputSize: number, op: string, dtype: DType): Matrix {
  const M = readMatrix(X, op, 'X', dtype);
  if (M.rows !== inputSize) {
    fail(
      `${op}: X has ${M.rows} rows but the network expects inputSize ${inputSize} ` +
        '(X is (features, samples): one column per sample)',
    );
  }
  if (M.cols === 0) fail(`${op}: X has no samples (0 columns)`);
  return M;
}

/**
 * Y: (n[L], m), matching X's m and the output layer: labels 0 or 1 for a sigmoid output, columns
 * that are probability distributions (one-hot) for softmax, any finite values for linear.
 */
export function readY(Y: MatrixInput, output: Layer, m: number, op: string, dtype: DType): Matrix {
  const M = readMatrix(Y, op, 'Y', dtype);
  if (M.rows !== output.units) {
    fail(
      `${op}: Y has ${M.rows} rows but the output layer has ${output.units} units (Y is (outputs, samples))`,
    );
  }
  if (M.cols !== m) fail(`${op}: Y has ${M.cols} columns but X has ${m} (one column per sample in both)`);
  const d = M.data;
  if (output.activation === 'sigmoid') {
    for (let k = 0; k < d.length; k++) {
      const v = d[k]!;
      if (v !== 0 && v !== 1) {
        const i = Math.floor(k / m);
        fail(`${op}: Y[${i}][${k - i * m}] is ${v} but a sigmoid output needs labels 0 or 1`);
      }
    }
  } else if (output.activation === 'softmax') {
    for (let j = 0; j < m; j++) {
      let sum = 0;
      for (let i = 0; i < M.rows; i++) {
        const v = d[i * m + j]!;
        if (v < 0 || v > 1) {
          fail(
            `${op}: Y[${i}][${j}] is ${v} but softmax targets are probabilities in [0, 1] (one-hot columns)`,
          );
        }
        sum += v;
      }
      if (Math.abs(sum - 1) > 1e-6) {
        fail(
          `${op}: column ${j} of Y sums to ${sum} but softmax targets must be one-hot (each column sums to 1)`,
        );
      }
    }
  }
  return M;
}

/** Check layer specs: units, activation allowed at that position, leaky_relu's slope. */
export function resolveLayers(inputSize: unknown, layers: unknown, op: string): Layer[] {
  if (typeof inputSize !== 'number' || !Number.isInteger(inputSize) || inputSize < 1) {
    fail(`${op}: inputSize must be a positive integer, got ${describe(inputSize)}`);
  }
  if (!Array.isArray(layers) || layers.length === 0) {
    fail(`${op}: layers must be a non-empty array (the hidden layers, then the output layer)`);
  }
  const L = layers.length;
  return layers.map((spec: unknown, i): Layer => {
    const l = i + 1;
    if (typeof spec !== 'object' || spec === null) fail(`${op}: layers[${i}] must be { units, activation }`);
    const { units, activation, slope } = spec as Record<string, unknown>;
    if (typeof units !== 'number' || !Number.isInteger(units) || units < 1) {
      fail(`${op}: layers[${i}].units must be a positive integer, got ${describe(units)}`);
    }
    const isOutput = l === L;
    const allowed: readonly string[] = isOutput ? OUTPUT_ACTIVATIONS : HIDDEN_ACTIVATIONS;
    if (typeof activation !== 'string' || !allowed.includes(activation)) {
      fail(
        `${op}: layers[${i}].activation is ${typeof activation === 'string' ? `'${activation}'` : describe(activation)}` +
          ` but ${isOutput ? 'the output layer' : 'a hidden layer'} takes one of ${allowed.join(', ')}`,
      );
    }
    if (isOutput && activation === 'softmax' && units < 2) {
      fail(`${op}: a softmax output layer needs one unit per class (at least 2), got ${units}`);
    }
    if (slope !== undefined && activation !== 'leaky_relu') {
      fail(`${op}: layers[${i}].slope applies to leaky_relu only (this layer is ${activation})`);
    }
    let s = 0;
    if (activation === 'leaky_relu') {
      s = slope === undefined ? DEFAULT_LEAKY_SLOPE : (slope as number);
      if (typeof s !== 'number' || !(s > 0 && s <= 1)) {
        fail(`${op}: layers[${i}].slope must be a number in (0, 1], got ${describe(slope)}`);
      }
    }
    return { units, activation: activation as HiddenActivationName | OutputActivationName, slope: s };
  });
}

/**
 * Refuse all-zero weights in a hidden layer of more than one unit. Every unit of such a layer
 * starts as the same function of the input; the course's point is that symmetric units get
 * symmetric gradients, so they never become different features.
 */
export function checkSymmetry(W: readonly Matrix[], layers: readonly Layer[], op: string, how: string): void {
  for (let l = 1; l < layers.length; l++) {
    const n = layers[l - 1]!.units;
    if (n < 2) continue;
    const d = W[l]!.data;
    let allZero = true;
    for (let k = 0; k < d.length && allZero; k++) allZero = d[k] === 0;
    if (allZero) {
      fail(
        `${op}: W${l} is all zeros (${how}) in hidden layer ${l} of ${n} units: every unit of the layer ` +
          'would compute the same function and receive the same gradient (symmetry), so the units would ' +
          "never learn different features; initialise with small random values ('random', 'xavier' or 'he')",
      );
    }
  }
}

/** A number option: finite, within bounds. */
export function checkNumber(
  value: unknown,
  name: string,
  op: string,
  { min = -Infinity, max = Infinity, integer = false, minExclusive = false, maxExclusive = false } = {},
): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    failOption(
      op,
      name,
      `${name} must be a finite ${integer ? 'integer' : 'number'}, got ${describe(value)}`,
    );
  }
  if (minExclusive ? !(value > min) : value < min) {
    failOption(
      op,
      name,
      `${name} must be ${minExclusive ? 'greater than' : 'at least'} ${min}, got ${value}`,
    );
  }
  if (maxExclusive ? !(value < max) : value > max) {
    failOption(op, name, `${name} must be ${maxExclusive ? 'below' : 'at most'} ${max}, got ${value}`);
  }
  return value;
}
