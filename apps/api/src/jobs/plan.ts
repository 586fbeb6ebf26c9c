/**
 * Checks a training request against its dataset, its network and the limits, before anything is
 * stored or queued, and fills in the defaults the worker will use (so a retried or resumed job
 * trains exactly as planned: the seed is fixed here): the contract's PlannedTraining. The split
 * sizes, batch size, updates, costEvery and cost points come from nn's own planUpdates, the
 * function train follows, so the job's progress total and its work limit count the updates the
 * worker will really make, and the worker can check that nn plans the same run.
 */
import { randomInt } from 'node:crypto';
import {
  ApiError,
  type Layer,
  limitExceeded,
  type PlannedTraining,
  type Task,
  type Training,
} from '@backprop/contracts';
import { NnInputError, OPTIMIZER_DEFAULTS, planUpdates, type UpdatePlan } from '@backprop/nn';

export interface DatasetShape {
  samples: number;
  features: number;
  task: Task;
  classes: unknown;
}

export interface NetworkShape {
  inputSize: number;
  layers: Layer[];
}

export interface TrainingLimits {
  LIMIT_ITERATIONS: number;
  LIMIT_TRAINING_WORK: number;
  LIMIT_ACTIVATION_VALUES: number;
  LIMIT_TRAINING_THREADS: number;
}

/** Threads a job asks for when its request names none (the limit, if that is lower). */
export const DEFAULT_TRAINING_THREADS = 2;

export interface TrainingPlan {
  /** The options as the worker will use them, defaults filled in, with the numbers of the run. */
  training: PlannedTraining & { threads: number; dtype: 'float64' | 'float32' };
  /** Parameter updates the job will make (fewer if early stopping ends it). */
  updates: number;
}

export function planTraining(
  dataset: DatasetShape,
  network: NetworkShape,
  training: Training,
  limits: TrainingLimits,
): TrainingPlan {
  checkFit(dataset, network);
  const run = planOf(dataset.samples, training);
  const { trainSamples, batchSize, updates, costEvery } = run;
  // nn would train a larger batch as one full batch; a request that asks for one is refused,
  // since the asker has miscounted the training samples.
  if (training.batchSize !== undefined && training.batchSize > trainSamples) {
    throw incompatible(
      'training.batchSize',
      `batchSize ${training.batchSize} is larger than the ${trainSamples} training samples`,
    );
  }
  if (updates > limits.LIMIT_ITERATIONS) {
    throw limitExceeded(
      'LIMIT_ITERATIONS',
      updates,
      limits.LIMIT_ITERATIONS,
      'the number of parameter updates',
    );
  }
  const work = updates * batchSize;
  if (work > limits.LIMIT_TRAINING_WORK) {
    throw limitExceeded(
      'LIMIT_TRAINING_WORK',
      work,
      limits.LIMIT_TRAINING_WORK,
      'the training work (updates × samples per update)',
    );
  }
  // The cost is evaluated on every training sample at once (and the validation split likewise),
  // so each activation matrix of a training thread holds samples × units numbers.
  checkActivations(dataset.samples, network.layers, limits.LIMIT_ACTIVATION_VALUES);
  if (training.initialParameters) checkParameters(training.initialParameters, network);
  return {
    training: {
      ...training,
      ...hyperparametersOf(training),
      seed: training.seed ?? randomInt(0, 2 ** 32 - 1),
      costEvery,
      threads: threadsOf(training, limits.LIMIT_TRAINING_THREADS),
      dtype: training.dtype ?? 'float64',
      run: {
        samples: run.samples,
        validationSamples: run.validationSamples,
        trainSamples,
        batchSize,
        updates,
        costPoints: run.costPoints,
      },
    },
    updates,
  };
}

/**
 * The chosen optimiser's hyper-parameters, nn's defaults filled in, so the stored plan says what
 * the worker trains with (and a later change of a default cannot change a resumed job).
 */
function hyperparametersOf(training: Training): Pick<Training, 'beta' | 'beta1' | 'beta2' | 'epsilon'> {
  switch (training.optimizer) {
    case 'gd':
      return {};
    case 'momentum':
      return { beta: training.beta ?? OPTIMIZER_DEFAULTS.beta };
    case 'adam':
      return {
        beta1: training.beta1 ?? OPTIMIZER_DEFAULTS.beta1,
        beta2: training.beta2 ?? OPTIMIZER_DEFAULTS.beta2,
        epsilon: training.epsilon ?? OPTIMIZER_DEFAULTS.epsilon,
      };
  }
}

/** The threads a job trains with: as asked, within LIMIT_TRAINING_THREADS; by default 2 (or the limit). */
function threadsOf(training: Training, limit: number): number {
  const threads = training.threads ?? Math.min(DEFAULT_TRAINING_THREADS, limit);
  if (threads > limit) {
    const what = 'training.threads (the threads that share one job)';
    throw new ApiError(
      'BP_ERR_LIMIT_EXCEEDED',
      `${what} is ${threads}, above the limit LIMIT_TRAINING_THREADS = ${limit}`,
      { limit: 'LIMIT_TRAINING_THREADS', actual: threads, max: limit, field: 'training.threads' },
    );
  }
  return threads;
}

/** nn's plan of this training on `samples` samples; what it refuses is a 422 naming the field. */
function planOf(samples: number, training: Training): UpdatePlan {
  try {
    return planUpdates(samples, training);
  } catch (error) {
    if (error instanceof NnInputError && error.argument !== undefined) {
      throw incompatible(`training.${error.argument}`, error.reason);
    }
    throw error;
  }
}

/** samples × Σ units of one forward pass: the memory a network's activations take. */
export function checkActivations(samples: number, layers: readonly { units: number }[], max: number): void {
  const values = samples * layers.reduce((n, l) => n + l.units, 0);
  if (values > max) {
    throw limitExceeded(
      'LIMIT_ACTIVATION_VALUES',
      values,
      max,
      'the activations of one forward pass (samples × Σ units)',
    );
  }
}

function incompatible(field: string, message: string): ApiError {
  return new ApiError('BP_ERR_INCOMPATIBLE', `${field}: ${message}`, { field });
}

function checkFit(dataset: DatasetShape, network: NetworkShape): void {
  if (network.inputSize !== dataset.features) {
    throw incompatible(
      'networkId',
      `the network's inputSize is ${network.inputSize} but the dataset has ${dataset.features} features`,
    );
  }
  const output = network.layers.at(-1)!;
  const classes = Array.isArray(dataset.classes) ? dataset.classes.length : 0;
  const fits =
    (dataset.task === 'binary' && output.activation === 'sigmoid' && output.units === 1) ||
    (dataset.task !== 'regression' && output.activation === 'softmax' && output.units === classes) ||
    (dataset.task === 'regression' && output.activation === 'linear' && output.units === 1);
  if (!fits) {
    const expected =
      dataset.task === 'regression'
        ? 'a linear output layer with 1 unit'
        : dataset.task === 'binary'
          ? 'a sigmoid output layer with 1 unit (or softmax with 2)'
          : `a softmax output layer with ${classes} units`;
    throw incompatible(
      'networkId',
      `the dataset's task is ${dataset.task}${classes ? ` with ${classes} classes` : ''}, which needs ${expected}; the network ends in ${output.activation} with ${output.units} unit(s)`,
    );
  }
}

/** initialParameters must hold exactly W1, b1, ..., WL, bL with the network's shapes. */
function checkParameters(parameters: Record<string, number[][]>, network: NetworkShape): void {
  const expected = new Map<string, [number, number]>();
  let nPrev = network.inputSize;
  network.layers.forEach((layer, i) => {
    expected.set(`W${i + 1}`, [layer.units, nPrev]);
    expected.set(`b${i + 1}`, [layer.units, 1]);
    nPrev = layer.units;
  });
  for (const key of Object.keys(parameters)) {
    if (!expected.has(key)) {
      throw incompatible(`training.initialParameters.${key}`, `the network has no parameter ${key}`);
    }
  }
  for (const [key, [rows, cols]] of expected) {
    const value = parameters[key];
    const field = `training.initialParameters.${key}`;
    if (!value) throw incompatible(field, `missing; expected a (${rows}, ${cols}) array`);
    if (value.length !== rows || value.some((row) => row.length !== cols)) {
      throw incompatible(
        field,
        `expected shape (${rows}, ${cols}), got ${value.length} rows of lengths ${[...new Set(value.map((r) => r.length))].join('/')}`,
      );
    }
  }
}
