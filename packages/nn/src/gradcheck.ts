/**
 * Gradient checking, the course's method: compare the analytic gradients of backward propagation
 * with two-sided numerical ones,
 *
 *   gradapprox_i = (J(θ + ε·e_i) − J(θ − ε·e_i)) / (2ε),      ε = 1e-7,
 *   difference   = ‖grad − gradapprox‖₂ / (‖grad‖₂ + ‖gradapprox‖₂),
 *
 * where θ is every parameter W1, b1, ..., WL, bL flattened in that order (row-major), like the
 * course's dictionary_to_vector. A correct implementation gives about 1e-7 or less; the course
 * calls anything above 2e-7 a mistake. Slow (two forward passes per parameter): for small
 * networks and a few samples, to test an implementation, not to train.
 */

import { outputActivationOf } from './architecture.ts';
import { COSTS, l2Cost } from './costs.ts';
import { forwardPropagation } from './forward.ts';
import type { Matrix } from './matrix.ts';
import type { Network } from './network.ts';
import { readL2 } from './network.ts';
import { checkNumber, fail, type MatrixInput, readMatrix, readX, readY } from './validate.ts';
import { createWorkspace } from './workspace.ts';

export interface GradientCheckOptions {
  /** ε of the two-sided difference (default 1e-7). */
  readonly epsilon?: number;
  /** L2 λ of the cost whose gradient is checked (default 0). */
  readonly l2?: number;
  /** `passed` is `difference < threshold` (default 2e-7, the course's). */
  readonly threshold?: number;
  /**
   * Check these analytic gradients { dW1, db1, ... } instead of the network's own (e.g. to show
   * the check catches a wrong one).
   */
  readonly gradients?: Readonly<Record<string, MatrixInput>>;
}

export interface GradientCheckResult {
  /** ‖grad − gradapprox‖ / (‖grad‖ + ‖gradapprox‖) over all parameters. */
  readonly difference: number;
  readonly passed: boolean;
  /** The same relative difference per parameter: { W1: ..., b1: ..., ... }. */
  readonly byParameter: Record<string, number>;
  /** grad, flattened W1, b1, ..., WL, bL (row-major). */
  readonly analytic: Float64Array;
  /** gradapprox, in the same order. */
  readonly numerical: Float64Array;
}

/** ‖a − b‖₂ / (‖a‖₂ + ‖b‖₂); 0 when both are zero. */
export function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) fail(`relativeDifference: a has ${a.length} entries but b has ${b.length}`);
  let diff = 0;
  let na = 0;
  let nb = 0;
  for (let k = 0; k < a.length; k++) {
    const d = a[k]! - b[k]!;
    diff += d * d;
    na += a[k]! * a[k]!;
    nb += b[k]! * b[k]!;
  }
  const denominator = Math.sqrt(na) + Math.sqrt(nb);
  return denominator === 0 ? 0 : Math.sqrt(diff) / denominator;
}

/** Compare `net`'s backward propagation on (X, Y) with numerical gradients; `net` is left unchanged. */
export function gradientCheck(
  net: Network,
  X: MatrixInput,
  Y: MatrixInput,
  options: GradientCheckOptions = {},
): GradientCheckResult {
  const op = 'gradientCheck';
  if (net.dtype !== 'float64')
    fail(`${op}: needs a float64 network (ε = 1e-7 is below float32's resolution)`);
  const epsilon = checkNumber(options.epsilon ?? 1e-7, 'epsilon', op, { min: 0, minExclusive: true });
  const threshold = checkNumber(options.threshold ?? 2e-7, 'threshold', op, { min: 0 });
  const lambda = readL2(options.l2, op);
  const { layers } = net;
  const L = layers.length;
  const Xm = readX(X, net.inputSize, op, 'float64');
  const Ym = readY(Y, layers[L - 1]!, Xm.cols, op, 'float64');
  const m = Xm.cols;

  const names: string[] = [];
  const thetas: Matrix[] = [];
  for (let l = 1; l <= L; l++) {
    names.push(`W${l}`, `b${l}`);
    thetas.push(net.weights.W[l]!, net.weights.b[l]!);
  }
  const grads = options.gradients ?? net.gradients(Xm, Ym, { l2: lambda });
  const analyticParts = names.map((name, k) => {
    const key = `d${name}`;
    const input = grads[key];
    if (input === undefined) fail(`${op}: gradients.${key} is missing`);
    const G = readMatrix(input, op, `gradients.${key}`, 'float64');
    if (G.rows !== thetas[k]!.rows || G.cols !== thetas[k]!.cols) {
      fail(
        `${op}: gradients.${key} is (${G.rows}, ${G.cols}) but ${name} is (${thetas[k]!.rows}, ${thetas[k]!.cols})`,
      );
    }
    return G.data;
  });

  const ws = createWorkspace(net.inputSize, layers, m, 'float64', false);
  const cost = COSTS[outputActivationOf(layers)].cost;
  const J = () => {
    forwardPropagation(Xm, net.weights, layers, ws);
    return cost(ws.Z[L]!, ws.A[L]!, Ym) + l2Cost(net.weights.W, lambda, m);
  };
  const numericalParts = thetas.map((theta) => {
    const t = theta.data;
    const approx = new Float64Array(t.length);
    for (let i = 0; i < t.length; i++) {
      const original = t[i]!;
      t[i] = original + epsilon;
      const plus = J();
      t[i] = original - epsilon;
      const minus = J();
      t[i] = original; // restore exactly
      approx[i] = (plus - minus) / (2 * epsilon);
    }
    return approx;
  });

  const concat = (parts: ArrayLike<number>[]) => {
    const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const p of parts) {
      out.set(p, offset);
      offset += p.length;
    }
    return out;
  };
  const analytic = concat(analyticParts);
  const numerical = concat(numericalParts);
  const difference = relativeDifference(analytic, numerical);
  const byParameter: Record<string, number> = {};
  names.forEach((name, k) => {
    byParameter[name] = relativeDifference(analyticParts[k]!, numericalParts[k]!);
  });
  return { difference, passed: difference < threshold, byParameter, analytic, numerical };
}
