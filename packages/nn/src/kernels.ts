/**
 * The hot kernels: matrix products. Everything heavy in forward and backward propagation goes
 * through the `Kernels` interface (kernels-interface.ts), so a faster implementation replaces
 * another without touching the math: WebAssembly SIMD (kernels-wasm.ts) where the runtime has it,
 * else blocked TypeScript loops (kernels-blocked.ts); the plain loops below are the definition
 * both are tested against.
 */
import { blockedKernels } from './kernels-blocked.ts';
import { type GeneralProduct, type Kernels, productsOf } from './kernels-interface.ts';
import { createWasmKernels, type WasmKernels } from './kernels-wasm.ts';
import type { Matrix } from './matrix.ts';

export type { Kernels };

/**
 * out = op(A)·op(B) by the definition, out(i, j) = Σ_p op(A)(i, p)·op(B)(p, j), summed in order
 * of p. A transposed operand is read in place: op(X)(i, j) is X(j, i).
 */
const definition: GeneralProduct = (A, aT, B, bT, out) => {
  const element = (X: Matrix, transposed: boolean, i: number, j: number) =>
    transposed ? X.data[j * X.cols + i]! : X.data[i * X.cols + j]!;
  const r = aT ? A.cols : A.rows;
  const k = aT ? A.rows : A.cols;
  const c = bT ? B.rows : B.cols;
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < c; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += element(A, aT, i, p) * element(B, bT, p, j);
      out.data[i * c + j] = s;
    }
  }
};

/** Reference kernels: plain loops, the definition the fast ones are tested against. */
export const referenceKernels: Kernels = productsOf(definition);

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
