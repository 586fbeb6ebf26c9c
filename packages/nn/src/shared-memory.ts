/**
 * Matrices in shared memory (a SharedArrayBuffer each), so that helper threads (threads.ts) read
 * and write them in place: a training run with threads allocates its data, its buffers and a
 * copy of the network's parameters here. Typed arrays over a SharedArrayBuffer behave as any
 * other; browsers give SharedArrayBuffer to cross-origin isolated pages only.
 */
import type { DType, Matrix } from './matrix.ts';
import { dtypeOf, zeros } from './matrix.ts';

/** How a run allocates its matrices: `zeros` (private) or `sharedZeros`. */
export type Allocate = (rows: number, cols: number, dtype: DType) => Matrix;

export const privateZeros: Allocate = zeros;

/** A zero matrix whose data is a SharedArrayBuffer of its own. */
export const sharedZeros: Allocate = (rows, cols, dtype) => {
  const n = rows * cols;
  const data =
    dtype === 'float64'
      ? new Float64Array(new SharedArrayBuffer(8 * n))
      : new Float32Array(new SharedArrayBuffer(4 * n));
  return { rows, cols, data };
};

/** A copy of M in shared memory. */
export function sharedCopy(M: Matrix): Matrix {
  const copy = sharedZeros(M.rows, M.cols, dtypeOf(M));
  copy.data.set(M.data);
  return copy;
}

/** Where a training run keeps its matrices: `zeros` allocates, `place` puts an input there. */
export interface Memory {
  readonly zeros: Allocate;
  /** M itself when it is in this memory already, else a copy in it. */
  place(M: Matrix): Matrix;
}

/** One thread: ordinary typed arrays, inputs used as they are. */
export const privateMemory: Memory = { zeros: privateZeros, place: (M) => M };

/** Threads: every matrix a product reads or writes in shared memory. */
export const sharedMemory: Memory = {
  zeros: sharedZeros,
  place: (M) => (sharedBufferOf(M) === null ? sharedCopy(M) : M),
};

/** The SharedArrayBuffer under M's data, or null when it is private memory. */
export function sharedBufferOf(M: Matrix): SharedArrayBuffer | null {
  const { buffer } = M.data;
  return typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer ? buffer : null;
}
