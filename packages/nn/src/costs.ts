/**
 * Cost functions J, chosen by the output activation (one table row each):
 *
 *   sigmoid → binary cross-entropy       J = −(1/m)·Σ [Y·log(AL) + (1 − Y)·log(1 − AL)]
 *   softmax → categorical cross-entropy  J = −(1/m)·Σ_j Σ_i Y[i,j]·log(AL[i,j])
 *   linear  → mean squared error         J = (1/2m)·Σ (AL − Y)²
 *
 * Each pair is the "canonical link" pair, so the output layer's gradient is the same for all
 * three: dZ[L] = AL − Y (per sample; the 1/m is applied in dW and db). That is why MSE carries the
 * ½ (as in the course's linear regression): without it dZ would be 2·(AL − Y).
 *
 * Numerics: the cross-entropies are computed from ZL, not from AL, so a confident wrong answer
 * gives a large finite cost instead of log(0) = −Infinity:
 *   BCE per element: log(1 + e^z) − y·z  =  max(z, 0) − y·z + log1p(e^(−|z|))
 *   CCE per column:  −Σ_i y_i·(z_i − logΣ_k e^(z_k)), with logΣe^z = max + log Σ e^(z_k − max).
 *
 * Shapes: ZL, AL, Y, dZ are (n[L], m).
 */
import type { OutputActivationName } from './activations.ts';
import { kernels } from './kernels.ts';
import type { Matrix } from './matrix.ts';

export type CostName = 'binary_cross_entropy' | 'categorical_cross_entropy' | 'mean_squared_error';

export interface Cost {
  readonly name: CostName;
  /** The data term of J (without L2), averaged over the m samples. */
  cost(ZL: Matrix, AL: Matrix, Y: Matrix): number;
  /** dZ[L] = AL − Y: the gradient of the per-sample loss with respect to ZL. */
  outputGradient(AL: Matrix, Y: Matrix, dZ: Matrix): void;
}

/** J = (1/m)·Σ [max(z, 0) − y·z + log1p(e^(−|z|))], the stable form of binary cross-entropy. */
export function binaryCrossEntropy(ZL: Matrix, _AL: Matrix, Y: Matrix): number {
  // The active kernels may sum it (WebAssembly SIMD: within n·2⁻⁵² of this loop's sum).
  const fast = kernels().binaryCrossEntropySum?.(ZL, Y);
  if (fast !== undefined) return fast / ZL.cols;
  const z = ZL.data;
  const y = Y.data;
  let sum = 0;
  for (let k = 0; k < z.length; k++) {
    const v = z[k]!;
    sum += Math.max(v, 0) - y[k]! * v + Math.log1p(Math.exp(-Math.abs(v)));
  }
  return sum / ZL.cols;
}

/** J = −(1/m)·Σ_j Σ_i Y[i,j]·(Z[i,j] − logΣ_k e^(Z[k,j])), the stable form of categorical cross-entropy. */
export function categoricalCrossEntropy(ZL: Matrix, _AL: Matrix, Y: Matrix): number {
  const { rows: n, cols: m } = ZL;
  const z = ZL.data;
  const y = Y.data;
  let sum = 0;
  for (let j = 0; j < m; j++) {
    let max = -Infinity;
    for (let i = 0; i < n; i++) max = Math.max(max, z[i * m + j]!);
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.exp(z[i * m + j]! - max);
    const logSumExp = max + Math.log(s);
    for (let i = 0; i < n; i++) {
      const t = y[i * m + j]!;
      if (t !== 0) sum -= t * (z[i * m + j]! - logSumExp);
    }
  }
  return sum / m;
}

/** J = (1/2m)·Σ (AL − Y)². */
export function meanSquaredError(_ZL: Matrix, AL: Matrix, Y: Matrix): number {
  const a = AL.data;
  const y = Y.data;
  let sum = 0;
  for (let k = 0; k < a.length; k++) {
    const d = a[k]! - y[k]!;
    sum += d * d;
  }
  return sum / (2 * AL.cols);
}

/** dZ[L] = AL − Y. */
export function outputGradient(AL: Matrix, Y: Matrix, dZ: Matrix): void {
  const a = AL.data;
  const y = Y.data;
  const dz = dZ.data;
  for (let k = 0; k < a.length; k++) dz[k] = a[k]! - y[k]!;
}

export const COSTS: Readonly<Record<OutputActivationName, Cost>> = {
  sigmoid: { name: 'binary_cross_entropy', cost: binaryCrossEntropy, outputGradient },
  softmax: { name: 'categorical_cross_entropy', cost: categoricalCrossEntropy, outputGradient },
  linear: { name: 'mean_squared_error', cost: meanSquaredError, outputGradient },
};

/**
 * The L2 term of the cost: (λ/2m)·Σ_l ‖W[l]‖²_F (sum of squares of every weight; biases are not
 * regularised). W is indexed by layer, l = 1..L (index 0 unused).
 */
export function l2Cost(W: readonly Matrix[], lambda: number, m: number): number {
  if (lambda === 0) return 0;
  let sum = 0;
  for (let l = 1; l < W.length; l++) {
    const w = W[l]!.data;
    for (let k = 0; k < w.length; k++) sum += w[k]! * w[k]!;
  }
  return (lambda / (2 * m)) * sum;
}
