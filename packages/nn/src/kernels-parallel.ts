/**
 * Kernels that split each large product by rows of its output across the threads of a
 * ThreadPool (threads.ts): the calling thread computes the first block of rows, each helper one
 * of the others, on the same kernels (product-rows.ts). Every output element is summed by one
 * thread in the kernels' own order, so the result does not depend on the number of threads (bit
 * for bit with the WebAssembly and reference kernels) and a run is bit-identical to the next.
 *
 * A product runs on the calling thread alone when it is small (waking a helper costs more than it
 * saves), has one row, mixes dtypes, or has an operand outside shared memory.
 */
import { blockedKernels, referenceKernels, wasmKernels } from './kernels.ts';
import type { Kernels } from './kernels-interface.ts';
import { dtypeOf, type Matrix } from './matrix.ts';
import { MATMUL, MATMUL_TRANS_A, MATMUL_TRANS_B, type ProductOp, productRows } from './product-rows.ts';
import { sharedBufferOf } from './shared-memory.ts';
import type { KernelName, ThreadPool } from './threads.ts';

/**
 * Products of at most `minProduct` multiply-adds stay on the calling thread: waking a helper and
 * waiting for it costs tens of microseconds. Tests lower it to split every product.
 */
export const parallelSettings: { minProduct: number; minWork: number; split: 'samples' | 'rows' } = {
  minProduct: 1 << 18,
  /**
   * A run whose forward pass over one batch is at most this many multiply-adds (batch × Σ
   * n[l]·n[l−1]) trains on the calling thread alone: waking helpers every update would cost more
   * than it saves (the planar network: 400 × 12). Tests lower it to split tiny networks.
   */
  minWork: 1 << 19,
  /**
   * How train shares an update: 'samples' (train-parallel.ts, the default: measured faster, see
   * BENCHMARKS.md) or 'rows' (these kernels; bench-threads.ts compares the two).
   */
  split: 'samples',
};

/** Task fields (Int32 offsets in a slot's task area, threads.ts). */
export const T_OP = 0;
export const T_R0 = 1;
export const T_R1 = 2;
export const T_F32 = 3;
/** A, B and out each take 4 fields from here: buffer index, element offset, rows, cols. */
export const T_OPERANDS = 4;

/** The name a helper thread knows `k` by, or null for kernels it cannot run (a caller's own). */
export function kernelName(k: Kernels): KernelName | null {
  if (k === wasmKernels) return 'wasm';
  if (k === blockedKernels) return 'blocked';
  if (k === referenceKernels) return 'reference';
  return null;
}

/** The kernels a helper runs for a name (the WebAssembly ones fall back as `defaultKernels` does). */
export function kernelsNamed(name: KernelName): Kernels {
  if (name === 'wasm') return wasmKernels ?? blockedKernels;
  return name === 'blocked' ? blockedKernels : referenceKernels;
}

/** Row boundaries of `parts` blocks of `rows`, at multiples of 4 (the micro-kernels' tile height). */
function rowBlocks(rows: number, parts: number): number[] {
  const bounds = [0];
  for (let p = 1; p < parts; p++) bounds.push(Math.min(rows, Math.round((p * rows) / parts / 4) * 4));
  bounds.push(rows);
  return bounds;
}

export function parallelKernels(pool: ThreadPool, inner: Kernels): Kernels {
  const threads = pool.helpers + 1;

  /** Run the product split by rows; false when it should run on this thread alone. */
  const split = (op: ProductOp, A: Matrix, B: Matrix, out: Matrix, depth: number): boolean => {
    const { rows, cols } = out;
    if (rows < 2 || rows * cols * depth <= parallelSettings.minProduct) return false;
    const f32 = dtypeOf(out) === 'float32';
    if (dtypeOf(A) !== dtypeOf(out) || dtypeOf(B) !== dtypeOf(out)) return false;
    const operands = [A, B, out];
    const buffers = operands.map(sharedBufferOf);
    if (buffers.some((b) => b === null)) return false;
    const indices = buffers.map((b) => pool.bufferIndex(b!));
    const bounds = rowBlocks(rows, Math.min(threads, rows));
    for (let p = 1; p + 1 < bounds.length; p++) {
      if (bounds[p]! >= bounds[p + 1]!) continue;
      const task = pool.task(p);
      task[T_R0] = bounds[p]!;
      task[T_R1] = bounds[p + 1]!;
      task[T_F32] = f32 ? 1 : 0;
      operands.forEach((M, i) => {
        const at = T_OPERANDS + 4 * i;
        task[at] = indices[i]!;
        task[at + 1] = M.data.byteOffset / M.data.BYTES_PER_ELEMENT;
        task[at + 2] = M.rows;
        task[at + 3] = M.cols;
      });
      Atomics.store(task, T_OP, op);
    }
    pool.run(() => {
      if (bounds[1]! > 0) productRows(inner, op, A, B, out, 0, bounds[1]!);
    });
    return true;
  };

  // The element-wise methods (relu, tanh, ...) are the inner kernels' own, on this thread.
  return {
    ...inner,
    matmul(A, B, out) {
      if (!split(MATMUL, A, B, out, A.cols)) inner.matmul(A, B, out);
    },
    matmulTransB(A, B, out) {
      if (!split(MATMUL_TRANS_B, A, B, out, A.cols)) inner.matmulTransB(A, B, out);
    },
    matmulTransA(A, B, out) {
      if (!split(MATMUL_TRANS_A, A, B, out, A.rows)) inner.matmulTransA(A, B, out);
    },
  };
}

/** The operand `i` (0 A, 1 B, 2 out) of a task, as a view of the session's buffers. */
export function taskOperand(task: Int32Array, i: number, buffers: readonly SharedArrayBuffer[]): Matrix {
  const at = T_OPERANDS + 4 * i;
  const buffer = buffers[task[at]!]!;
  const offset = task[at + 1]!;
  const rows = task[at + 2]!;
  const cols = task[at + 3]!;
  const data =
    task[T_F32] === 1
      ? new Float32Array(buffer, 4 * offset, rows * cols)
      : new Float64Array(buffer, 8 * offset, rows * cols);
  return { rows, cols, data };
}
