/**
 * The hot kernels: matrix products. Everything heavy in forward and backward propagation goes
 * through the `Kernels` interface (kernels-interface.ts), so a faster implementation replaces
 * another without touching the math: WebAssembly SIMD (kernels-wasm.ts) where the runtime has it,
 * else blocked TypeScript loops (kernels-blocked.ts); the plain loops below are the definition
 * both are tested against.
 */
import { blockedKernels } from './kernels-blocked.ts';
import type { Kernels } from './kernels-interface.ts';
import { createWasmKernels, type WasmKernels } from './kernels-wasm.ts';

export type { Kernels };

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
