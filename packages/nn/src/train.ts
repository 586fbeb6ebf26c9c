/**
 * The training loop: one loop for every activation, cost and optimiser.
 *
 *   for i = 0 .. N−1:   AL = forward(X_batch);  grads = backward(AL, Y_batch);  update(θ, grads)
 *
 * Iteration i is the state after i updates. The cost J_i of the parameters after i updates is
 * recorded every `costEvery` = k iterations: costs = [J_0, J_k, J_2k, ..., J_N] (J_0 is the cost
 * of the initial parameters, and the final J_N is always recorded). With full-batch gradient
 * descent J_i comes for free from the forward pass of update i+1, as in the course.
 *
 * Mini-batches: each epoch draws a permutation of the training columns from the seeded Rng (as
 * the course's random_mini_batches) and walks it in batches of `batchSize` (the last may be
 * smaller); one batch is one iteration.
 *
 * Resuming: a checkpoint at iteration i holds the parameters, the optimiser state, the Rng state
 * at the start of i's epoch and the early-stopping state; `train(net, X, Y, { ...options,
 * ...checkpoint })` continues exactly where the first run was, bit for bit.
 */
import { backwardPropagation } from './backward.ts';
import { COSTS, l2Cost } from './costs.ts';
import { DivergenceError, TrainingAbortedError } from './errors.ts';
import { forwardPropagation } from './forward.ts';
import type { DType, Matrix } from './matrix.ts';
import { zeros } from './matrix.ts';
import type { Network, ParameterMatrices, ParametersInput } from './network.ts';
import { readL2, readParameters } from './network.ts';
import {
  createOptimizer,
  OPTIMIZER_DEFAULTS,
  OPTIMIZER_NAMES,
  type OptimizerHyperparameters,
  type OptimizerName,
  type OptimizerState,
} from './optimizers.ts';
import { planUpdates } from './plan.ts';
import { Rng, type RngState } from './rng.ts';
import {
  checkNumber,
  fail,
  failOption,
  type MatrixInput,
  outputActivationOf,
  readX,
  readY,
} from './validate.ts';
import { createWorkspace, type Weights, type Workspace } from './workspace.ts';

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
  /** Fraction of the samples held out for validation, in [0, 1) (default 0). */
  readonly validationSplit?: number;
  /**
   * Stop when the validation cost (evaluated every `costEvery` updates) has not improved for
   * `patience` evaluations, and restore the parameters of the best one. Needs `validationSplit`.
   */
  readonly earlyStopping?: { readonly patience: number };
  /**
   * Checked between iterations; when `aborted` is true, training throws `TrainingAbortedError`
   * carrying a checkpoint. An AbortSignal works; in a worker thread whose event loop is busy
   * training, pass an object whose `aborted` getter reads shared memory (Atomics.load).
   */
  readonly signal?: { readonly aborted: boolean };
  /** Called at every recorded cost (every `costEvery` updates and at the end). */
  readonly onProgress?: (progress: TrainProgress) => void;

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

export interface TrainProgress {
  /** Updates made so far. */
  readonly iteration: number;
  /** N, the updates planned in total. */
  readonly iterations: number;
  /** J after `iteration` updates (with the L2 term). */
  readonly cost: number;
  /** The validation cost (without the L2 term), when there is a validation split. */
  readonly validationCost: number | undefined;
  /** A checkpoint at this iteration (a copy). Only valid during the onProgress call. */
  checkpoint(): TrainingCheckpoint;
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
}

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

function selectColumns(M: Matrix, idx: Int32Array, dtype: DType): Matrix {
  const out = zeros(M.rows, idx.length, dtype);
  gatherColumns(M, idx, 0, idx.length, out);
  return out;
}

/**
 * Hold out mVal of m samples (planUpdates decides how many): a seeded permutation, the first part
 * for validation; both parts keep the original column order.
 */
function splitIndices(rng: Rng, m: number, mVal: number): { train: Int32Array; validation: Int32Array } {
  const perm = Int32Array.from({ length: m }, (_, j) => j);
  rng.shuffle(perm);
  return { train: perm.slice(mVal).sort(), validation: perm.slice(0, mVal).sort() };
}

function copyWeights(weights: Weights): ParameterMatrices {
  const out: ParameterMatrices = {};
  for (let l = 1; l < weights.W.length; l++) {
    out[`W${l}`] = { rows: weights.W[l]!.rows, cols: weights.W[l]!.cols, data: weights.W[l]!.data.slice() };
    out[`b${l}`] = { rows: weights.b[l]!.rows, cols: 1, data: weights.b[l]!.data.slice() };
  }
  return out;
}

/**
 * Train `net` in place on X: (n[0], m) and Y: (n[L], m) (nested arrays or Matrix objects; a
 * Matrix of the network's dtype is used without a copy). See `TrainOptions`; throws
 * `DivergenceError` when the cost stops being finite, `TrainingAbortedError` when `signal` aborts,
 * `NnInputError` on bad input.
 */
/** The options that do not depend on the data, checked, with defaults filled in. */
interface Settings {
  readonly h: OptimizerHyperparameters;
  readonly optimizer: OptimizerName;
  readonly lambda: number;
  readonly seed: number;
  readonly patience: number | undefined;
}

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
  parameters: true,
  startIteration: true,
  optimizerState: true,
  rngState: true,
  earlyStoppingState: true,
};

/**
 * Refuse keys train does not read: a typo (`costEvry`) or a setting of another tool (`threads`)
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

function readSettings(options: TrainOptions, op: string): Settings {
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
  return {
    h,
    optimizer,
    lambda: readL2(options.l2, op),
    seed: checkNumber(options.seed ?? 0, 'seed', op, { min: 0, max: 0xffffffff, integer: true }),
    patience,
  };
}

/**
 * Train `net` in place on X: (n[0], m) and Y: (n[L], m) (nested arrays or Matrix objects; a
 * Matrix of the network's dtype is used without a copy). See `TrainOptions`; throws
 * `DivergenceError` when the cost stops being finite, `TrainingAbortedError` when `signal` aborts,
 * `NnInputError` on bad input (and then leaves `net` unchanged).
 */
export function train(net: Network, X: MatrixInput, Y: MatrixInput, options: TrainOptions): TrainResult {
  const op = 'train';
  const { h, optimizer: optimizerName, lambda, seed, patience } = readSettings(options, op);
  const { layers, dtype } = net;
  const L = layers.length;
  const cost = COSTS[outputActivationOf(layers)].cost;
  const initial =
    options.parameters === undefined
      ? undefined
      : readParameters(options.parameters, net.inputSize, layers, dtype, op);

  // ---- data ----
  const Xall = readX(X, net.inputSize, op, dtype);
  const Yall = readY(Y, layers[L - 1]!, Xall.cols, op, dtype);
  const m = Xall.cols;
  // The split sizes, batches, N and k: the same numbers the API planned the job with.
  const plan = planUpdates(m, options, op);
  const { batchSize, fullBatch, batchesPerEpoch, updates: N, costEvery } = plan;
  const rng = new Rng(seed);
  let Xt = Xall;
  let Yt = Yall;
  let Xv: Matrix | undefined;
  let Yv: Matrix | undefined;
  if (plan.validationSamples > 0) {
    const idx = splitIndices(rng, m, plan.validationSamples);
    Xt = selectColumns(Xall, idx.train, dtype);
    Yt = selectColumns(Yall, idx.train, dtype);
    Xv = selectColumns(Xall, idx.validation, dtype);
    Yv = selectColumns(Yall, idx.validation, dtype);
  }
  const mt = plan.trainSamples;

  // ---- starting state (fresh or resumed) ----
  const start = checkNumber(options.startIteration ?? 0, 'startIteration', op, {
    min: 0,
    max: N,
    integer: true,
  });
  if (start > 0) {
    const need = (what: string, why: string) =>
      fail(`${op}: resuming at iteration ${start} needs ${what} from the checkpoint (${why})`);
    if (!fullBatch && options.rngState === undefined)
      need('rngState', 'the mini-batch shuffles continue from it');
    if (optimizerName !== 'gd' && options.optimizerState === undefined)
      need('optimizerState', `${optimizerName} keeps moments`);
    if (patience !== undefined && options.earlyStoppingState === undefined)
      need('earlyStoppingState', 'early stopping keeps the best weights');
  }
  const shuffler = options.rngState === undefined ? rng : Rng.fromState(options.rngState);
  const optimizer = createOptimizer(optimizerName, net.weights, h, dtype, options.optimizerState, op);
  const saved = options.earlyStoppingState;
  let bestValidationCost = saved?.bestValidationCost ?? Infinity;
  let bestIteration = saved?.bestIteration ?? -1;
  let bestParameters: ParameterMatrices | null = saved?.bestParameters ?? null;
  let waited = saved?.evaluationsWithoutImprovement ?? 0;
  if (bestParameters !== null) {
    // Check that the saved best parameters fit the network, and own a copy.
    bestParameters = copyWeights(readParameters(bestParameters, net.inputSize, layers, dtype, op));
  }

  // Every check has passed: from here on the network changes.
  if (initial !== undefined) {
    for (let l = 1; l <= L; l++) {
      net.weights.W[l]!.data.set(initial.W[l]!.data);
      net.weights.b[l]!.data.set(initial.b[l]!.data);
    }
  }

  // ---- buffers, allocated once ----
  const workspaces = new Map<number, { ws: Workspace; Xb: Matrix; Yb: Matrix }>();
  const batchBuffers = (size: number) => {
    let b = workspaces.get(size);
    if (b === undefined) {
      b = {
        ws: createWorkspace(net.inputSize, layers, size, dtype, true),
        Xb: zeros(net.inputSize, size, dtype),
        Yb: zeros(Yt.rows, size, dtype),
      };
      workspaces.set(size, b);
    }
    return b;
  };
  const trainWs = fullBatch ? batchBuffers(mt).ws : createWorkspace(net.inputSize, layers, mt, dtype, false);
  const validationWs =
    Xv === undefined ? undefined : createWorkspace(net.inputSize, layers, Xv.cols, dtype, false);
  const perm = new Int32Array(mt);
  let epochRngState: RngState = shuffler.state();

  const costs: number[] = [];
  const costIterations: number[] = [];
  const validationCosts: number[] = [];
  const diverged = (i: number, J: number): never => {
    throw new DivergenceError(i, J, h.learningRate, costs.slice(), costIterations.slice());
  };
  /** J(X, Y) of the current parameters, from a forward pass into ws. */
  const dataCost = (Xm: Matrix, Ym: Matrix, ws: Workspace) => {
    forwardPropagation(Xm, net.weights, layers, ws);
    return cost(ws.Z[L]!, ws.A[L]!, Ym);
  };
  const checkpointAt = (i: number): TrainingCheckpoint => ({
    startIteration: i,
    parameters: copyWeights(net.weights),
    optimizerState: optimizer.state(),
    // Before iteration i's batch is drawn: at an epoch's start the Rng has not drawn its
    // permutation yet; within an epoch, the state from before that draw replays it.
    rngState: fullBatch || i % batchesPerEpoch === 0 ? shuffler.state() : epochRngState,
    earlyStoppingState:
      patience === undefined
        ? undefined
        : {
            bestValidationCost,
            bestIteration,
            bestParameters: bestParameters === null ? null : copyParameters(bestParameters),
            evaluationsWithoutImprovement: waited,
          },
  });

  let stoppedEarly = false;
  let i = start;
  for (; ; i++) {
    const last = i === N;
    const record = last || (i % costEvery === 0 && (i > start || start === 0));
    let J = Number.NaN;
    if (fullBatch) {
      // The forward pass of this iteration's update gives J_i for free.
      J = dataCost(Xt, Yt, trainWs);
      if (!Number.isFinite(J)) diverged(i, J);
    }
    if (record) {
      if (!fullBatch) J = dataCost(Xt, Yt, trainWs);
      J += l2Cost(net.weights.W, lambda, mt);
      if (!Number.isFinite(J)) diverged(i, J);
      costs.push(J);
      costIterations.push(i);
      let V: number | undefined;
      if (Xv !== undefined && Yv !== undefined && validationWs !== undefined) {
        V = dataCost(Xv, Yv, validationWs);
        if (!Number.isFinite(V)) diverged(i, V);
        validationCosts.push(V);
        if (V < bestValidationCost) {
          bestValidationCost = V;
          bestIteration = i;
          if (patience !== undefined) bestParameters = copyWeights(net.weights);
          waited = 0;
        } else {
          waited += 1;
        }
      }
      if (options.onProgress !== undefined) {
        let live = true;
        const iteration = i;
        try {
          options.onProgress({
            iteration,
            iterations: N,
            cost: J,
            validationCost: V,
            checkpoint: () => {
              if (!live) fail(`${op}: progress.checkpoint() is only valid during the onProgress call`);
              return checkpointAt(iteration);
            },
          });
        } finally {
          live = false;
        }
      }
      if (patience !== undefined && waited >= patience) {
        stoppedEarly = true;
        break;
      }
    }
    if (last) break;
    if (options.signal?.aborted) {
      throw new TrainingAbortedError(i, costs.slice(), costIterations.slice(), checkpointAt(i));
    }

    // ---- one update ----
    let ws = trainWs;
    if (fullBatch) {
      backwardPropagation(Yt, net.weights, layers, ws, lambda);
    } else {
      const j = i % batchesPerEpoch;
      if (j === 0 || i === start) {
        // A new epoch (or the resumed one): a fresh permutation from the epoch's Rng state.
        if (j === 0) epochRngState = shuffler.state();
        for (let c = 0; c < mt; c++) perm[c] = c;
        shuffler.shuffle(perm);
      }
      const from = j * batchSize;
      const size = Math.min(batchSize, mt - from);
      const b = batchBuffers(size);
      ws = b.ws;
      gatherColumns(Xt, perm, from, size, b.Xb);
      gatherColumns(Yt, perm, from, size, b.Yb);
      const Jb = dataCost(b.Xb, b.Yb, ws);
      if (!Number.isFinite(Jb)) diverged(i, Jb);
      backwardPropagation(b.Yb, net.weights, layers, ws, lambda);
    }
    optimizer.update(net.weights, ws.dW, ws.db);
  }

  let finalCost = costs[costs.length - 1] ?? Number.NaN;
  if (stoppedEarly && bestParameters !== null) {
    net.setParameters(bestParameters);
    finalCost = dataCost(Xt, Yt, trainWs) + l2Cost(net.weights.W, lambda, mt);
  }
  return {
    costs,
    costIterations,
    validationCosts,
    costEvery,
    iterations: i,
    plannedIterations: N,
    finalCost,
    stoppedEarly,
    bestIteration: Xv === undefined ? undefined : bestIteration,
    bestValidationCost: Xv === undefined ? undefined : bestValidationCost,
  };
}

function copyParameters(p: ParameterMatrices): ParameterMatrices {
  return Object.fromEntries(
    Object.entries(p).map(([key, M]) => [key, { rows: M.rows, cols: M.cols, data: M.data.slice() }]),
  );
}
