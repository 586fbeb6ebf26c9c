/**
 * The training thread: builds X and Y from the dataset, normalises, and runs @backprop/nn's
 * train loop, reporting progress, checkpoints and the result to the main thread. It touches no
 * database and no network; it only computes.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Normalization } from '@backprop/contracts';
import {
  DivergenceError,
  deserializeCheckpoint,
  type Matrix,
  Network,
  NnInputError,
  oneHot,
  serializeCheckpoint,
  TrainingAbortedError,
  type TrainProgress,
  train,
} from '@backprop/nn';
import { CONTROL_CHECKPOINT, type ModelMetrics, type ThreadMessage, type TrainRequest } from './protocol.ts';

const port = parentPort!;
const request = (workerData as { request: TrainRequest }).request;
const control = new Int32Array(request.control);
const post = (message: ThreadMessage, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

/** Statistics over all samples; a constant feature divides by 1 instead of 0. */
function normalizationOf(req: TrainRequest): Normalization {
  const { x, samples: m, features: n } = req;
  const kind = req.training.normalize;
  if (kind === 'none') return { kind };
  const mean = new Array<number>(n).fill(0);
  const min = new Array<number>(n).fill(Number.POSITIVE_INFINITY);
  const max = new Array<number>(n).fill(Number.NEGATIVE_INFINITY);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const v = x[i * n + j]!;
      mean[j]! += v / m;
      if (v < min[j]!) min[j] = v;
      if (v > max[j]!) max[j] = v;
    }
  }
  if (kind === 'minmax') return { kind, min, max: max.map((hi, j) => (hi > min[j]! ? hi : min[j]! + 1)) };
  const variance = new Array<number>(n).fill(0);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) variance[j]! += (x[i * n + j]! - mean[j]!) ** 2 / m;
  }
  return { kind, mean, std: variance.map((v) => (v > 0 ? Math.sqrt(v) : 1)) };
}

/** X: (n, m), one column per sample, normalised, from rows of raw features. */
function inputMatrix(req: TrainRequest, norm: Normalization): Matrix {
  const { x, samples: m, features: n } = req;
  const X = new Float64Array(n * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const v = x[i * n + j]!;
      X[j * m + i] =
        norm.kind === 'standard'
          ? (v - norm.mean[j]!) / norm.std[j]!
          : norm.kind === 'minmax'
            ? (v - norm.min[j]!) / (norm.max[j]! - norm.min[j]!)
            : v;
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
  if (training.initialParameters && !req.resume) {
    return Network.fromParameters({ ...network, parameters: training.initialParameters });
  }
  return Network.create({
    ...network,
    init: network.init as 'random' | 'xavier' | 'he',
    seed: training.seed,
  });
}

function metricsOf(
  net: Network,
  X: Matrix,
  Y: Matrix,
  finalCost: number,
  iterations: number,
  req: TrainRequest,
): ModelMetrics {
  const metrics: ModelMetrics = { finalCost, iterations };
  if (req.task === 'regression') {
    // A Matrix in gives a Matrix out: AL is (1, m).
    const AL = net.forward(X) as Matrix;
    let sum = 0;
    for (let i = 0; i < AL.cols; i++) sum += (AL.data[i]! - Y.data[i]!) ** 2;
    metrics.trainMse = sum / AL.cols;
  } else {
    metrics.trainAccuracy = net.accuracy(X, Y);
  }
  return metrics;
}

function run(): void {
  const req = request;
  const t = req.training;
  const normalization = req.resume ? req.resume.state.normalization : normalizationOf(req);
  const X = inputMatrix(req, normalization);
  const Y = targetMatrix(req);
  const net = buildNetwork(req);
  const resume = req.resume ? deserializeCheckpoint(req.resume.snapshot) : null;

  // The history so far (from the checkpoint) and its iterations; new entries are appended.
  const costs: number[] = req.resume ? Array.from(req.resume.costs) : [];
  let lastProgressAt = Date.now();
  let lastCheckpointAt = Date.now();
  // Polled by train between iterations: the main thread's event loop cannot reach this loop.
  const signal = {
    get aborted() {
      return Atomics.load(control, CONTROL_CHECKPOINT) === 1;
    },
  };

  const checkpointMessage = (iteration: number, snapshot: Uint8Array): ThreadMessage => ({
    type: 'checkpoint',
    iteration,
    snapshot,
    state: { normalization },
    costs: Float64Array.from(costs),
  });

  const onProgress = (p: TrainProgress) => {
    costs.push(p.cost);
    const now = Date.now();
    if (now - lastProgressAt >= req.progressEveryMs || p.iteration === p.iterations) {
      lastProgressAt = now;
      post({ type: 'progress', iteration: p.iteration, cost: p.cost, costs: Float64Array.from(costs) });
    }
    // The last one too: if saving the model fails, a retry resumes here instead of retraining.
    if (now - lastCheckpointAt >= req.checkpointEveryMs || p.iteration === p.iterations) {
      lastCheckpointAt = now;
      post(checkpointMessage(p.iteration, serializeCheckpoint(p.checkpoint())));
    }
  };

  try {
    const result = train(net, X, Y, {
      learningRate: t.learningRate,
      ...(t.iterations !== undefined ? { iterations: t.iterations } : { epochs: t.epochs! }),
      ...(t.batchSize !== undefined ? { batchSize: t.batchSize } : {}),
      optimizer: t.optimizer,
      l2: t.l2,
      seed: t.seed,
      costEvery: t.costEvery,
      validationSplit: t.validationSplit,
      ...(t.earlyStopping ? { earlyStopping: t.earlyStopping } : {}),
      signal,
      onProgress,
      ...(resume ?? {}),
    });
    const metrics = metricsOf(net, X, Y, result.finalCost, result.iterations, req);
    if (result.bestValidationCost !== undefined) metrics.validationCost = result.bestValidationCost;
    const flat = packNetwork(net);
    post(
      {
        type: 'done',
        iteration: result.iterations,
        cost: result.finalCost,
        costs: Float64Array.from(costs),
        parameters: flat,
        normalization,
        metrics,
      },
      [flat.buffer as ArrayBuffer],
    );
  } catch (err) {
    if (err instanceof TrainingAbortedError) {
      post(checkpointMessage(err.checkpoint.startIteration, serializeCheckpoint(err.checkpoint)));
      post({ type: 'released' });
      return;
    }
    if (err instanceof DivergenceError) {
      post({ type: 'failed', code: 'BP_ERR_DIVERGED', message: err.message });
      return;
    }
    if (err instanceof NnInputError) {
      post({ type: 'failed', code: 'BP_ERR_BAD_DATA', message: err.message });
      return;
    }
    throw err;
  }
}

/** W1, b1, ..., WL, bL concatenated (the model's storage layout). */
function packNetwork(net: Network): Float64Array {
  const matrices = net.parameterMatrices();
  const parts: Matrix[] = [];
  for (let l = 1; l <= net.depth; l++) parts.push(matrices[`W${l}`]!, matrices[`b${l}`]!);
  const flat = new Float64Array(parts.reduce((n, p) => n + p.data.length, 0));
  let offset = 0;
  for (const p of parts) {
    flat.set(p.data, offset);
    offset += p.data.length;
  }
  return flat;
}

run();
