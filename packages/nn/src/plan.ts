/**
 * The numbers of a training run, computed before any data is touched: how many samples the
 * validation split holds out, the batches, the updates N and the recorded costs. `train` uses
 * exactly this function, and so does anyone who must know those numbers in advance (the API
 * plans a job's progress total and its work limit with it), so the two can never disagree.
 */
import { checkNumber, failOption } from './validate.ts';

/** The options of `train` that decide the plan. */
export interface PlanOptions {
  readonly iterations?: number;
  readonly epochs?: number;
  readonly batchSize?: number;
  readonly validationSplit?: number;
  readonly costEvery?: number;
}

export interface UpdatePlan {
  /** m, every sample given. */
  readonly samples: number;
  /** round(m·validationSplit): held out for validation (0 without a split). */
  readonly validationSamples: number;
  /** m − validationSamples: the samples the updates learn from. */
  readonly trainSamples: number;
  /** Samples per update: batchSize, or every training sample when it is omitted or larger. */
  readonly batchSize: number;
  /** True when each update sees every training sample (plain gradient descent). */
  readonly fullBatch: boolean;
  /** ⌈trainSamples / batchSize⌉: updates per pass over the training samples. */
  readonly batchesPerEpoch: number;
  /** N: `iterations`, or `epochs` × batchesPerEpoch. */
  readonly updates: number;
  /** k: a cost is recorded every k updates (default max(1, ⌊N/100⌋)). */
  readonly costEvery: number;
  /** Entries of the cost history when training runs to the end: J_0, J_k, J_2k, ..., and J_N. */
  readonly costPoints: number;
}

/**
 * The plan of training on `samples` samples with these options. Throws an `NnInputError` whose
 * `argument` names the option at fault when the options cannot train: a split that holds out no
 * sample or every sample, both or neither of iterations and epochs, a count that is not a
 * non-negative integer. `op` prefixes the messages (`train` passes its own name).
 */
export function planUpdates(samples: number, options: PlanOptions, op = 'planUpdates'): UpdatePlan {
  const m = checkNumber(samples, 'samples', op, { min: 1, integer: true });
  const split = checkNumber(options.validationSplit ?? 0, 'validationSplit', op, { min: 0, max: 1 });
  if (split >= 1) failOption(op, 'validationSplit', `validationSplit must be below 1, got ${split}`);
  const validationSamples = Math.round(m * split);
  if (split > 0 && validationSamples === 0) {
    failOption(
      op,
      'validationSplit',
      `validationSplit ${split} of ${m} samples holds out no sample (round(${m}·${split}) = 0)`,
    );
  }
  const trainSamples = m - validationSamples;
  if (trainSamples === 0) {
    failOption(
      op,
      'validationSplit',
      `validationSplit ${split} of ${m} samples leaves no training sample (round(${m}·${split}) = ${m})`,
    );
  }
  if ((options.iterations === undefined) === (options.epochs === undefined)) {
    failOption(op, 'iterations', 'give exactly one of iterations or epochs');
  }
  const batchSize =
    options.batchSize === undefined
      ? trainSamples
      : Math.min(trainSamples, checkNumber(options.batchSize, 'batchSize', op, { min: 1, integer: true }));
  const batchesPerEpoch = Math.ceil(trainSamples / batchSize);
  const updates =
    options.iterations !== undefined
      ? checkNumber(options.iterations, 'iterations', op, { min: 0, integer: true })
      : checkNumber(options.epochs, 'epochs', op, { min: 0, integer: true }) * batchesPerEpoch;
  const costEvery = checkNumber(
    options.costEvery ?? Math.max(1, Math.floor(updates / 100)),
    'costEvery',
    op,
    {
      min: 1,
      integer: true,
    },
  );
  // Recorded: every multiple of k in [0, N], and N itself when it is not one.
  const costPoints = Math.floor(updates / costEvery) + 1 + (updates % costEvery === 0 ? 0 : 1);
  return {
    samples: m,
    validationSamples,
    trainSamples,
    batchSize,
    fullBatch: batchSize === trainSamples,
    batchesPerEpoch,
    updates,
    costEvery,
    costPoints,
  };
}
