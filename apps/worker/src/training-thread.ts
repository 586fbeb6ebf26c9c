/**
 * The training thread: builds X and Y from the dataset, normalises, and runs @backprop/nn's
 * train loop, reporting progress, checkpoints and the result to the main thread. It touches no
 * database and no network; it only computes.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  columnStatistics,
  type Normalization,
  normalizationFor,
  normalizeFeature,
} from '@backprop/contracts';
import {
  DivergenceError,
  deserializeCheckpoint,
  type Matrix,
  Network,
  NnInputError,
  oneHot,
  planUpdates,
  selectColumns,
  serializeBinary,
  serializeCheckpoint,
  type TrainIteration,
  TrainingAbortedError,
  type TrainingCheckpoint,
  type TrainOptions,
  type TrainResult,
  train,
} from '@backprop/nn';
import { useHelperThreads } from './helper-threads.ts';
import { runMismatch } from './planned-run.ts';
import {
  CONTROL_CHECKPOINT,
  type ModelMetrics,
  type ThreadMessage,
  type TrainingThreadData,
  type TrainRequest,
} from './protocol.ts';
import { lowerOwnPriority } from './thread-priority.ts';
import { threadsOf } from './training-threads.ts';

const port = parentPort!;
const { request, helperEntry } = workerData as TrainingThreadData;
const control = new Int32Array(request.control);
const post = (message: ThreadMessage, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

/**
 * Statistics over all samples (contracts' columnStatistics: finite for any finite data); a
 * constant feature is only shifted (normalizeFeature), so X holds no NaN.
 */
function normalizationOf(req: TrainRequest): Normalization {
  const { x, samples: m, features: n } = req;
  const kind = req.training.normalize;
  return normalizationFor(kind, kind === 'none' ? [] : columnStatistics(x, m, n));
}

/** X: (n, m), one column per sample, normalised, from rows of raw features. */
function inputMatrix(req: TrainRequest, norm: Normalization): Matrix {
  const { x, samples: m, features: n } = req;
  const X = new Float64Array(n * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      X[j * m + i] = normalizeFeature(norm, j, x[i * n + j]!);
    }
  }
  return { rows: n, cols: m, data: X };
}

/** Y: (1, m) of 0/1 or values, or (K, m) one-hot for a softmax output. */
function targetMatrix(req: TrainRequest): Matrix {
  const output = req.network.layers.at(-1)!;
  if (output.activation === 'softmax') return oneHot(req.y, output.units);
  return { rows: 1, cols: req.samples, data: Float64Array.from(req.y) };
}

function buildNetwork(req: TrainRequest): Network {
  const { network, training } = req;
  // Plans stored before training.dtype existed trained in float64.
  const dtype = training.dtype ?? 'float64';
  if (training.initialParameters && !req.resume) {
    return Network.fromParameters({ ...network, parameters: training.initialParameters, dtype });
  }
  return Network.create({
    ...network,
    init: network.init,
    seed: training.seed,
    dtype,
  });
}

/** Regression: the mean squared error of the network's outputs on X against Y: (1, m). */
function meanSquaredError(net: Network, X: Matrix, Y: Matrix): number {
  // A Matrix in gives a Matrix out: AL is (1, m).
  const AL = net.forward(X);
  let sum = 0;
  for (let i = 0; i < AL.cols; i++) sum += (AL.data[i]! - Y.data[i]!) ** 2;
  return sum / AL.cols;
}

/**
 * The trained network's scores. With a validation split, the train scores are over the samples
 * the updates learned from only and the validation scores over the held-out ones (nn's split);
 * without one, the train scores are over every sample.
 */
function metricsOf(net: Network, X: Matrix, Y: Matrix, result: TrainResult, req: TrainRequest): ModelMetrics {
  const metrics: ModelMetrics = { finalCost: result.finalCost, iterations: result.iterations };
  const regression = req.task === 'regression';
  const score = (Xs: Matrix, Ys: Matrix) =>
    regression ? meanSquaredError(net, Xs, Ys) : net.accuracy(Xs, Ys);
  const scoreOn = (columns: Int32Array) => score(selectColumns(X, columns), selectColumns(Y, columns));
  const { split } = result;
  const trainScore = split === undefined ? score(X, Y) : scoreOn(split.training);
  const validationScore = split === undefined ? undefined : scoreOn(split.validation);
  if (regression) {
    metrics.trainMse = trainScore;
    if (validationScore !== undefined) metrics.validationMse = validationScore;
  } else {
    metrics.trainAccuracy = trainScore;
    if (validationScore !== undefined) metrics.validationAccuracy = validationScore;
  }
  // The lowest validation cost of this run (early stopping carries it across a resume).
  const bestValidation = result.bestValidationCost;
  if (bestValidation !== undefined && Number.isFinite(bestValidation))
    metrics.validationCost = bestValidation;
  // With a validation split: the iteration of that lowest cost (early stopping, when it stopped the
  // run, restored the parameters of that iteration).
  if (result.bestIteration !== undefined && result.bestIteration >= 0) {
    metrics.bestIteration = result.bestIteration;
    metrics.stoppedEarly = result.stoppedEarly;
  }
  return metrics;
}

function run(): void {
  const req = request;
  lowerOwnPriority(req.nice);
  useHelperThreads(helperEntry, req.nice);
  const t = req.training;
  const normalization = req.resume ? req.resume.state.normalization : normalizationOf(req);
  const X = inputMatrix(req, normalization);
  const Y = targetMatrix(req);
  const net = buildNetwork(req);
  const from: TrainingCheckpoint | null = req.resume ? deserializeCheckpoint(req.resume.snapshot) : null;
  const entry = from?.startIteration ?? 0;

  // The history so far (the checkpoint's: the row holds it already); new costs are appended.
  const costs: number[] = req.resume ? Array.from(req.resume.costs) : [];
  // With a validation split, two values per recorded cost (the validation cost, then the
  // accuracy or MSE), kept and sent like costs.
  const validationHistory: number[] = req.resume ? Array.from(req.resume.validationHistory) : [];
  let sentValidation = validationHistory.length;
  // For the live events: where each new cost was recorded, and the held-out cost with it.
  const costIterations: number[] = [];
  const validationCosts: number[] = [];
  /** How many of `costs` the main thread has been sent. */
  let sent = costs.length;
  let lastProgressAt = Date.now();
  let lastCheckpointAt = Date.now();

  const postProgress = (iteration: number) => {
    lastProgressAt = Date.now();
    post({
      type: 'progress',
      iteration,
      cost: costs.at(-1) ?? null,
      newCosts: Float64Array.from(costs.slice(sent)),
      newValidationHistory: Float64Array.from(validationHistory.slice(sentValidation)),
      newCostIterations: Float64Array.from(costIterations.splice(0)),
      newValidationCosts: Float64Array.from(validationCosts.splice(0)),
    });
    sent = costs.length;
    sentValidation = validationHistory.length;
  };
  const postCheckpoint = (checkpoint: TrainingCheckpoint) => {
    lastCheckpointAt = Date.now();
    post({
      type: 'checkpoint',
      iteration: checkpoint.startIteration,
      snapshot: serializeCheckpoint(checkpoint),
      state: { normalization },
      costs: Float64Array.from(costs),
      validationHistory: Float64Array.from(validationHistory),
    });
  };

  // train asks between every two updates, and this is where the clock lives: recorded costs come
  // every costEvery updates, which for a big network or a large costEvery can be minutes apart,
  // so progress and checkpoints go on time, from the exact state between two updates. The main
  // thread's release flag is read here too: this thread's event loop is blocked by the loop, so
  // shared memory is the only way in.
  const onIteration = (state: TrainIteration): 'continue' | 'stop' => {
    if (state.cost !== undefined) {
      if (req.injectThrow) {
        throw new Error('injected fault (BACKPROP_FAULT_INJECT=thread-throw): the training code threw');
      }
      // train records at the iteration it starts from only at 0 or at the end (a retry after the
      // result failed to save resumes from the final checkpoint): the checkpoint's history
      // already ends with that cost (the same bits), so it is not appended twice.
      if (!(req.resume && state.iteration === entry)) {
        costs.push(state.cost);
        if (state.validationCost !== undefined) {
          validationHistory.push(
            state.validationCost,
            state.validationAccuracy ?? state.validationMse ?? Number.NaN,
          );
        }
        costIterations.push(state.iteration);
        validationCosts.push(state.validationCost ?? Number.NaN);
      }
    }
    const last = state.iteration === state.iterations;
    // After the last update there is nothing left to hand back: the result is on its way.
    if (!last && Atomics.load(control, CONTROL_CHECKPOINT) === 1) return 'stop';
    const now = Date.now();
    if (last || now - lastProgressAt >= req.progressEveryMs) postProgress(state.iteration);
    // The last one too: if saving the model fails, a retry resumes here instead of retraining.
    if (last || now - lastCheckpointAt >= req.checkpointEveryMs) postCheckpoint(state.checkpoint());
    return 'continue';
  };

  const options: TrainOptions = {
    learningRate: t.learningRate,
    ...(t.iterations !== undefined ? { iterations: t.iterations } : { epochs: t.epochs! }),
    ...(t.batchSize !== undefined ? { batchSize: t.batchSize } : {}),
    optimizer: t.optimizer,
    // The stored plan holds the chosen optimiser's hyper-parameters (older rows may lack them:
    // nn's defaults then, as when they were planned).
    ...(t.beta !== undefined ? { beta: t.beta } : {}),
    ...(t.beta1 !== undefined ? { beta1: t.beta1 } : {}),
    ...(t.beta2 !== undefined ? { beta2: t.beta2 } : {}),
    ...(t.epsilon !== undefined ? { epsilon: t.epsilon } : {}),
    l2: t.l2,
    seed: t.seed,
    costEvery: t.costEvery,
    validationSplit: t.validationSplit,
    ...(t.earlyStopping ? { earlyStopping: t.earlyStopping } : {}),
    onIteration,
    threads: threadsOf(req),
  };

  const mismatch = runMismatch(t.run, planUpdates(req.samples, options));
  if (mismatch !== null) {
    post({ type: 'failed', code: 'BP_ERR_BAD_DATA', message: mismatch });
    return;
  }

  let result: TrainResult;
  try {
    result = train(net, X, Y, { ...options, ...(from ?? {}) });
  } catch (err) {
    if (err instanceof TrainingAbortedError) {
      // The release flag said stop: save where training is, and hand the job back.
      postCheckpoint(err.checkpoint);
      post({ type: 'released' });
      return;
    }
    if (err instanceof DivergenceError) {
      // The finite history up to the blow-up is what shows a client the divergence: write it
      // before the failure (the non-finite cost itself is never recorded).
      postProgress(err.iteration);
      post({ type: 'failed', code: 'BP_ERR_DIVERGED', message: err.message });
      return;
    }
    if (err instanceof NnInputError) {
      post({ type: 'failed', code: 'BP_ERR_BAD_DATA', message: err.message });
      return;
    }
    // Anything else is a bug or a resource failure: the thread dies and the main thread sees it.
    throw err;
  }

  const metrics = metricsOf(net, X, Y, result, req);
  const bytes = serializeBinary(net);
  post(
    {
      type: 'done',
      iteration: result.iterations,
      cost: result.finalCost,
      costs: Float64Array.from(costs),
      validationHistory: Float64Array.from(validationHistory),
      network: bytes,
      normalization,
      metrics,
    },
    [bytes.buffer],
  );
}

run();
