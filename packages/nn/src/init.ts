/**
 * Parameter initialisation, one table row per scheme:
 *
 *   W[l] = randn(n[l], n[l-1]) · scale(n[l-1]),   b[l] = zeros(n[l], 1)
 *
 *   random  scale = 0.01               the course's shallow-network default
 *   xavier  scale = sqrt(1 / n[l-1])   the course's deep notebook (randn / sqrt(n_prev))
 *   he      scale = sqrt(2 / n[l-1])   for relu layers
 *   zeros   scale = 0                  only trains a network without a hidden layer of 2+ units
 *                                      (logistic regression); refused otherwise (symmetry)
 *
 * The normals come from the seeded `Rng`, drawn layer by layer, row by row (numpy's randn order),
 * so a seed gives the same weights on every machine.
 */

import type { Layer } from './architecture.ts';
import type { DType } from './matrix.ts';
import { zeros } from './matrix.ts';
import type { Rng } from './rng.ts';
import { EMPTY, type Weights } from './workspace.ts';

export type InitName = 'random' | 'xavier' | 'he' | 'zeros';

/** Names of the initialisation schemes. */
export const INIT_NAMES: readonly InitName[] = ['random', 'xavier', 'he', 'zeros'];

/** scale(n[l-1]) of each scheme: the standard deviation of the weights of layer l. */
export const INITIALIZERS: Readonly<Record<InitName, (nPrev: number) => number>> = {
  random: () => 0.01,
  xavier: (nPrev) => Math.sqrt(1 / nPrev),
  he: (nPrev) => Math.sqrt(2 / nPrev),
  zeros: () => 0,
};

/** W[l] ~ N(0, 1)·scale(n[l-1]) of shape (n[l], n[l-1]); b[l] = 0 of shape (n[l], 1); l = 1..L. */
export function initializeParameters(
  inputSize: number,
  layers: readonly Layer[],
  init: InitName,
  rng: Rng,
  dtype: DType,
): Weights {
  const scaleOf = INITIALIZERS[init];
  const W = [EMPTY];
  const b = [EMPTY];
  let nPrev = inputSize;
  for (const { units: n } of layers) {
    const Wl = zeros(n, nPrev, dtype);
    const scale = scaleOf(nPrev);
    if (scale !== 0) {
      const w = Wl.data;
      for (let k = 0; k < w.length; k++) w[k] = rng.normal() * scale;
    }
    W.push(Wl);
    b.push(zeros(n, 1, dtype));
    nPrev = n;
  }
  return { W, b };
}
