/**
 * The buffers of one forward and backward pass over m samples, allocated once and reused every
 * iteration, so the training loop allocates nothing.
 *
 * Arrays are indexed by layer as in the course, l = 1..L; index 0 of A is X itself (A[0] = X) and
 * index 0 of the others is an empty placeholder. Shapes:
 *   W[l]: (n[l], n[l-1])   b[l]: (n[l], 1)
 *   Z[l], A[l], dZ[l], dA[l]: (n[l], m)   dW[l]: like W[l]   db[l]: like b[l]
 */

import type { Layer } from './architecture.ts';
import type { DType, Matrix } from './matrix.ts';
import { zeros } from './matrix.ts';
import type { Allocate } from './shared-memory.ts';

/** The parameters W[l], b[l] for l = 1..L (index 0 is an empty placeholder). */
export interface Weights {
  readonly W: Matrix[];
  readonly b: Matrix[];
}

export interface Workspace {
  readonly m: number;
  /** Z[l] = W[l]·A[l-1] + b[l], cached for the backward pass. */
  readonly Z: Matrix[];
  /** A[l] = g[l](Z[l]); A[0] is set to the input X of each pass. */
  readonly A: Matrix[];
  /** Gradients; empty arrays in a forward-only workspace. dA[0] (= dX) is never computed. */
  readonly dZ: Matrix[];
  readonly dA: Matrix[];
  readonly dW: Matrix[];
  readonly db: Matrix[];
}

export const EMPTY: Matrix = zeros(0, 0);

/**
 * Buffers for a pass over m samples; `backward: false` allocates only Z and A (for the cost and
 * predictions). `alloc` is `sharedZeros` when threads share the products (shared-memory.ts).
 */
export function createWorkspace(
  inputSize: number,
  layers: readonly Layer[],
  m: number,
  dtype: DType,
  backward: boolean,
  alloc: Allocate = zeros,
): Workspace {
  const ws: Workspace = { m, Z: [EMPTY], A: [EMPTY], dZ: [], dA: [], dW: [], db: [] };
  if (backward) {
    ws.dZ.push(EMPTY);
    ws.dA.push(EMPTY);
    ws.dW.push(EMPTY);
    ws.db.push(EMPTY);
  }
  let nPrev = inputSize;
  for (let l = 1; l <= layers.length; l++) {
    const n = layers[l - 1]!.units;
    ws.Z.push(alloc(n, m, dtype));
    ws.A.push(alloc(n, m, dtype));
    if (backward) {
      ws.dZ.push(alloc(n, m, dtype));
      // dA[L] is never needed (the output uses the fused dZ[L] = AL − Y).
      ws.dA.push(l < layers.length ? alloc(n, m, dtype) : EMPTY);
      ws.dW.push(alloc(n, nPrev, dtype));
      ws.db.push(alloc(n, 1, dtype));
    }
    nPrev = n;
  }
  return ws;
}
