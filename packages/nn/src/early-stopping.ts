/**
 * Early stopping: remember the lowest validation cost, its iteration and (when stopping early is
 * on) its parameters; stop after `patience` evaluations without improvement. Without patience it
 * only tracks the best validation cost for the result.
 */
import type { ParameterMatrices } from './network.ts';
import type { EarlyStoppingState } from './train-types.ts';
import type { Weights } from './workspace.ts';

export function copyWeights(weights: Weights): ParameterMatrices {
  const out: ParameterMatrices = {};
  for (let l = 1; l < weights.W.length; l++) {
    out[`W${l}`] = { rows: weights.W[l]!.rows, cols: weights.W[l]!.cols, data: weights.W[l]!.data.slice() };
    out[`b${l}`] = { rows: weights.b[l]!.rows, cols: 1, data: weights.b[l]!.data.slice() };
  }
  return out;
}

function copyParameters(p: ParameterMatrices): ParameterMatrices {
  return Object.fromEntries(
    Object.entries(p).map(([key, M]) => [key, { rows: M.rows, cols: M.cols, data: M.data.slice() }]),
  );
}

export class EarlyStopping {
  bestValidationCost: number;
  bestIteration: number;
  bestParameters: ParameterMatrices | null;
  private waited: number;

  /** `saved`: a checkpoint's state, its parameters already checked against the network and copied (they become this tracker's). */
  constructor(
    private readonly patience: number | undefined,
    saved: EarlyStoppingState | undefined,
  ) {
    this.bestValidationCost = saved?.bestValidationCost ?? Infinity;
    this.bestIteration = saved?.bestIteration ?? -1;
    this.bestParameters = saved?.bestParameters ?? null;
    this.waited = saved?.evaluationsWithoutImprovement ?? 0;
  }

  /** The validation cost V after `iteration` updates, with the weights that gave it. */
  evaluate(iteration: number, V: number, weights: Weights): void {
    if (V < this.bestValidationCost) {
      this.bestValidationCost = V;
      this.bestIteration = iteration;
      if (this.patience !== undefined) this.bestParameters = copyWeights(weights);
      this.waited = 0;
    } else {
      this.waited += 1;
    }
  }

  /** True once `patience` evaluations in a row did not improve on the best. */
  get exhausted(): boolean {
    return this.patience !== undefined && this.waited >= this.patience;
  }

  /** For a checkpoint: a copy, or undefined when early stopping is off. */
  state(): EarlyStoppingState | undefined {
    if (this.patience === undefined) return undefined;
    return {
      bestValidationCost: this.bestValidationCost,
      bestIteration: this.bestIteration,
      bestParameters: this.bestParameters === null ? null : copyParameters(this.bestParameters),
      evaluationsWithoutImprovement: this.waited,
    };
  }
}
