/**
 * TrainingAbortedError, apart from the other errors (errors.ts) because it carries a checkpoint,
 * whose types reach the network and the optimisers; errors.ts stays a file that any file of the
 * package imports without a cycle.
 */
import type { TrainingCheckpoint } from './train-types.ts';

/**
 * Training stopped on request: its `signal` reported `aborted`, or `onIteration` said 'stop'. It
 * carries a checkpoint of the state at the moment it stopped, so a caller that stops for a
 * shutdown (not a cancel) can save it and resume later with bit-identical results.
 */
export class TrainingAbortedError extends Error {
  override readonly name = 'AbortError';
  /** Updates made before the abort was seen. */
  readonly iteration: number;
  readonly costs: number[];
  readonly costIterations: number[];
  /** Everything needed to resume: `train(net, X, Y, { ...options, ...error.checkpoint })`. */
  readonly checkpoint: TrainingCheckpoint;

  constructor(iteration: number, costs: number[], costIterations: number[], checkpoint: TrainingCheckpoint) {
    super(`train: aborted at iteration ${iteration}`);
    this.iteration = iteration;
    this.costs = costs;
    this.costIterations = costIterations;
    this.checkpoint = checkpoint;
  }
}
