/**
 * What `train` takes and hands out: its options, the state it shows a caller between updates, the
 * checkpoint it resumes from and its result. Types only, so that the files of the loop and the
 * errors can share them without importing one another.
 */
import type { ParameterMatrices, ParametersInput } from './network.ts';
import type { OptimizerName, OptimizerState } from './optimizers.ts';
import type { RngState } from './rng.ts';

export interface TrainOptions {
  /** α. */
  readonly learningRate: number;
  /** N, the number of updates. Give this or `epochs`. */
  readonly iterations?: number;
  /** Passes over the training samples; N = epochs × batches per epoch. Give this or `iterations`. */
  readonly epochs?: number;
  /** Mini-batch size; omitted (or ≥ the number of training samples) means full-batch gradient descent. */
  readonly batchSize?: number;
  /** 'gd' (default; SGD with a batchSize), 'momentum' or 'adam'. */
  readonly optimizer?: OptimizerName;
  /** Momentum's β (default 0.9). */
  readonly beta?: number;
  /** Adam's β1 (default 0.9). */
  readonly beta1?: number;
  /** Adam's β2 (default 0.999). */
  readonly beta2?: number;
  /** Adam's ε (default 1e-8). */
  readonly epsilon?: number;
  /** L2 regularisation λ (default 0): J += (λ/2m)·Σ‖W[l]‖², dW[l] += (λ/m)·W[l]. */
  readonly l2?: number;
  /** Seed of the validation split and the mini-batch shuffles, an integer in [0, 2³²) (default 0). */
  readonly seed?: number;
  /** Record the cost every k updates (default max(1, floor(N/100))). */
  readonly costEvery?: number;
  /**
   * Threads that share each update (default 1): the calling thread and threads − 1 helpers started
   * with the platform's spawner (`setThreadSpawner`), each running the forward and backward passes
   * over its block of the update's samples; the blocks' gradients are added in thread order, so a
   * run is bit-identical to the next (and within about 1e-12 of one thread). An integer in [1, 64].
   */
  readonly threads?: number;
  /** Fraction of the samples held out for validation, in [0, 1) (default 0). */
  readonly validationSplit?: number;
  /**
   * Stop when the validation cost (evaluated every `costEvery` updates) has not improved for
   * `patience` evaluations, and restore the parameters of the best one. Needs `validationSplit`.
   */
  readonly earlyStopping?: { readonly patience: number };
  /**
   * Checked between iterations; when `aborted` is true, training throws `TrainingAbortedError`
   * carrying a checkpoint. An AbortSignal works; so does an object whose `aborted` getter reads
   * shared memory (Atomics.load) in a worker thread whose event loop is busy training.
   */
  readonly signal?: { readonly aborted: boolean };
  /** Called at every recorded cost (every `costEvery` updates and at the end). */
  readonly onProgress?: (progress: TrainProgress) => void;
  /**
   * Called between updates: at iteration i = start, start+1, ..., N (before each update and
   * after the last), once each. It sees the iteration, the cost when one was recorded there, and
   * can take a checkpoint of that exact state; returning 'stop' ends training before the next
   * update with a `TrainingAbortedError` carrying that checkpoint (as an aborted `signal` does).
   * Where training ends anyway (after the last update, or when early stopping stops it) there is
   * no next update, and train returns its result. Clocks, messages and storage stay with the
   * caller: train only asks.
   */
  readonly onIteration?: (state: TrainIteration) => 'continue' | 'stop';

  /** Start from these parameters { W1, b1, ... } (they replace the network's first). */
  readonly parameters?: ParametersInput;
  /** Resume: the updates already made (default 0). `iterations`/`epochs` stay the total planned. */
  readonly startIteration?: number;
  /** Resume: the optimiser state of the checkpoint (needed for momentum and adam). */
  readonly optimizerState?: OptimizerState;
  /** Resume: the Rng state of the checkpoint (needed for mini-batches). */
  readonly rngState?: RngState;
  /** Resume: the early-stopping state of the checkpoint (needed with earlyStopping). */
  readonly earlyStoppingState?: EarlyStoppingState;
}

/** What early stopping remembers between evaluations. */
export interface EarlyStoppingState {
  /** The lowest validation cost so far (Infinity before the first evaluation). */
  readonly bestValidationCost: number;
  /** The iteration (updates made) of that cost; −1 before the first evaluation. */
  readonly bestIteration: number;
  /** The parameters at bestIteration (null before the first evaluation). */
  readonly bestParameters: ParameterMatrices | null;
  /** Evaluations since the best one. */
  readonly evaluationsWithoutImprovement: number;
}

/**
 * Everything needed to resume training at iteration `startIteration` with bit-identical results:
 * `train(net, X, Y, { ...sameOptions, ...checkpoint })`. The field names are train's options.
 */
export interface TrainingCheckpoint {
  readonly startIteration: number;
  readonly parameters: ParameterMatrices;
  readonly optimizerState: OptimizerState;
  readonly rngState: RngState;
  readonly earlyStoppingState?: EarlyStoppingState;
}

/** The state between two updates, as `onIteration` sees it. */
export interface TrainIteration {
  /** Updates made so far. */
  readonly iteration: number;
  /** N, the updates planned in total. */
  readonly iterations: number;
  /** J after `iteration` updates (with the L2 term) when it was recorded at this iteration. */
  readonly cost: number | undefined;
  /** The validation cost recorded with `cost` (without the L2 term), when there is a split. */
  readonly validationCost: number | undefined;
  /** With `validationCost`: the held-out accuracy (sigmoid or softmax output). */
  readonly validationAccuracy: number | undefined;
  /** With `validationCost`: the held-out mean squared error (linear output). */
  readonly validationMse: number | undefined;
  /** A checkpoint at this iteration (a copy). Only valid during the call. */
  checkpoint(): TrainingCheckpoint;
}

export interface TrainProgress {
  /** Updates made so far. */
  readonly iteration: number;
  /** N, the updates planned in total. */
  readonly iterations: number;
  /** J after `iteration` updates (with the L2 term). */
  readonly cost: number;
  /** The validation cost (without the L2 term), when there is a validation split. */
  readonly validationCost: number | undefined;
  /** With `validationCost`: the held-out accuracy (sigmoid or softmax output). */
  readonly validationAccuracy: number | undefined;
  /** With `validationCost`: the held-out mean squared error (linear output). */
  readonly validationMse: number | undefined;
  /** A checkpoint at this iteration (a copy). Only valid during the onProgress call. */
  checkpoint(): TrainingCheckpoint;
}

/** The columns (sample indices, ascending) of train's X the updates learned from and held out. */
export interface SampleSplit {
  readonly training: Int32Array;
  readonly validation: Int32Array;
}

export interface TrainResult {
  /** The recorded costs J_0, J_k, J_2k, ..., and the final one (see costIterations). */
  readonly costs: number[];
  /** The iteration (updates made) of each entry of `costs`. */
  readonly costIterations: number[];
  /** Validation costs at the same iterations (empty without a validation split). */
  readonly validationCosts: number[];
  readonly costEvery: number;
  /** Updates made in total when training stopped (fewer than planned after early stopping). */
  readonly iterations: number;
  /** N, the updates planned. */
  readonly plannedIterations: number;
  /** J of the parameters the network holds now (the best ones after early stopping). */
  readonly finalCost: number;
  readonly stoppedEarly: boolean;
  /** With a validation split: the iteration of the lowest validation cost, and that cost. */
  readonly bestIteration: number | undefined;
  readonly bestValidationCost: number | undefined;
  /**
   * With a validation split: which columns of X the updates learned from (`training`) and which
   * were held out (`validation`), each ascending; the same on a resumed run (the split is drawn
   * from `seed`). Undefined without a split: every column was trained on.
   */
  readonly split: SampleSplit | undefined;
}
