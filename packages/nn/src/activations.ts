/**
 * Activation functions g and their derivatives, one table row each:
 * `ACTIVATIONS[name] = { forward, backward }`. The training loop looks a layer's activation up
 * here; adding an activation is adding a row.
 *
 * Shapes: Z, A, dA, dZ are all (n[l], m), one column per sample, flat row-major.
 * `forward` writes A = g(Z); `backward` writes dZ = dA ⊙ g'(Z) from the upstream gradient dA and
 * the forward cache (Z and A). `slope` is leaky_relu's slope for z < 0; the others ignore it.
 */
import { kernels } from './kernels.ts';
import type { Matrix } from './matrix.ts';

export type HiddenActivationName = 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu';
export type OutputActivationName = 'sigmoid' | 'softmax' | 'linear';
export type ActivationName = HiddenActivationName | OutputActivationName;

/** Activations a hidden layer may use. */
export const HIDDEN_ACTIVATIONS: readonly HiddenActivationName[] = ['sigmoid', 'tanh', 'relu', 'leaky_relu'];
/** Activations the output layer may use; each picks its cost (see costs.ts). */
export const OUTPUT_ACTIVATIONS: readonly OutputActivationName[] = ['sigmoid', 'softmax', 'linear'];
/** leaky_relu's slope for z < 0 when a layer does not give one. */
export const DEFAULT_LEAKY_SLOPE = 0.01;

export interface Activation {
  /** A = g(Z). */
  forward(Z: Matrix, A: Matrix, slope: number): void;
  /** dZ = dA ⊙ g'(Z), using the forward cache (Z, A). */
  backward(dA: Matrix, Z: Matrix, A: Matrix, dZ: Matrix, slope: number): void;
}

/** A = σ(Z) = 1 / (1 + e^(−Z)). For very negative z, e^(−z) = Infinity and A = 0: no NaN. */
export function sigmoidForward(Z: Matrix, A: Matrix): void {
  if (kernels().sigmoidForward?.(Z, A)) return; // WebAssembly SIMD: within 3 ulp of this loop
  const z = Z.data;
  const a = A.data;
  for (let k = 0; k < z.length; k++) a[k] = 1 / (1 + Math.exp(-z[k]!));
}

/** dZ = dA ⊙ σ'(Z) = dA ⊙ A ⊙ (1 − A). */
export function sigmoidBackward(dA: Matrix, _Z: Matrix, A: Matrix, dZ: Matrix): void {
  const da = dA.data;
  const a = A.data;
  const dz = dZ.data;
  for (let k = 0; k < a.length; k++) {
    const s = a[k]!;
    dz[k] = da[k]! * s * (1 - s);
  }
}

/** A = tanh(Z). The active kernels may do it (WebAssembly SIMD, within 3 ulp of Math.tanh). */
export function tanhForward(Z: Matrix, A: Matrix): void {
  if (kernels().tanhForward?.(Z, A)) return;
  const z = Z.data;
  const a = A.data;
  for (let k = 0; k < z.length; k++) a[k] = Math.tanh(z[k]!);
}

/** dZ = dA ⊙ (1 − A²). */
export function tanhBackward(dA: Matrix, _Z: Matrix, A: Matrix, dZ: Matrix): void {
  if (kernels().tanhBackward?.(dA, A, dZ)) return;
  const da = dA.data;
  const a = A.data;
  const dz = dZ.data;
  for (let k = 0; k < a.length; k++) {
    const t = a[k]!;
    dz[k] = da[k]! * (1 - t * t);
  }
}

/** A = max(0, Z). The active kernels may do it (WebAssembly SIMD, the same results). */
export function reluForward(Z: Matrix, A: Matrix): void {
  if (kernels().reluForward?.(Z, A)) return;
  const z = Z.data;
  const a = A.data;
  for (let k = 0; k < z.length; k++) {
    a[k] = Math.max(z[k]!, 0); // Math.max keeps NaN visible (a ternary would turn it into 0)
  }
}

/** dZ = dA where Z > 0, else 0 (relu'(0) = 0, as in the course: `dZ[Z <= 0] = 0`). */
export function reluBackward(dA: Matrix, Z: Matrix, _A: Matrix, dZ: Matrix): void {
  if (kernels().reluBackward?.(dA, Z, dZ)) return;
  const da = dA.data;
  const z = Z.data;
  const dz = dZ.data;
  for (let k = 0; k < z.length; k++) dz[k] = z[k]! > 0 ? da[k]! : 0;
}

/** A = Z where Z > 0, else slope·Z. */
export function leakyReluForward(Z: Matrix, A: Matrix, slope: number): void {
  const z = Z.data;
  const a = A.data;
  for (let k = 0; k < z.length; k++) {
    const v = z[k]!;
    a[k] = v > 0 ? v : slope * v;
  }
}

/** dZ = dA where Z > 0, else slope·dA (so leaky_relu'(0) = slope, the same convention as relu'(0) = 0). */
export function leakyReluBackward(dA: Matrix, Z: Matrix, _A: Matrix, dZ: Matrix, slope: number): void {
  const da = dA.data;
  const z = Z.data;
  const dz = dZ.data;
  for (let k = 0; k < z.length; k++) dz[k] = z[k]! > 0 ? da[k]! : slope * da[k]!;
}

/**
 * A[:, j] = softmax(Z[:, j]) = e^(Z[:, j] − max) / Σ_i e^(Z[i, j] − max), column by column.
 * Subtracting the column's max changes nothing mathematically and keeps e^(·) ≤ 1: no overflow.
 */
export function softmaxForward(Z: Matrix, A: Matrix): void {
  const { rows: n, cols: m } = Z;
  const z = Z.data;
  const a = A.data;
  for (let j = 0; j < m; j++) {
    let max = -Infinity;
    for (let i = 0; i < n; i++) max = Math.max(max, z[i * m + j]!);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const e = Math.exp(z[i * m + j]! - max);
      a[i * m + j] = e;
      sum += e;
    }
    for (let i = 0; i < n; i++) a[i * m + j] = a[i * m + j]! / sum;
  }
}

/**
 * dZ[:, j] = J·dA[:, j] with the softmax Jacobian J = diag(a) − a·aᵀ, i.e.
 * dZ[i, j] = A[i, j]·(dA[i, j] − Σ_k dA[k, j]·A[k, j]). (Training uses the fused dZ = A − Y of
 * softmax with cross-entropy instead; this is the general rule.)
 */
export function softmaxBackward(dA: Matrix, _Z: Matrix, A: Matrix, dZ: Matrix): void {
  const { rows: n, cols: m } = A;
  const da = dA.data;
  const a = A.data;
  const dz = dZ.data;
  for (let j = 0; j < m; j++) {
    let dot = 0;
    for (let i = 0; i < n; i++) dot += da[i * m + j]! * a[i * m + j]!;
    for (let i = 0; i < n; i++) dz[i * m + j] = a[i * m + j]! * (da[i * m + j]! - dot);
  }
}

/** A = Z (identity: regression outputs). */
export function identityForward(Z: Matrix, A: Matrix): void {
  A.data.set(Z.data);
}

/** dZ = dA. */
export function identityBackward(dA: Matrix, _Z: Matrix, _A: Matrix, dZ: Matrix): void {
  dZ.data.set(dA.data);
}

export const ACTIVATIONS: Readonly<Record<ActivationName, Activation>> = {
  sigmoid: { forward: sigmoidForward, backward: sigmoidBackward },
  tanh: { forward: tanhForward, backward: tanhBackward },
  relu: { forward: reluForward, backward: reluBackward },
  leaky_relu: { forward: leakyReluForward, backward: leakyReluBackward },
  softmax: { forward: softmaxForward, backward: softmaxBackward },
  linear: { forward: identityForward, backward: identityBackward },
};
