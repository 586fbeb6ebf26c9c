/**
 * The hot kernels: matrix products. Everything heavy in forward and backward propagation goes
 * through this interface, so a faster implementation replaces another without touching the math:
 * WebAssembly SIMD (kernels-wasm.ts) where the runtime has it, else blocked TypeScript loops
 * (kernels-blocked.ts); the plain loops below are the definition both are tested against.
 *
 * All products write into a caller-provided `out` (no allocation in the training loop) and
 * overwrite it. Shapes are trusted: callers validate at the public edge.
 */
import { blockedKernels } from './kernels-blocked.ts';
import { createWasmKernels, type WasmKernels } from './kernels-wasm.ts';
import type { Matrix } from './matrix.ts';

export interface Kernels {
  /** out = A·B, A: (r, k), B: (k, c), out: (r, c). */
  matmul(A: Matrix, B: Matrix, out: Matrix): void;
  /** out = A·Bᵀ, A: (r, k), B: (c, k), out: (r, c). Used for dW = dZ·APrevᵀ. */
  matmulTransB(A: Matrix, B: Matrix, out: Matrix): void;
  /** out = Aᵀ·B, A: (k, r), B: (k, c), out: (r, c). Used for dAPrev = Wᵀ·dZ. */
  matmulTransA(A: Matrix, B: Matrix, out: Matrix): void;
  /**
   * Optional element-wise relu: A = max(Z, 0), with the results of activations.ts's loop. Returns
   * false when it declines (small or mixed-dtype arrays); the caller then runs its own loop.
   */
  reluForward?(Z: Matrix, A: Matrix): boolean;
  /** Optional: dZ = dA where Z > 0, else +0, as activations.ts's loop; false when it declines. */
  reluBackward?(dA: Matrix, Z: Matrix, dZ: Matrix): boolean;
}

/** Reference kernels: plain loops, the definition the fast ones are tested against. */
export const referenceKernels: Kernels = {
  matmul(A, B, out) {
    const { rows: r, cols: k } = A;
    const c = B.cols;
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < c; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += A.data[i * k + p]! * B.data[p * c + j]!;
        out.data[i * c + j] = s;
      }
    }
  },
  matmulTransB(A, B, out) {
    const { rows: r, cols: k } = A;
    const c = B.rows;
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < c; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += A.data[i * k + p]! * B.data[j * k + p]!;
        out.data[i * c + j] = s;
      }
    }
  },
  matmulTransA(A, B, out) {
    const { rows: k, cols: r } = A;
    const c = B.cols;
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < c; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += A.data[p * r + i]! * B.data[p * c + j]!;
        out.data[i * c + j] = s;
      }
    }
  },
};

/** Packed, cache- and register-blocked TypeScript loops (kernels-blocked.ts): the fallback. */
export { blockedKernels };

/**
 * WebAssembly SIMD kernels (kernels-wasm.ts), or null where this runtime lacks WebAssembly SIMD
 * or refuses to compile the module; then the blocked kernels are the default.
 */
export const wasmKernels: WasmKernels | null = createWasmKernels();

/** What `kernels()` returns until `setKernels` is called: the fastest available. */
export const defaultKernels: Kernels = wasmKernels ?? blockedKernels;

let active: Kernels = defaultKernels;

/** The kernels the network uses. */
export function kernels(): Kernels {
  return active;
}

/** Swap in another implementation (a faster one, or the reference for testing). */
export function setKernels(k: Kernels): void {
  active = k;
}
