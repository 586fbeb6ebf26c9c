/**
 * Messages between the worker's main thread and a training thread. The thread computes; the main
 * thread talks to Postgres and Redis. Float data crosses as transferable typed arrays.
 */
import type { Init, JobErrorCode, Layer, Normalization, PlannedTraining, Task } from '@backprop/contracts';

/** Index in `control`: 1 = checkpoint as soon as possible, then stop (graceful shutdown). */
export const CONTROL_CHECKPOINT = 0;

export interface ResumeState {
  iteration: number;
  /** @backprop/nn's serializeCheckpoint bytes. */
  snapshot: Uint8Array;
  state: CheckpointState;
  /** The cost history up to `iteration`. */
  costs: Float64Array;
  /** The validation history up to `iteration` (two values per cost; empty without a split). */
  validationHistory: Float64Array;
}

/** Small, JSON-safe parts of a checkpoint. */
export interface CheckpointState {
  normalization: Normalization;
}

export interface TrainRequest {
  /** samples × features, row per sample, raw units. */
  x: Float64Array;
  /** Class index (classification) or value (regression), one per sample. */
  y: Float64Array;
  samples: number;
  features: number;
  task: Task;
  network: { inputSize: number; layers: Layer[]; init: Init };
  training: PlannedTraining;
  resume: ResumeState | null;
  progressEveryMs: number;
  /** Int32Array flags the main thread sets and the training loop polls (see CONTROL_*). */
  control: SharedArrayBuffer;
  checkpointEveryMs: number;
  /** The thread lowers its own scheduling priority to this nice value (0: leave it). */
  nice: number;
  /** The most threads the training uses (training.threads is capped to it); absent: 1. */
  maxThreads?: number;
  /** Test-only (faults.ts): throw at the first recorded cost, as a bug in training code would. */
  injectThrow?: boolean;
}

export interface ModelMetrics {
  finalCost: number;
  iterations: number;
  trainAccuracy?: number;
  trainMse?: number;
  validationAccuracy?: number;
  validationMse?: number;
  validationCost?: number;
  /** With a validation split: the iteration of the lowest validation cost. */
  bestIteration?: number;
  stoppedEarly?: boolean;
}

export type ThreadMessage =
  /**
   * `cost` is the latest recorded one (null before the first); iteration may be past it.
   * `newCosts`: the costs recorded since the previous progress message (the history grows only);
   * `newCostIterations` the iteration of each, `newValidationCosts` the held-out cost recorded with
   * each (NaN without a validation split).
   */
  | {
      type: 'progress';
      iteration: number;
      cost: number | null;
      newCosts: Float64Array;
      newCostIterations: Float64Array;
      newValidationCosts: Float64Array;
      /** With a validation split: (validation cost, accuracy or MSE) for each of newCosts. */
      newValidationHistory: Float64Array;
    }
  | ({ type: 'checkpoint' } & ResumeState)
  | {
      type: 'done';
      iteration: number;
      cost: number;
      costs: Float64Array;
      validationHistory: Float64Array;
      /** the trained network in @backprop/nn's binary format (serializeBinary): the model's bytes */
      network: Uint8Array;
      normalization: Normalization;
      metrics: ModelMetrics;
    }
  | { type: 'failed'; code: Extract<JobErrorCode, 'BP_ERR_DIVERGED' | 'BP_ERR_BAD_DATA'>; message: string }
  /** Sent after the checkpoint that a CONTROL_CHECKPOINT request produced; the thread then ends. */
  | { type: 'released' };

/** What training-thread.ts reads from workerData. */
export interface TrainingThreadData {
  request: TrainRequest;
  /** The helper threads' entry (thread-entries.ts), a file: URL */
  helperEntry: string;
}
