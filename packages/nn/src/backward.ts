/**
 * Backward propagation, as in the course. With the forward caches Z[l], A[l-1]:
 *
 *   dZ[L]    = AL − Y                              (output activation and its cost, fused)
 *   dW[l]    = (1/m)·dZ[l]·A[l-1]ᵀ + (λ/m)·W[l]     (the λ term only with L2 regularisation)
 *   db[l]    = (1/m)·Σ_j dZ[l][:, j]
 *   dA[l-1]  = W[l]ᵀ·dZ[l]
 *   dZ[l-1]  = dA[l-1] ⊙ g[l-1]'(Z[l-1])
 *
 * for l = L..1. dA[0] (the gradient with respect to X) is not needed and not computed. All matrix
 * products go through `kernels()`.
 */
import { ACTIVATIONS } from './activations.ts';
import { type Layer, outputActivationOf } from './architecture.ts';
import { COSTS } from './costs.ts';
import { kernels } from './kernels.ts';
import type { Matrix } from './matrix.ts';
import type { Weights, Workspace } from './workspace.ts';

/**
 * dW = (1/m)·dZ·APrevᵀ + (λ/m)·W, db = (1/m)·Σ_j dZ[:, j], and, unless dAPrev is null,
 * dAPrev = Wᵀ·dZ.
 * dZ: (n[l], m), APrev: (n[l-1], m), W and dW: (n[l], n[l-1]), db: (n[l], 1), dAPrev: (n[l-1], m).
 */
export function linearBackward(
  dZ: Matrix,
  APrev: Matrix,
  W: Matrix,
  dW: Matrix,
  db: Matrix,
  dAPrev: Matrix | null,
  lambda: number,
): void {
  const k = kernels();
  const { rows: n, cols: m } = dZ;
  k.matmulTransB(dZ, APrev, dW);
  const dw = dW.data;
  const w = W.data;
  const scale = 1 / m;
  if (lambda === 0) {
    for (let i = 0; i < dw.length; i++) dw[i] = dw[i]! * scale;
  } else {
    const decay = lambda / m;
    for (let i = 0; i < dw.length; i++) dw[i] = dw[i]! * scale + decay * w[i]!;
  }
  const dz = dZ.data;
  const dbd = db.data;
  for (let i = 0; i < n; i++) {
    let s = 0;
    const row = i * m;
    for (let j = 0; j < m; j++) s += dz[row + j]!;
    dbd[i] = s * scale;
  }
  if (dAPrev !== null) k.matmulTransA(W, dZ, dAPrev);
}

/** dZ = dA ⊙ g'(Z) for the layer's activation, from the forward cache (Z, A). All (n[l], m). */
export function activationBackward(layer: Layer, dA: Matrix, Z: Matrix, A: Matrix, dZ: Matrix): void {
  ACTIVATIONS[layer.activation].backward(dA, Z, A, dZ, layer.slope);
}

/**
 * Gradients dW[l], db[l] for l = 1..L into the workspace, after `forwardPropagation` filled its
 * caches. Y: (n[L], m); λ = 0 for no regularisation.
 */
export function backwardPropagation(
  Y: Matrix,
  weights: Weights,
  layers: readonly Layer[],
  ws: Workspace,
  lambda: number,
): void {
  const L = layers.length;
  const { W } = weights;
  const { Z, A, dZ, dA, dW, db } = ws;
  COSTS[outputActivationOf(layers)].outputGradient(A[L]!, Y, dZ[L]!);
  for (let l = L; l >= 1; l--) {
    linearBackward(dZ[l]!, A[l - 1]!, W[l]!, dW[l]!, db[l]!, l > 1 ? dA[l - 1]! : null, lambda);
    if (l > 1) activationBackward(layers[l - 2]!, dA[l - 1]!, Z[l - 1]!, A[l - 1]!, dZ[l - 1]!);
  }
}
