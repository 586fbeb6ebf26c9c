/**
 * train's settings: the options that do not depend on the data, checked once, with their
 * defaults filled in, and the iteration a run starts at (fresh or resumed) with the state a
 * resumed run needs.
 */
import { readL2 } from './network.ts';
import {
  OPTIMIZER_DEFAULTS,
  OPTIMIZER_NAMES,
  type OptimizerHyperparameters,
  type OptimizerName,
} from './optimizers.ts';
import type { UpdatePlan } from './plan.ts';
import { threadSpawner } from './threads.ts';
import type { TrainOptions } from './train-types.ts';
import { checkNumber, fail, failOption } from './validate.ts';

export interface Settings {
  readonly h: OptimizerHyperparameters;
  readonly optimizer: OptimizerName;
  readonly lambda: number;
  readonly seed: number;
  readonly patience: number | undefined;
  /** The calling thread and threads − 1 helpers share the products. */
  readonly threads: number;
}

/** The most threads one run may use. */
export const MAX_THREADS = 64;

/**
 * Every option `train` reads. The Record makes the compiler list each key of TrainOptions here, so
 * an option added to the interface cannot be forgotten and then refused.
 */
const TRAIN_OPTION_KEYS: Readonly<Record<keyof TrainOptions, true>> = {
  learningRate: true,
  iterations: true,
  epochs: true,
  batchSize: true,
  optimizer: true,
  beta: true,
  beta1: true,
  beta2: true,
  epsilon: true,
  l2: true,
  seed: true,
  costEvery: true,
  validationSplit: true,
  earlyStopping: true,
  signal: true,
  onProgress: true,
  onIteration: true,
  parameters: true,
  startIteration: true,
  optimizerState: true,
  rngState: true,
  earlyStoppingState: true,
  threads: true,
};

/**
 * Refuse keys train does not read: a typo (`costEvry`) or a setting of another tool (`workers`)
 * would otherwise be ignored silently and the run would use the default instead.
 */
function checkOptionKeys(options: object, op: string): void {
  const unknown = Object.keys(options).filter((key) => !Object.hasOwn(TRAIN_OPTION_KEYS, key));
  if (unknown.length > 0) {
    failOption(
      op,
      unknown[0]!,
      `unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; ` +
        `train takes ${Object.keys(TRAIN_OPTION_KEYS).join(', ')}`,
    );
  }
}

export function readSettings(options: TrainOptions, op: string): Settings {
  if (typeof options !== 'object' || options === null) {
    fail(`${op}: options must be an object with learningRate and iterations or epochs`);
  }
  checkOptionKeys(options, op);
  const { beta, beta1, beta2, epsilon } = OPTIMIZER_DEFAULTS;
  // β = 1 (or β1, β2 = 1) would keep a moment at 0 for ever, and Adam would divide 0 by its bias
  // correction 1 − 1^t = 0; ε = 0 divides 0 by 0 wherever a gradient has been 0 so far.
  const moment = { min: 0, max: 1, maxExclusive: true };
  const h: OptimizerHyperparameters = {
    learningRate: checkNumber(options.learningRate, 'learningRate', op, { min: 0, minExclusive: true }),
    beta: checkNumber(options.beta ?? beta, 'beta', op, moment),
    beta1: checkNumber(options.beta1 ?? beta1, 'beta1', op, moment),
    beta2: checkNumber(options.beta2 ?? beta2, 'beta2', op, moment),
    epsilon: checkNumber(options.epsilon ?? epsilon, 'epsilon', op, { min: 0, minExclusive: true }),
  };
  const optimizer = options.optimizer ?? 'gd';
  if (!OPTIMIZER_NAMES.includes(optimizer)) {
    fail(`${op}: optimizer is '${optimizer}' but must be one of ${OPTIMIZER_NAMES.join(', ')}`);
  }
  const patience =
    options.earlyStopping === undefined
      ? undefined
      : checkNumber(options.earlyStopping?.patience, 'earlyStopping.patience', op, { min: 1, integer: true });
  if (patience !== undefined && !((options.validationSplit ?? 0) > 0)) {
    fail(`${op}: earlyStopping needs a validationSplit > 0`);
  }
  if (options.onIteration !== undefined && typeof options.onIteration !== 'function') {
    failOption(op, 'onIteration', 'onIteration must be a function');
  }
  const threads = checkNumber(options.threads ?? 1, 'threads', op, {
    min: 1,
    max: MAX_THREADS,
    integer: true,
  });
  if (threads > 1 && threadSpawner() === null) {
    failOption(
      op,
      'threads',
      `threads ${threads} needs a way to start helper threads: call setThreadSpawner first (see README: Threads)`,
    );
  }
  return {
    h,
    optimizer,
    threads,
    lambda: readL2(options.l2, op),
    seed: checkNumber(options.seed ?? 0, 'seed', op, { min: 0, max: 0xffffffff, integer: true }),
    patience,
  };
}

/** The updates already made (0 on a fresh start); a resumed run must bring the state it needs. */
export function readStartIteration(
  options: TrainOptions,
  plan: UpdatePlan,
  settings: Settings,
  op: string,
): number {
  const start = checkNumber(options.startIteration ?? 0, 'startIteration', op, {
    min: 0,
    max: plan.updates,
    integer: true,
  });
  if (start > 0) {
    const need = (what: string, why: string) =>
      fail(`${op}: resuming at iteration ${start} needs ${what} from the checkpoint (${why})`);
    if (!plan.fullBatch && options.rngState === undefined)
      need('rngState', 'the mini-batch shuffles continue from it');
    if (settings.optimizer !== 'gd' && options.optimizerState === undefined)
      need('optimizerState', `${settings.optimizer} keeps moments`);
    if (settings.patience !== undefined && options.earlyStoppingState === undefined)
      need('earlyStoppingState', 'early stopping keeps the best weights');
  }
  return start;
}
