/**
 * Forward propagation, as in the course:
 *
 *   Z[l] = W[l]·A[l-1] + b[l]     (linear step; b is broadcast over the m columns)
 *   A[l] = g[l](Z[l])             (activation step)
 *
 * for l = 1..L with A[0] = X, caching Z[l] and A[l] for the backward pass. All matrix products go
 * through `kernels()`, so a faster implementation replaces them without touching this file.
 */
import { ACTIVATIONS } from './activations.ts';
import type { Layer } from './architecture.ts';
import { kernels } from './kernels.ts';
import type { Matrix } from './matrix.ts';
import type { Weights, Workspace } from './workspace.ts';

/** Z = W·APrev + b. W: (n[l], n[l-1]), b: (n[l], 1), APrev: (n[l-1], m), Z: (n[l], m). */
export function linearForward(W: Matrix, b: Matrix, APrev: Matrix, Z: Matrix): void {
  kernels().matmul(W, APrev, Z);
  const { rows: n, cols: m } = Z;
  const z = Z.data;
  const bd = b.data;
  for (let i = 0; i < n; i++) {
    const bi = bd[i]!;
    const row = i * m;
    for (let j = 0; j < m; j++) z[row + j] = z[row + j]! + bi;
  }
}

/** Z = W·APrev + b, then A = g(Z). Shapes as in `linearForward`; A: (n[l], m). */
export function linearActivationForward(
  W: Matrix,
  b: Matrix,
  APrev: Matrix,
  layer: Layer,
  Z: Matrix,
  A: Matrix,
): void {
  linearForward(W, b, APrev, Z);
  ACTIVATIONS[layer.activation].forward(Z, A, layer.slope);
}

/**
 * AL = forward pass of X through layers 1..L. X: (n[0], m), AL: (n[L], m). Fills the workspace's
 * caches Z[l], A[l] (A[0] = X) and returns ws.A[L].
 */
export function forwardPropagation(
  X: Matrix,
  weights: Weights,
  layers: readonly Layer[],
  ws: Workspace,
): Matrix {
  const { W, b } = weights;
  const { Z, A } = ws;
  A[0] = X;
  for (let l = 1; l <= layers.length; l++) {
    linearActivationForward(W[l]!, b[l]!, A[l - 1]!, layers[l - 1]!, Z[l]!, A[l]!);
  }
  return A[layers.length]!;
}
