/**
 * Parameter updates, one table row per optimiser (as in course 2, week 2), applied to every θ in
 * {W[l], b[l]} with its gradient dθ:
 *
 *   gd        θ = θ − α·dθ
 *   momentum  v = β·v + (1 − β)·dθ;                θ = θ − α·v
 *   adam      v = β1·v + (1 − β1)·dθ;  s = β2·s + (1 − β2)·dθ²;
 *             v̂ = v / (1 − β1^t);      ŝ = s / (1 − β2^t);   θ = θ − α·v̂ / (sqrt(ŝ) + ε)
 *
 * t counts the updates made so far (starting at 1 for the first). Mini-batch SGD is gd on
 * mini-batches (train.ts picks the batch). The state (v, s, t) is plain data so a checkpoint can
 * save it and a resumed run continue bit-identically.
 */
import type { DType, FloatArray, Matrix } from './matrix.ts';
import { zeros } from './matrix.ts';
import { fail } from './validate.ts';
import type { Weights } from './workspace.ts';

export type OptimizerName = 'gd' | 'momentum' | 'adam';

/** Names of the optimisers. */
export const OPTIMIZER_NAMES: readonly OptimizerName[] = ['gd', 'momentum', 'adam'];

/**
 * The course's defaults of the optimisers' hyper-parameters: momentum's β; Adam's β1, β2, ε.
 * `train` takes β, β1, β2 in [0, 1) and ε > 0.
 */
export const OPTIMIZER_DEFAULTS = { beta: 0.9, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } as const;

/** Hyper-parameters: α, momentum's β, Adam's β1, β2, ε. */
export interface OptimizerHyperparameters {
  readonly learningRate: number;
  readonly beta: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
}

/**
 * An optimiser's state, keyed like the course's dictionaries (v["dW1"], v["db1"], ...): velocities
 * or first moments v (momentum, adam), second moments s (adam), and the update count t.
 */
export interface OptimizerState {
  readonly optimizer: OptimizerName;
  /** Updates made so far. Adam's bias correction uses β^t with t counted from 1 at the first update. */
  readonly t: number;
  readonly v: Readonly<Record<string, Matrix>>;
  readonly s: Readonly<Record<string, Matrix>>;
}

/**
 * One optimiser's update of one parameter θ in place from its gradient dθ, with the moment buffers
 * v and s (empty when the rule keeps none); c1 = 1 − β1^t and c2 = 1 − β2^t are Adam's bias
 * corrections.
 */
export type OptimizerStep = (
  theta: FloatArray,
  d: FloatArray,
  v: FloatArray,
  s: FloatArray,
  h: OptimizerHyperparameters,
  c1: number,
  c2: number,
) => void;

interface Rule {
  /** How many moment buffers (v, s) the rule keeps. */
  readonly moments: 0 | 1 | 2;
  readonly step: OptimizerStep;
}

/** θ = θ − α·dθ. */
export const gdStep: OptimizerStep = (theta, d, _v, _s, h) => {
  const lr = h.learningRate;
  for (let k = 0; k < theta.length; k++) theta[k] = theta[k]! - lr * d[k]!;
};

/** v = β·v + (1 − β)·dθ; θ = θ − α·v. */
export const momentumStep: OptimizerStep = (theta, d, v, _s, h) => {
  const { learningRate: lr, beta } = h;
  for (let k = 0; k < theta.length; k++) {
    v[k] = beta * v[k]! + (1 - beta) * d[k]!;
    theta[k] = theta[k]! - lr * v[k]!;
  }
};

/** v = β1·v + (1 − β1)·dθ; s = β2·s + (1 − β2)·dθ²; θ = θ − α·(v/c1) / (sqrt(s/c2) + ε). */
export const adamStep: OptimizerStep = (theta, d, v, s, h, c1, c2) => {
  const { learningRate: lr, beta1, beta2, epsilon } = h;
  for (let k = 0; k < theta.length; k++) {
    const g = d[k]!;
    v[k] = beta1 * v[k]! + (1 - beta1) * g;
    s[k] = beta2 * s[k]! + (1 - beta2) * (g * g);
    const vHat = v[k]! / c1;
    const sHat = s[k]! / c2;
    theta[k] = theta[k]! - (lr * vHat) / (Math.sqrt(sHat) + epsilon);
  }
};

export const OPTIMIZERS: Readonly<Record<OptimizerName, Rule>> = {
  gd: { moments: 0, step: gdStep },
  momentum: { moments: 1, step: momentumStep },
  adam: { moments: 2, step: adamStep },
};

/** β^t by repeated squaring: only multiplications, so the same bits on every engine (Math.pow may differ). */
export function powInt(beta: number, t: number): number {
  let result = 1;
  let base = beta;
  let e = t;
  while (e > 0) {
    if (e & 1) result *= base;
    base *= base;
    e = Math.floor(e / 2);
  }
  return result;
}

export interface Optimizer {
  /** One update of every W[l], b[l] from the gradients dW[l], db[l]. */
  update(weights: Weights, dW: readonly Matrix[], db: readonly Matrix[]): void;
  /** A copy of the state (for a checkpoint). */
  state(): OptimizerState;
}

const EMPTY_DATA = new Float64Array(0);

/**
 * An optimiser for parameters shaped like `weights`, starting from zero moments or from a saved
 * state (checked against the shapes).
 */
export function createOptimizer(
  name: OptimizerName,
  weights: Weights,
  h: OptimizerHyperparameters,
  dtype: DType,
  saved: OptimizerState | undefined,
  op: string,
): Optimizer {
  const rule = OPTIMIZERS[name];
  const L = weights.W.length - 1;
  const keys: string[] = [];
  const shapes: Matrix[] = [];
  for (let l = 1; l <= L; l++) {
    keys.push(`dW${l}`, `db${l}`);
    shapes.push(weights.W[l]!, weights.b[l]!);
  }
  const fresh = (): Record<string, Matrix> =>
    Object.fromEntries(keys.map((key, i) => [key, zeros(shapes[i]!.rows, shapes[i]!.cols, dtype)]));
  const v = rule.moments >= 1 ? fresh() : {};
  const s = rule.moments >= 2 ? fresh() : {};
  let t = 0;
  if (saved !== undefined) {
    if (saved.optimizer !== name) {
      fail(`${op}: optimizerState is for '${saved.optimizer}' but the optimizer is '${name}'`);
    }
    if (!Number.isInteger(saved.t) || saved.t < 0)
      fail(`${op}: optimizerState.t must be a non-negative integer`);
    t = saved.t;
    const restore = (into: Record<string, Matrix>, from: Readonly<Record<string, Matrix>>, which: string) => {
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const src = from[key];
        const dst = into[key]!;
        if (
          src === undefined ||
          src.rows !== dst.rows ||
          src.cols !== dst.cols ||
          src.data.length !== dst.data.length
        ) {
          fail(`${op}: optimizerState.${which}.${key} is missing or not (${dst.rows}, ${dst.cols})`);
        }
        dst.data.set(src.data);
      }
    };
    if (rule.moments >= 1) restore(v, saved.v, 'v');
    if (rule.moments >= 2) restore(s, saved.s, 's');
  }
  // The same buffers in layer order, so the update loop does no key lookups.
  const vs = keys.map((key) => v[key]?.data ?? EMPTY_DATA);
  const ss = keys.map((key) => s[key]?.data ?? EMPTY_DATA);

  return {
    update(weights, dW, db) {
      t += 1;
      const c1 = 1 - powInt(h.beta1, t);
      const c2 = 1 - powInt(h.beta2, t);
      for (let l = 1; l <= L; l++) {
        const i = 2 * (l - 1);
        rule.step(weights.W[l]!.data, dW[l]!.data, vs[i]!, ss[i]!, h, c1, c2);
        rule.step(weights.b[l]!.data, db[l]!.data, vs[i + 1]!, ss[i + 1]!, h, c1, c2);
      }
    },
    state() {
      const copy = (r: Record<string, Matrix>) =>
        Object.fromEntries(
          Object.entries(r).map(([key, M]) => [key, { rows: M.rows, cols: M.cols, data: M.data.slice() }]),
        );
      return { optimizer: name, t, v: copy(v), s: copy(s) };
    },
  };
}
