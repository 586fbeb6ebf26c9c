/**
 * The training loop: one loop for every activation, cost and optimiser. Each update is the
 * course's four lines, on the update's batch (every training sample for plain gradient descent):
 *
 *   AL = forward(X_batch);  J = cost(AL, Y_batch);  grads = backward(AL, Y_batch);  θ = update(θ, grads)
 *
 * Iteration i is the state after i updates. The cost J_i of the parameters after i updates is
 * recorded every `costEvery` = k iterations: costs = [J_0, J_k, J_2k, ..., J_N] (J_0 is the cost
 * of the initial parameters, and the final J_N is always recorded). With full-batch gradient
 * descent J_i is the J of update i+1's forward pass, as in the course.
 *
 * Between two updates the caller is asked (onProgress at recorded costs, onIteration at every
 * iteration, `signal`): it can take a checkpoint of the exact state and stop there.
 *
 * Resuming: a checkpoint at iteration i holds the parameters, the optimiser state, the Rng state
 * at the start of i's epoch and the early-stopping state; `train(net, X, Y, { ...options,
 * ...checkpoint })` continues exactly where the first run was, bit for bit.
 *
 * The settings are read in train-settings.ts, the data split and batched in train-data.ts.
 */
import { TrainingAbortedError } from './aborted.ts';
import { outputActivationOf } from './architecture.ts';
import { backwardPropagation } from './backward.ts';
import { COSTS, l2Cost } from './costs.ts';
import { copyWeights, EarlyStopping } from './early-stopping.ts';
import { DivergenceError } from './errors.ts';
import { forwardPropagation } from './forward.ts';
import { heldOutScore } from './held-out-score.ts';
import { parallelSettings } from './kernels-parallel.ts';
import type { Matrix } from './matrix.ts';
import type { Network } from './network.ts';
import { readParameters } from './network.ts';
import { createOptimizer } from './optimizers.ts';
import { planUpdates } from './plan.ts';
import { Rng } from './rng.ts';
import { type Memory, privateMemory } from './shared-memory.ts';
import type { ThreadPool } from './threads.ts';
import { fullBatches, miniBatches, splitSamples } from './train-data.ts';
import { createParallelPass } from './train-parallel.ts';
import { readSettings, readStartIteration, type Settings } from './train-settings.ts';
import { withThreads } from './train-threads.ts';
import type { TrainingCheckpoint, TrainOptions, TrainResult } from './train-types.ts';
import { fail, isMatrix, type MatrixInput, readX, readY } from './validate.ts';
import { createWorkspace, type Workspace } from './workspace.ts';

export type {
  EarlyStoppingState,
  SampleSplit,
  TrainIteration,
  TrainingCheckpoint,
  TrainOptions,
  TrainProgress,
  TrainResult,
} from './train-types.ts';

/**
 * Train `net` in place on X: (n[0], m) and Y: (n[L], m) (nested arrays or Matrix objects; a
 * Matrix of the network's dtype is used without a copy). See `TrainOptions`; throws
 * `DivergenceError` when the cost stops being finite, `TrainingAbortedError` when `signal` aborts
 * or `onIteration` says 'stop', `NnInputError` on bad input (and then leaves `net` unchanged).
 */
export function train(net: Network, X: MatrixInput, Y: MatrixInput, options: TrainOptions): TrainResult {
  const settings = readSettings(options, 'train');
  if (settings.threads === 1 || passWork(net, X, options) <= parallelSettings.minWork) {
    return trainIn(privateMemory, null, net, X, Y, options, settings);
  }
  return withThreads(net, settings.threads, ({ memory, samples }) =>
    trainIn(memory, samples, net, X, Y, options, settings),
  );
}

/** Multiply-adds of one forward pass over a batch (0 when X is not a matrix: trainIn refuses it). */
function passWork(net: Network, X: MatrixInput, options: TrainOptions): number {
  const m = isMatrix(X) ? X.cols : Array.isArray(X) && Array.isArray(X[0]) ? X[0].length : 0;
  const batch = Math.min(options.batchSize ?? m, m);
  const sizes = net.sizes;
  let perSample = 0;
  for (let l = 1; l < sizes.length; l++) perSample += sizes[l]! * sizes[l - 1]!;
  return batch * perSample;
}

/**
 * train, with its data and buffers in `memory` (shared when threads share the products), and the
 * helpers that share each update's samples, if any.
 */
function trainIn(
  memory: Memory,
  samples: ThreadPool | null,
  net: Network,
  X: MatrixInput,
  Y: MatrixInput,
  options: TrainOptions,
  settings: Settings,
): TrainResult {
  const op = 'train';
  const { h, lambda } = settings;
  const { layers, dtype } = net;
  const L = layers.length;
  const output = outputActivationOf(layers);
  const cost = COSTS[output].cost;
  const initial =
    options.parameters === undefined
      ? undefined
      : readParameters(options.parameters, net.inputSize, layers, dtype, op);

  // ---- data ----
  const Xall = readX(X, net.inputSize, op, dtype);
  const Yall = readY(Y, layers[L - 1]!, Xall.cols, op, dtype);
  // The split sizes, batches, N and k: the same numbers the API planned the job with.
  const plan = planUpdates(Xall.cols, options, op);
  const { updates: N, costEvery } = plan;
  const rng = new Rng(settings.seed);
  const data = splitSamples(Xall, Yall, plan, rng, memory);
  const mt = plan.trainSamples;

  // ---- starting state (fresh or resumed) ----
  const start = readStartIteration(options, plan, settings, op);
  const shuffler = options.rngState === undefined ? rng : Rng.fromState(options.rngState);
  const optimizer = createOptimizer(settings.optimizer, net.weights, h, dtype, options.optimizerState, op);
  const saved = options.earlyStoppingState;
  const savedBest = saved?.bestParameters ?? null;
  const early = new EarlyStopping(
    settings.patience,
    saved === undefined
      ? undefined
      : {
          ...saved,
          // Check that the saved best parameters fit the network, and own a copy.
          bestParameters:
            savedBest === null
              ? null
              : copyWeights(readParameters(savedBest, net.inputSize, layers, dtype, op)),
        },
  );

  // Every check has passed: from here on the network changes.
  if (initial !== undefined) {
    for (let l = 1; l <= L; l++) {
      net.weights.W[l]!.data.set(initial.W[l]!.data);
      net.weights.b[l]!.data.set(initial.b[l]!.data);
    }
  }

  // ---- buffers, allocated once ----
  const shape = { inputSize: net.inputSize, layers, dtype, memory };
  const batches = plan.fullBatch
    ? fullBatches(data, shape, shuffler)
    : miniBatches(data, shape, plan, shuffler, start);
  const { validation } = data;
  const validationWs =
    validation === undefined
      ? undefined
      : createWorkspace(net.inputSize, layers, validation.X.cols, dtype, false, memory.zeros);

  const costs: number[] = [];
  const costIterations: number[] = [];
  const validationCosts: number[] = [];
  const diverged = (i: number, J: number): never => {
    throw new DivergenceError(i, J, h.learningRate, costs.slice(), costIterations.slice());
  };
  /** J(X, Y) of the current parameters, from a forward pass into ws. */
  const datasetCost = (Xm: Matrix, Ym: Matrix, ws: Workspace) => {
    forwardPropagation(Xm, net.weights, layers, ws);
    return cost(ws.Z[L]!, ws.A[L]!, Ym);
  };
  const checkpointAt = (i: number): TrainingCheckpoint => ({
    startIteration: i,
    parameters: copyWeights(net.weights),
    optimizerState: optimizer.state(),
    rngState: batches.rngStateAt(i),
    earlyStoppingState: early.state(),
  });

  /**
   * J_i with its L2 term, and the validation cost and score (held-out-score.ts), at a recorded
   * iteration. `J` is the training set's J_i when the loop already has it (full-batch gradient
   * descent), else it is computed.
   */
  const record = (i: number, J: number | undefined) => {
    let Ji = J ?? datasetCost(data.X, data.Y, batches.trainingSetWs);
    if (!Number.isFinite(Ji)) diverged(i, Ji);
    Ji += l2Cost(net.weights.W, lambda, mt);
    if (!Number.isFinite(Ji)) diverged(i, Ji);
    costs.push(Ji);
    costIterations.push(i);
    if (validation === undefined || validationWs === undefined) {
      return { cost: Ji, validationCost: undefined, validationAccuracy: undefined, validationMse: undefined };
    }
    const V = datasetCost(validation.X, validation.Y, validationWs);
    if (!Number.isFinite(V)) diverged(i, V);
    validationCosts.push(V);
    // The same forward pass's output: validationWs.A[L] holds it.
    const score = heldOutScore(validationWs.A[L]!, validation.Y, output);
    early.evaluate(i, V, net.weights);
    return {
      cost: Ji,
      validationCost: V,
      validationAccuracy: 'accuracy' in score ? score.accuracy : undefined,
      validationMse: 'mse' in score ? score.mse : undefined,
    };
  };

  /** Calls `call` with a checkpoint function that works only while the call runs. */
  const withCheckpoint = <T>(
    i: number,
    during: string,
    call: (checkpoint: () => TrainingCheckpoint) => T,
  ): T => {
    let live = true;
    try {
      return call(() => {
        if (!live) fail(`${op}: checkpoint() is only valid during the ${during} call`);
        return checkpointAt(i);
      });
    } finally {
      live = false;
    }
  };

  /**
   * The state between updates, after i of them: the cost recorded when due, the caller told.
   * Returns true when training ends here (the last update, or early stopping); throws
   * TrainingAbortedError when the caller asks to stop before the next update.
   */
  const between = (i: number, J: number | undefined): boolean => {
    const last = i === N;
    const recorded = last || (i % costEvery === 0 && (i > start || start === 0)) ? record(i, J) : undefined;
    const { onProgress, onIteration } = options;
    if (recorded !== undefined && onProgress !== undefined) {
      withCheckpoint(i, 'onProgress', (checkpoint) =>
        onProgress({ iteration: i, iterations: N, ...recorded, checkpoint }),
      );
    }
    const answer =
      onIteration === undefined
        ? 'continue'
        : withCheckpoint(i, 'onIteration', (checkpoint) =>
            onIteration({
              iteration: i,
              iterations: N,
              cost: recorded?.cost,
              validationCost: recorded?.validationCost,
              validationAccuracy: recorded?.validationAccuracy,
              validationMse: recorded?.validationMse,
              checkpoint,
            }),
          );
    // Patience runs out at a recorded cost, and the run ends there; a run resumed from a
    // checkpoint taken at that moment ends at once too.
    if (early.exhausted) stoppedEarly = true;
    if (last || stoppedEarly) return true;
    if (answer === 'stop' || options.signal?.aborted) {
      throw new TrainingAbortedError(i, costs.slice(), costIterations.slice(), checkpointAt(i));
    }
    return false;
  };

  // With helper threads, each update's forward and backward passes run over blocks of its samples.
  const parallel =
    samples === null ? null : createParallelPass(samples, net.inputSize, layers, net.weights, dtype);
  let stoppedEarly = false;
  let i = start;
  for (; i < N; i++) {
    const { X: Xb, Y: Yb, ws } = batches.batch(i);
    let J: number;
    if (parallel === null) {
      forwardPropagation(Xb, net.weights, layers, ws); // AL = forward(X_batch)
      J = cost(ws.Z[L]!, ws.A[L]!, Yb); // J = cost(AL, Y_batch)
    } else {
      J = parallel.run(Xb, Yb, ws, lambda, plan.fullBatch); // J, and grads into ws, over the threads' blocks
    }
    if (!Number.isFinite(J)) diverged(i, J);
    // Between two updates: J_i recorded when due (for a full batch it is this J), the caller asked.
    if (between(i, plan.fullBatch ? J : undefined)) break;
    if (parallel === null) backwardPropagation(Yb, net.weights, layers, ws, lambda); // grads = backward(AL, Y_batch)
    optimizer.update(net.weights, ws.dW, ws.db); // θ = update(θ, grads)
  }
  // After the last update (unless early stopping ended the run there): J_N, and the caller asked.
  if (!stoppedEarly) between(N, undefined);

  let finalCost = costs[costs.length - 1] ?? Number.NaN;
  if (stoppedEarly && early.bestParameters !== null) {
    net.setParameters(early.bestParameters);
    finalCost = datasetCost(data.X, data.Y, batches.trainingSetWs) + l2Cost(net.weights.W, lambda, mt);
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
    bestIteration: validation === undefined ? undefined : early.bestIteration,
    bestValidationCost: validation === undefined ? undefined : early.bestValidationCost,
    split: data.split,
  };
}
