/**
 * Rows r0..r1 of one matrix product, with the kernels' own products on views of the operands:
 * the unit of work threads share (kernels-parallel.ts). Every output element is computed by the
 * same kernel code over the same operand values as in the whole product, so a product split by
 * rows gives each element the bits the unsplit product gives it (for kernels whose elements do
 * not depend on the tile they fall in: the reference and WebAssembly kernels).
 */
import type { Kernels } from './kernels-interface.ts';
import type { FloatArray, Matrix } from './matrix.ts';

export const MATMUL = 1;
export const MATMUL_TRANS_B = 2;
export const MATMUL_TRANS_A = 3;
export type ProductOp = typeof MATMUL | typeof MATMUL_TRANS_B | typeof MATMUL_TRANS_A;

/** Rows r0..r1 of a row-major matrix, without a copy. */
function rowsOf(M: Matrix, r0: number, r1: number): Matrix {
  return { rows: r1 - r0, cols: M.cols, data: M.data.subarray(r0 * M.cols, r1 * M.cols) };
}

/** Columns c0..c1 of M, copied (row-major (M.rows, c1 − c0)). */
function columnsOf(M: Matrix, c0: number, c1: number): Matrix {
  const { rows, cols, data } = M;
  const width = c1 - c0;
  const out: FloatArray =
    data instanceof Float32Array ? new Float32Array(rows * width) : new Float64Array(rows * width);
  for (let p = 0; p < rows; p++) out.set(data.subarray(p * cols + c0, p * cols + c1), p * width);
  return { rows, cols: width, data: out };
}

/**
 * out[r0..r1, :] of out = A·B (MATMUL), A·Bᵀ (MATMUL_TRANS_B) or Aᵀ·B (MATMUL_TRANS_A). For A·B
 * and A·Bᵀ these rows come from A's rows r0..r1; for Aᵀ·B from A's columns r0..r1 (copied: A is
 * the weights W[l], small beside the activations).
 */
export function productRows(
  k: Kernels,
  op: ProductOp,
  A: Matrix,
  B: Matrix,
  out: Matrix,
  r0: number,
  r1: number,
): void {
  const part = rowsOf(out, r0, r1);
  if (op === MATMUL) k.matmul(rowsOf(A, r0, r1), B, part);
  else if (op === MATMUL_TRANS_B) k.matmulTransB(rowsOf(A, r0, r1), B, part);
  else k.matmulTransA(columnsOf(A, r0, r1), B, part);
}
