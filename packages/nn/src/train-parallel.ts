/**
 * Data parallelism over samples: each update's batch is cut into one block of columns per thread
 * (the calling thread takes the first), every thread runs the forward and backward passes over
 * its block on the shared parameters, and the calling thread adds the blocks' gradients and costs
 * in thread order:
 *
 *   J     = Σ_t (m_t/m)·J_t
 *   dW[l] = Σ_t (m_t/m)·dW_t[l] + (λ/m)·W[l]      db[l] = Σ_t (m_t/m)·db_t[l]
 *
 * where J_t, dW_t, db_t are the block's own means (over its m_t samples, without λ). The order of
 * the sum is fixed, so a run is bit-identical to the next with the same thread count; against one
 * thread the sums are grouped differently (within a few ulp per update).
 */
import type { Layer } from './architecture.ts';
import { outputActivationOf } from './architecture.ts';
import { backwardPropagation } from './backward.ts';
import { COSTS } from './costs.ts';
import { forwardPropagation } from './forward.ts';
import { T_OP } from './kernels-parallel.ts';
import type { DType, Matrix } from './matrix.ts';
import { sharedBufferOf, sharedZeros } from './shared-memory.ts';
import type { ThreadPool } from './threads.ts';
import type { Weights, Workspace } from './workspace.ts';
import { createWorkspace } from './workspace.ts';

/** A task: a pass over the block in buffers X, Y (indices) of m_t samples. */
export const PASS = 4;
export const T_X = 1;
export const T_Y = 2;
export const T_COLUMNS = 3;

/** Columns c0..c1 of M into out: (M.rows, c1 − c0). */
function copyColumns(M: Matrix, c0: number, c1: number, out: Matrix): void {
  const width = c1 - c0;
  for (let i = 0; i < M.rows; i++) out.data.set(M.data.subarray(i * M.cols + c0, i * M.cols + c1), i * width);
}

export interface ParallelPass {
  /**
   * The batch's cost J, and its gradients into ws.dW, ws.db, from passes over blocks of its
   * samples on every thread. `sameBatch`: Xb and Yb hold what they held the last time (full
   * batch), so the blocks need no new copy.
   */
  run(Xb: Matrix, Yb: Matrix, ws: Workspace, lambda: number, sameBatch: boolean): number;
}

export function createParallelPass(
  pool: ThreadPool,
  inputSize: number,
  layers: readonly Layer[],
  weights: Weights,
  dtype: DType,
): ParallelPass {
  const L = layers.length;
  const threads = pool.helpers + 1;
  const cost = COSTS[outputActivationOf(layers)].cost;
  const index = (M: Matrix) => pool.bufferIndex(sharedBufferOf(M)!);
  // Each helper's outputs: its block's dW, db and cost, in shared memory.
  const outputs = Array.from({ length: pool.helpers }, () => ({
    dW: weights.W.slice(1).map((W) => sharedZeros(W.rows, W.cols, dtype)),
    db: weights.b.slice(1).map((b) => sharedZeros(b.rows, 1, dtype)),
    cost: sharedZeros(1, 1, 'float64'),
  }));
  pool.setPass({
    inputSize,
    layers: layers.map(({ units, activation, slope }) => ({ units, activation, slope })),
    float32: dtype === 'float32',
    W: weights.W.slice(1).map(index),
    b: weights.b.slice(1).map(index),
    outputs: outputs.map((o) => ({ dW: o.dW.map(index), db: o.db.map(index), cost: index(o.cost) })),
  });

  /** Per batch size m: the column bounds of the blocks, their copies and the calling thread's workspace. */
  const blocksOf = new Map<number, { bounds: number[]; X: Matrix[]; Y: Matrix[]; ws: Workspace }>();
  const blocks = (m: number, rowsY: number) => {
    let b = blocksOf.get(m);
    if (b === undefined) {
      const bounds = Array.from({ length: threads + 1 }, (_, t) => Math.round((t * m) / threads));
      const X = bounds.slice(1).map((c1, t) => sharedZeros(inputSize, c1 - bounds[t]!, dtype));
      const Y = bounds.slice(1).map((c1, t) => sharedZeros(rowsY, c1 - bounds[t]!, dtype));
      const ws = createWorkspace(inputSize, layers, bounds[1]!, dtype, true);
      b = { bounds, X, Y, ws };
      blocksOf.set(m, b);
    }
    return b;
  };

  return {
    run(Xb, Yb, ws, lambda, sameBatch) {
      const m = Xb.cols;
      const fresh = !blocksOf.has(m);
      const { bounds, X, Y, ws: own } = blocks(m, Yb.rows);
      if (fresh || !sameBatch) {
        for (let t = 0; t < threads; t++) {
          copyColumns(Xb, bounds[t]!, bounds[t + 1]!, X[t]!);
          copyColumns(Yb, bounds[t]!, bounds[t + 1]!, Y[t]!);
        }
      }
      for (let t = 1; t < threads; t++) {
        const task = pool.task(t);
        task[T_X] = index(X[t]!);
        task[T_Y] = index(Y[t]!);
        task[T_COLUMNS] = X[t]!.cols;
      }
      for (let t = 1; t < threads; t++) Atomics.store(pool.task(t), T_OP, PASS);
      let J0 = 0;
      pool.run(() => {
        forwardPropagation(X[0]!, weights, layers, own);
        J0 = cost(own.Z[L]!, own.A[L]!, Y[0]!);
        backwardPropagation(Y[0]!, weights, layers, own, 0);
      });
      // The fixed-order sums: block 0 (this thread), then the helpers' blocks in slot order.
      const share = (t: number) => (bounds[t + 1]! - bounds[t]!) / m;
      let J = share(0) * J0;
      for (let t = 1; t < threads; t++) J += share(t) * outputs[t - 1]!.cost.data[0]!;
      for (let l = 1; l <= L; l++) {
        const dW = ws.dW[l]!.data;
        const db = ws.db[l]!.data;
        const a0 = share(0);
        const dW0 = own.dW[l]!.data;
        const db0 = own.db[l]!.data;
        for (let k = 0; k < dW.length; k++) dW[k] = a0 * dW0[k]!;
        for (let k = 0; k < db.length; k++) db[k] = a0 * db0[k]!;
        for (let t = 1; t < threads; t++) {
          const a = share(t);
          const dWt = outputs[t - 1]!.dW[l - 1]!.data;
          const dbt = outputs[t - 1]!.db[l - 1]!.data;
          for (let k = 0; k < dW.length; k++) dW[k] = dW[k]! + a * dWt[k]!;
          for (let k = 0; k < db.length; k++) db[k] = db[k]! + a * dbt[k]!;
        }
        if (lambda !== 0) {
          const decay = lambda / m;
          const w = weights.W[l]!.data;
          for (let k = 0; k < dW.length; k++) dW[k] = dW[k]! + decay * w[k]!;
        }
      }
      return J;
    },
  };
}
