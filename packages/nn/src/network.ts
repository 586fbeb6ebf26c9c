/**
 * `Network`: an L-layer dense network, its parameters and the course's operations on it (forward,
 * cost, gradients, one gradient-descent step, predictions). It is the public edge: every method
 * checks its inputs (validate.ts) and then calls the math (forward.ts, backward.ts, costs.ts).
 *
 * Layout: X is (n[0], m), one column per sample; Y and AL are (n[L], m); parameters use the
 * course's keys and shapes, W1: (n[1], n[0]), b1: (n[1], 1), ..., as nested arrays (row-major).
 * Every method that takes nested arrays also takes Matrix objects ({ rows, cols, data }).
 */
import type { OutputActivationName } from './activations.ts';
import { type Layer, type LayerSpec, outputActivationOf } from './architecture.ts';
import { backwardPropagation } from './backward.ts';
import { COSTS, type CostName, l2Cost } from './costs.ts';
import { forwardPropagation } from './forward.ts';
import { INIT_NAMES, type InitName, initializeParameters } from './init.ts';
import { copyMatrix, oneHot, toNested, toRows, transpose } from './layout.ts';
import type { DType, Matrix } from './matrix.ts';
import { zeros } from './matrix.ts';
import { accuracy, labelsFromTargets, predictLabels } from './predict.ts';
import { Rng } from './rng.ts';
import {
  checkNumber,
  checkSymmetry,
  fail,
  isMatrix,
  type MatrixInput,
  readMatrix,
  readX,
  readY,
  resolveLayers,
} from './validate.ts';
import { createWorkspace, EMPTY, type Weights } from './workspace.ts';

/** The architecture: n[0] = inputSize, then the hidden layers and the output layer. */
export interface NetworkSpec {
  readonly inputSize: number;
  readonly layers: readonly LayerSpec[];
  /** Storage and arithmetic precision of parameters and buffers (default float64). */
  readonly dtype?: DType;
}

export interface CreateOptions extends NetworkSpec {
  /** Weight initialisation (default 'xavier'); biases start at zero. */
  readonly init?: InitName;
  /** Seed of the initial weights, an integer in [0, 2³²) (default 0). */
  readonly seed?: number;
}

/** Parameters as callers may give them: { W1, b1, ..., WL, bL }, each nested rows or a Matrix. */
export type ParametersInput = Readonly<Record<string, MatrixInput>>;

export interface FromParametersOptions extends NetworkSpec {
  readonly parameters: ParametersInput;
}

/** { W1, b1, ..., WL, bL } as nested arrays: W1 is n[1] rows of n[0] numbers, b1 is n[1] rows of 1. */
export type NetworkParameters = Record<string, number[][]>;
/** { W1, b1, ..., WL, bL } as Matrix objects. */
export type ParameterMatrices = Record<string, Matrix>;
/** { dW1, db1, ..., dWL, dbL }, shaped like the parameters. */
export type Gradients = Record<string, number[][]>;
/** { dW1, db1, ..., dWL, dbL } as Matrix objects. */
export type GradientMatrices = Record<string, Matrix>;

/** The result of `predictRows`: one entry per sample. */
export interface RowPredictions {
  /** Each sample's output column AL[:, j] as a row: probabilities (sigmoid, softmax) or values (linear). */
  readonly outputs: number[][];
  /** Each sample's label (0/1 for sigmoid, the class index for softmax); null for a linear output. */
  readonly labels: number[] | null;
}

/** Check parameters { W1, b1, ... } against the architecture and read them into matrices. */
export function readParameters(
  parameters: ParametersInput,
  inputSize: number,
  layers: readonly Layer[],
  dtype: DType,
  op: string,
): Weights {
  if (typeof parameters !== 'object' || parameters === null) {
    fail(`${op}: parameters must be an object { W1, b1, ..., W${layers.length}, b${layers.length} }`);
  }
  const L = layers.length;
  const expected = new Set<string>();
  for (let l = 1; l <= L; l++) expected.add(`W${l}`).add(`b${l}`);
  for (const key of Object.keys(parameters)) {
    if (!expected.has(key))
      fail(`${op}: parameters has an unexpected key '${key}' (expected W1, b1, ..., W${L}, b${L})`);
  }
  const W = [EMPTY];
  const b = [EMPTY];
  let nPrev = inputSize;
  for (let l = 1; l <= L; l++) {
    const n = layers[l - 1]!.units;
    for (const [key, rows, cols, into] of [
      [`W${l}`, n, nPrev, W],
      [`b${l}`, n, 1, b],
    ] as const) {
      const input = parameters[key];
      if (input === undefined)
        fail(`${op}: parameters.${key} is missing (expected W1, b1, ..., W${L}, b${L})`);
      let M = readMatrix(input, op, `parameters.${key}`, dtype);
      if (M.rows !== rows || M.cols !== cols) {
        fail(
          `${op}: parameters.${key} is (${M.rows}, ${M.cols}) but layer ${l} needs (${rows}, ${cols}) = (n[${l}], ${key[0] === 'W' ? `n[${l - 1}]` : '1'})`,
        );
      }
      if (M === input) M = copyMatrix(M); // never alias the caller's arrays
      into.push(M);
    }
    nPrev = n;
  }
  checkSymmetry(W, layers, op, 'as given');
  return { W, b };
}

export class Network {
  /** n[0], the number of features of a sample. */
  readonly inputSize: number;
  /** The layers 1..L (the last is the output layer), with leaky_relu's slope filled in. */
  readonly layers: readonly Layer[];
  readonly dtype: DType;
  /**
   * The live parameters, W[l] and b[l] for l = 1..L (index 0 is an empty placeholder). Training
   * updates them in place; read them for speed, copy them with `parameterMatrices()`.
   */
  readonly weights: Weights;

  private constructor(inputSize: number, layers: readonly Layer[], dtype: DType, weights: Weights) {
    this.inputSize = inputSize;
    this.layers = layers;
    this.dtype = dtype;
    this.weights = weights;
  }

  /** A network with initialised weights: W[l] ~ N(0, 1)·scale (see init.ts), b[l] = 0. */
  static create(options: CreateOptions): Network {
    const op = 'Network.create';
    const layers = resolveLayers(options?.inputSize, options?.layers, op);
    const dtype = readDtype(options.dtype, op);
    const init = options.init ?? 'xavier';
    if (!INIT_NAMES.includes(init))
      fail(`${op}: init is '${init}' but must be one of ${INIT_NAMES.join(', ')}`);
    const seed = checkNumber(options.seed ?? 0, 'seed', op, { min: 0, max: 0xffffffff, integer: true });
    const weights = initializeParameters(options.inputSize, layers, init, new Rng(seed), dtype);
    checkSymmetry(weights.W, layers, op, `init '${init}'`);
    return new Network(options.inputSize, layers, dtype, weights);
  }

  /** A network with the given parameters { W1, b1, ..., WL, bL } (copied). */
  static fromParameters(options: FromParametersOptions): Network {
    const op = 'Network.fromParameters';
    const layers = resolveLayers(options?.inputSize, options?.layers, op);
    const dtype = readDtype(options.dtype, op);
    const weights = readParameters(options.parameters, options.inputSize, layers, dtype, op);
    return new Network(options.inputSize, layers, dtype, weights);
  }

  /** L, the number of layers with parameters (hidden layers + the output layer). */
  get depth(): number {
    return this.layers.length;
  }

  /** The layer sizes [n[0], n[1], ..., n[L]]. */
  get sizes(): number[] {
    return [this.inputSize, ...this.layers.map((layer) => layer.units)];
  }

  get outputActivation(): OutputActivationName {
    return outputActivationOf(this.layers);
  }

  /** The cost the output activation implies: sigmoid → BCE, softmax → CCE, linear → MSE. */
  get costName(): CostName {
    return COSTS[this.outputActivation].name;
  }

  /** AL = the forward pass of X. X: (n[0], m) → AL: (n[L], m). */
  forward(X: ReadonlyArray<ArrayLike<number>>): number[][];
  forward(X: Matrix): Matrix;
  forward(X: MatrixInput): number[][] | Matrix {
    const AL = this.forwardMatrix(readX(X, this.inputSize, 'forward', this.dtype));
    return isMatrix(X) ? AL : toNested(AL);
  }

  /** J = cost(AL, Y) + (λ/2m)·Σ‖W[l]‖² (λ = `l2`, default 0). X: (n[0], m), Y: (n[L], m). */
  cost(X: MatrixInput, Y: MatrixInput, options: { readonly l2?: number } = {}): number {
    const op = 'cost';
    const Xm = readX(X, this.inputSize, op, this.dtype);
    const Ym = readY(Y, this.layers[this.depth - 1]!, Xm.cols, op, this.dtype);
    const lambda = readL2(options.l2, op);
    const ws = createWorkspace(this.inputSize, this.layers, Xm.cols, this.dtype, false);
    forwardPropagation(Xm, this.weights, this.layers, ws);
    const L = this.depth;
    return (
      COSTS[this.outputActivation].cost(ws.Z[L]!, ws.A[L]!, Ym) + l2Cost(this.weights.W, lambda, Xm.cols)
    );
  }

  /** { dW1, db1, ..., dWL, dbL }: the gradients of J at the current parameters (backward propagation). */
  gradients(
    X: ReadonlyArray<ArrayLike<number>>,
    Y: MatrixInput,
    options?: { readonly l2?: number },
  ): Gradients;
  gradients(X: Matrix, Y: MatrixInput, options?: { readonly l2?: number }): GradientMatrices;
  gradients(
    X: MatrixInput,
    Y: MatrixInput,
    options: { readonly l2?: number } = {},
  ): Gradients | GradientMatrices {
    const ws = this.backward(X, Y, readL2(options.l2, 'gradients'), 'gradients').ws;
    const out: Record<string, Matrix> = {};
    for (let l = 1; l <= this.depth; l++) {
      out[`dW${l}`] = ws.dW[l]!;
      out[`db${l}`] = ws.db[l]!;
    }
    if (isMatrix(X)) return out;
    return Object.fromEntries(Object.entries(out).map(([key, M]) => [key, toNested(M)]));
  }

  /**
   * One step of batch gradient descent, in place: W[l] −= α·dW[l], b[l] −= α·db[l]. Returns the
   * cost J before the step (the cost the gradients were taken at).
   */
  step(
    X: MatrixInput,
    Y: MatrixInput,
    options: { readonly learningRate: number; readonly l2?: number },
  ): number {
    const op = 'step';
    const lr = checkNumber(options?.learningRate, 'learningRate', op, { min: 0, minExclusive: true });
    const { ws, cost } = this.backward(X, Y, readL2(options.l2, op), op);
    for (let l = 1; l <= this.depth; l++) {
      for (const [theta, d] of [
        [this.weights.W[l]!.data, ws.dW[l]!.data],
        [this.weights.b[l]!.data, ws.db[l]!.data],
      ] as const) {
        for (let k = 0; k < theta.length; k++) theta[k] = theta[k]! - lr * d[k]!;
      }
    }
    return cost;
  }

  /** A copy of the parameters { W1, b1, ..., WL, bL } as nested arrays in the course's layout. */
  parameters(): NetworkParameters {
    return Object.fromEntries(Object.entries(this.parameterMatrices()).map(([key, M]) => [key, toNested(M)]));
  }

  /** A copy of the parameters { W1, b1, ..., WL, bL } as Matrix objects (typed arrays). */
  parameterMatrices(): ParameterMatrices {
    const out: ParameterMatrices = {};
    for (let l = 1; l <= this.depth; l++) {
      out[`W${l}`] = copyMatrix(this.weights.W[l]!);
      out[`b${l}`] = copyMatrix(this.weights.b[l]!);
    }
    return out;
  }

  /** Replace the parameters (checked against the architecture, copied in). */
  setParameters(parameters: ParametersInput): void {
    const read = readParameters(parameters, this.inputSize, this.layers, this.dtype, 'setParameters');
    for (let l = 1; l <= this.depth; l++) {
      this.weights.W[l]!.data.set(read.W[l]!.data);
      this.weights.b[l]!.data.set(read.b[l]!.data);
    }
  }

  /** An independent copy of the network. */
  clone(): Network {
    return Network.fromParameters({
      inputSize: this.inputSize,
      layers: this.layers.map(specOf),
      dtype: this.dtype,
      parameters: this.parameterMatrices(),
    });
  }

  /** Labels of the m columns of X: 0/1 (AL > 0.5) for a sigmoid output, the argmax class for softmax. */
  predict(X: MatrixInput): number[] {
    const AL = this.forwardMatrix(readX(X, this.inputSize, 'predict', this.dtype));
    return predictLabels(AL, this.outputActivation, 'predict');
  }

  /**
   * Predictions for samples given one ROW each (as HTTP clients send them): `samples` is m rows
   * of n[0] features. Internally X = samplesᵀ, (n[0], m), as in the course.
   */
  predictRows(samples: MatrixInput): RowPredictions {
    const op = 'predictRows';
    const S = readMatrix(samples, op, 'samples', this.dtype);
    if (S.rows === 0) fail(`${op}: samples is empty (0 rows)`);
    if (S.cols !== this.inputSize) {
      fail(
        `${op}: samples have ${S.cols} features (columns) but the network expects inputSize ${this.inputSize}`,
      );
    }
    const AL = this.forwardMatrix(transpose(S));
    const output = this.outputActivation;
    const classifies = output === 'softmax' || (output === 'sigmoid' && AL.rows === 1);
    return { outputs: toRows(AL), labels: classifies ? predictLabels(AL, output, op) : null };
  }

  /** The fraction of samples whose predicted label equals the label in Y (classification only). */
  accuracy(X: MatrixInput, Y: MatrixInput): number {
    const op = 'accuracy';
    const Xm = readX(X, this.inputSize, op, this.dtype);
    const Ym = readY(Y, this.layers[this.depth - 1]!, Xm.cols, op, this.dtype);
    const AL = this.forwardMatrix(Xm);
    return accuracy(
      predictLabels(AL, this.outputActivation, op),
      labelsFromTargets(Ym, this.outputActivation, op),
    );
  }

  /**
   * Targets Y: (n[L], m) from one label per sample, for the row-per-sample entry: 0/1 labels for
   * a sigmoid output, class indices 0..K−1 for softmax (one-hot encoded), values for a linear
   * output of 1 unit; for outputs of several units give one row of n[L] targets per sample.
   */
  targets(labels: ArrayLike<number> | ReadonlyArray<ArrayLike<number>>): Matrix {
    const op = 'targets';
    const n = this.layers[this.depth - 1]!.units;
    const first: unknown = labels[0];
    if (labels.length === 0) fail(`${op}: labels is empty`);
    let Y: Matrix;
    if (typeof first === 'number' || first === undefined) {
      const flat = labels as ArrayLike<number>;
      if (this.outputActivation === 'softmax') {
        Y = oneHot(flat, n, this.dtype);
      } else {
        if (n !== 1)
          fail(`${op}: the output layer has ${n} units, so give one row of ${n} targets per sample`);
        Y = zeros(1, flat.length, this.dtype);
        for (let j = 0; j < flat.length; j++) Y.data[j] = flat[j]!;
      }
    } else {
      Y = transpose(readMatrix(labels as ReadonlyArray<ArrayLike<number>>, op, 'labels', this.dtype));
    }
    return readY(Y, this.layers[this.depth - 1]!, Y.cols, op, this.dtype);
  }

  /** AL for an already checked X (no copy of X). */
  private forwardMatrix(X: Matrix): Matrix {
    const ws = createWorkspace(this.inputSize, this.layers, X.cols, this.dtype, false);
    return forwardPropagation(X, this.weights, this.layers, ws);
  }

  /** Forward and backward over checked X and Y; the workspace holds dW[l], db[l]. */
  private backward(X: MatrixInput, Y: MatrixInput, lambda: number, op: string) {
    const Xm = readX(X, this.inputSize, op, this.dtype);
    const Ym = readY(Y, this.layers[this.depth - 1]!, Xm.cols, op, this.dtype);
    const ws = createWorkspace(this.inputSize, this.layers, Xm.cols, this.dtype, true);
    forwardPropagation(Xm, this.weights, this.layers, ws);
    const L = this.depth;
    const cost =
      COSTS[this.outputActivation].cost(ws.Z[L]!, ws.A[L]!, Ym) + l2Cost(this.weights.W, lambda, Xm.cols);
    backwardPropagation(Ym, this.weights, this.layers, ws, lambda);
    return { ws, cost };
  }
}

/** A layer as a spec again (slope only for leaky_relu). */
export function specOf(layer: Layer): LayerSpec {
  return layer.activation === 'leaky_relu'
    ? { units: layer.units, activation: layer.activation, slope: layer.slope }
    : { units: layer.units, activation: layer.activation };
}

function readDtype(dtype: unknown, op: string): DType {
  if (dtype === undefined) return 'float64';
  if (dtype !== 'float64' && dtype !== 'float32')
    fail(`${op}: dtype must be 'float64' or 'float32', got ${String(dtype)}`);
  return dtype;
}

export function readL2(l2: unknown, op: string): number {
  return checkNumber(l2 ?? 0, 'l2', op, { min: 0 });
}
