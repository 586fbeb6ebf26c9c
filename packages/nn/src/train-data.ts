/**
 * The data train learns from: the samples split into a training and a validation set (a seeded
 * permutation holds out the validation part), and the batch each update sees.
 *
 * Mini-batches: each epoch draws a permutation of the training columns from the seeded Rng (as
 * the course's random_mini_batches) and walks it in batches of `batchSize` (the last may be
 * smaller); one batch is one iteration. Full-batch gradient descent sees every training sample in
 * every update.
 */

import type { Layer } from './architecture.ts';
import { selectColumns } from './layout.ts';
import type { DType, Matrix } from './matrix.ts';
import type { UpdatePlan } from './plan.ts';
import type { Rng, RngState } from './rng.ts';
import { type Memory, privateMemory } from './shared-memory.ts';
import type { SampleSplit } from './train-types.ts';
import { createWorkspace, type Workspace } from './workspace.ts';

/** Copy columns idx[from .. from+count) of M: (n, m) into out: (n, count). */
function gatherColumns(M: Matrix, idx: Int32Array, from: number, count: number, out: Matrix): void {
  const { rows: n, cols: m, data } = M;
  const o = out.data;
  for (let i = 0; i < n; i++) {
    const src = i * m;
    const dst = i * count;
    for (let c = 0; c < count; c++) o[dst + c] = data[src + idx[from + c]!]!;
  }
}

export interface SplitData {
  /** The training set (all samples without a validation split). */
  readonly X: Matrix;
  readonly Y: Matrix;
  /** The validation set, when the plan holds samples out. */
  readonly validation: { readonly X: Matrix; readonly Y: Matrix } | undefined;
  /** With a validation split: the columns of the input each set holds (ascending). */
  readonly split: SampleSplit | undefined;
}

/**
 * Hold out plan.validationSamples of the m samples: a seeded permutation (drawn from `rng`), the
 * first part for validation; both parts keep the original column order.
 */
export function splitSamples(
  X: Matrix,
  Y: Matrix,
  plan: UpdatePlan,
  rng: Rng,
  memory: Memory = privateMemory,
): SplitData {
  const { place } = memory;
  if (plan.validationSamples === 0)
    return { X: place(X), Y: place(Y), validation: undefined, split: undefined };
  const perm = Int32Array.from({ length: plan.samples }, (_, j) => j);
  rng.shuffle(perm);
  const train = perm.slice(plan.validationSamples).sort();
  const validation = perm.slice(0, plan.validationSamples).sort();
  return {
    X: place(selectColumns(X, train)),
    Y: place(selectColumns(Y, train)),
    validation: { X: place(selectColumns(X, validation)), Y: place(selectColumns(Y, validation)) },
    split: { training: train, validation },
  };
}

/** One update's samples and the buffers of its forward and backward passes. */
export interface Batch {
  readonly X: Matrix;
  readonly Y: Matrix;
  readonly ws: Workspace;
}

export interface Batches {
  /** The batch of update i+1 (the one made at iteration i). */
  batch(i: number): Batch;
  /** The Rng state a checkpoint at iteration i carries: resuming from it replays i's batch. */
  rngStateAt(i: number): RngState;
  /** A forward-only workspace over the whole training set, for its cost. */
  readonly trainingSetWs: Workspace;
}

interface Shape {
  readonly inputSize: number;
  readonly layers: readonly Layer[];
  readonly dtype: DType;
  /** Where the buffers go (shared memory when threads share the products). */
  readonly memory: Memory;
}

/** Every update sees the whole training set; its forward pass also gives the set's cost J_i. */
export function fullBatches(data: SplitData, net: Shape, rng: Rng): Batches {
  const ws = createWorkspace(net.inputSize, net.layers, data.X.cols, net.dtype, true, net.memory.zeros);
  const all: Batch = { X: data.X, Y: data.Y, ws };
  return { batch: () => all, rngStateAt: () => rng.state(), trainingSetWs: ws };
}

/**
 * Batches of plan.batchSize from a fresh permutation per epoch. `start` is where the run begins:
 * a resumed run begins mid-epoch with the Rng state from before that epoch's permutation.
 */
export function miniBatches(data: SplitData, net: Shape, plan: UpdatePlan, rng: Rng, start: number): Batches {
  const { batchSize, batchesPerEpoch } = plan;
  const mt = data.X.cols;
  const buffers = new Map<number, Batch>();
  const buffersOf = (size: number): Batch => {
    let b = buffers.get(size);
    if (b === undefined) {
      b = {
        ws: createWorkspace(net.inputSize, net.layers, size, net.dtype, true, net.memory.zeros),
        X: net.memory.zeros(net.inputSize, size, net.dtype),
        Y: net.memory.zeros(data.Y.rows, size, net.dtype),
      };
      buffers.set(size, b);
    }
    return b;
  };
  const perm = new Int32Array(mt);
  /** The Rng state before the permutation of the epoch in progress was drawn. */
  let epochRngState = rng.state();
  /** The last iteration whose batch was drawn (−1 before the first). */
  let drawn = -1;
  return {
    trainingSetWs: createWorkspace(net.inputSize, net.layers, mt, net.dtype, false, net.memory.zeros),
    batch(i) {
      const j = i % batchesPerEpoch;
      if (j === 0 || i === start) {
        // A new epoch (or the resumed one): a fresh permutation from the epoch's Rng state.
        if (j === 0) epochRngState = rng.state();
        for (let c = 0; c < mt; c++) perm[c] = c;
        rng.shuffle(perm);
      }
      drawn = i;
      const from = j * batchSize;
      const size = Math.min(batchSize, mt - from);
      const b = buffersOf(size);
      gatherColumns(data.X, perm, from, size, b.X);
      gatherColumns(data.Y, perm, from, size, b.Y);
      return b;
    },
    rngStateAt(i) {
      // At an epoch's start whose permutation is not drawn yet, the Rng has not drawn it; otherwise
      // the state from before the epoch's draw replays it.
      return i % batchesPerEpoch === 0 && drawn !== i ? rng.state() : epochRngState;
    },
  };
}
