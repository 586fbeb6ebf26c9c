/**
 * What a kernel implementation provides. In its own file so that the implementations
 * (kernels-blocked.ts, kernels-wasm.ts) and the module that chooses between them (kernels.ts)
 * import it without importing each other in a circle.
 *
 * All products write into a caller-provided `out` (no allocation in the training loop) and
 * overwrite it. Shapes are trusted: callers validate at the public edge.
 */
import type { FloatArray, Matrix } from './matrix.ts';

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
  /**
   * Optional element-wise tanh: A = tanh(Z) within 3 ulp of `Math.tanh` (not always its bits: the
   * WebAssembly kernels compute their own tanh). false when it declines; the caller then loops.
   */
  tanhForward?(Z: Matrix, A: Matrix): boolean;
  /** Optional: dZ = dA ⊙ (1 − A²), the loop's bits; false when it declines. */
  tanhBackward?(dA: Matrix, A: Matrix, dZ: Matrix): boolean;
  /** Optional: A = σ(Z) within 3 ulp of the loop's 1 / (1 + Math.exp(−z)); false when it declines. */
  sigmoidForward?(Z: Matrix, A: Matrix): boolean;
  /**
   * Optional: Σ_k max(z, 0) − y·z + log1p(e^(−|z|)) over all elements of Z and Y (the binary
   * cross-entropy before its 1/m), within n·2⁻⁵² relative of costs.ts's loop (its positive terms are
   * summed in another order); undefined when it declines.
   */
  binaryCrossEntropySum?(Z: Matrix, Y: Matrix): number | undefined;
}

/** The interface's three products, which every implementation provides. */
export type Products = Pick<Kernels, 'matmul' | 'matmulTransB' | 'matmulTransA'>;

/**
 * out = op(A)·op(B), where op(X) is X, or Xᵀ read in place when its flag is set: the one product
 * an implementation writes, of which the interface's three are the cases (`productsOf`).
 */
export type GeneralProduct = (A: Matrix, aT: boolean, B: Matrix, bT: boolean, out: Matrix) => void;

/** matmul, matmulTransB and matmulTransA as the cases of one general product. */
export function productsOf(product: GeneralProduct): Products {
  return {
    matmul: (A, B, out) => product(A, false, B, false, out),
    matmulTransB: (A, B, out) => product(A, false, B, true, out),
    matmulTransA: (A, B, out) => product(A, true, B, false, out),
  };
}

/**
 * A general product on the operands' arrays: out (r×c, row-major) = op(A)·op(B) with inner
 * dimension k, op(A)(i, p) = A[i·lda + p] or, when aT, A[p·lda + i]; op(B)(p, j) = B[p·ldb + j]
 * or, when bT, B[j·ldb + p]. What the fast kernels' blocking loops take.
 */
export type StridedProduct<Result> = (
  r: number,
  c: number,
  k: number,
  A: FloatArray,
  lda: number,
  aT: boolean,
  B: FloatArray,
  ldb: number,
  bT: boolean,
  out: FloatArray,
) => Result;

/** Run a general product as a strided one: sizes and leading dimensions from the matrices. */
export function stridedCall<Result>(
  product: StridedProduct<Result>,
  A: Matrix,
  aT: boolean,
  B: Matrix,
  bT: boolean,
  out: Matrix,
): Result {
  const r = aT ? A.cols : A.rows;
  const k = aT ? A.rows : A.cols;
  const c = bT ? B.rows : B.cols;
  return product(r, c, k, A.data, A.cols, aT, B.data, B.cols, bT, out.data);
}
