/**
 * What a worker does, done by hand with the db package's own functions: tests that need a model
 * without training one claim a job and complete it with weights they choose, so every prediction
 * can be computed by hand.
 */
import { Layer } from '@backprop/contracts';
import { claimJob, completeJob, type Db, type LayerSpec, type Prisma, type Task } from '@backprop/db';
import { Network, type NetworkParameters, serializeBinary } from '@backprop/nn';
import { assert } from 'vitest';
import type { ApiContext } from '../../../harness/api-context.ts';
import { createdId } from './support.ts';

/**
 * A model's bytes as the worker stores them (@backprop/nn's binary network format): the given
 * weights, or every weight and bias equal to `fill`.
 */
function networkBytes(
  inputSize: number,
  layers: readonly unknown[],
  weights: NetworkParameters | number = 0,
): Uint8Array {
  const spec = { inputSize, layers: Layer.array().parse(layers) };
  if (typeof weights !== 'number') {
    return serializeBinary(Network.fromParameters({ ...spec, parameters: weights }));
  }
  const net = Network.create(spec);
  for (let l = 1; l <= net.depth; l++) {
    net.weights.W[l]!.data.fill(weights);
    net.weights.b[l]!.data.fill(weights);
  }
  return serializeBinary(net);
}

export interface ModelByHand {
  inputSize: number;
  layers: LayerSpec[];
  /** the weights and biases: these matrices (W1, b1, ...), or every one equal to this number; default 0 */
  parameters?: NetworkParameters | number;
  /** default 'binary' */
  task?: Task;
  /** default [0, 1], or null for a regression */
  classes?: (string | number)[] | null;
  /** default { kind: 'none' } */
  normalization?: Prisma.InputJsonObject;
  /** the cost history; the last one is the final cost. Default [0.7, 0.5] */
  costs?: number[];
  /** iterations done; default the job's planned iterations */
  iteration?: number;
  /** default { finalCost, iterations }, taken from the costs and the iteration */
  metrics?: Prisma.InputJsonObject;
}

const defaultClasses = (task: Task) => (task === 'regression' ? null : [0, 1]);

/** Claims the job as a worker would, asserting the claim succeeded. */
export async function claimByHand(db: Db, jobId: string) {
  const claimed = await claimJob(db, { jobId, workerId: 'test', leaseMs: 60_000 });
  assert.isNotNull(claimed, `claim of job ${jobId}`);
  return claimed;
}

/** Completes a claimed job with this model, asserting the completion succeeded; returns the model's id. */
export async function completeClaimed(
  db: Db,
  claimed: { job: { id: string; iterations: number }; attempt: number },
  model: ModelByHand,
): Promise<string> {
  const { inputSize, layers, task = 'binary', costs = [0.7, 0.5] } = model;
  const cost = costs.at(-1) ?? null;
  const iteration = model.iteration ?? claimed.job.iterations;
  const done = await completeJob(db, {
    jobId: claimed.job.id,
    attempt: claimed.attempt,
    iteration,
    cost,
    costs: Float64Array.from(costs),
    model: {
      inputSize,
      layers,
      task,
      classes: model.classes === undefined ? defaultClasses(task) : model.classes,
      parameters: networkBytes(inputSize, layers, model.parameters),
      normalization: model.normalization ?? { kind: 'none' },
      metrics: model.metrics ?? { finalCost: cost, iterations: iteration },
    },
  });
  assert.isNotNull(done, `completion of job ${claimed.job.id}`);
  return done.modelId;
}

/** Claims the job and completes it with this model, as a worker would; returns the model's id. */
export async function completeByHand(db: Db, jobId: string, model: ModelByHand): Promise<string> {
  return completeClaimed(db, await claimByHand(db, jobId), model);
}

export interface StoredModelSpec extends Omit<ModelByHand, 'inputSize' | 'costs' | 'iteration'> {
  features: number[][];
  labels: (string | number)[];
  /** the job's training option; omitted: the API's default */
  normalize?: 'standard' | 'minmax' | 'none';
}

export interface StoredModel {
  datasetId: string;
  networkId: string;
  jobId: string;
  modelId: string;
}

/**
 * Dataset, network and a 3-iteration job through the API; the job completed by hand with this
 * model (costs 0.7, 0.5, 0.25).
 */
export async function storeModel(ctx: ApiContext, spec: StoredModelSpec): Promise<StoredModel> {
  const { features, labels, normalize, ...model } = spec;
  const inputSize = features[0]!.length;
  const datasetId = await createdId(ctx, '/v1/datasets', { features, labels });
  const networkId = await createdId(ctx, '/v1/networks', { inputSize, layers: model.layers });
  const training = { learningRate: 0.1, iterations: 3, costEvery: 1, ...(normalize ? { normalize } : {}) };
  const jobId = await createdId(ctx, '/v1/jobs', { datasetId, networkId, training }, 202);
  const modelId = await completeByHand(ctx.database.db, jobId, {
    ...model,
    inputSize,
    costs: [0.7, 0.5, 0.25],
  });
  return { datasetId, networkId, jobId, modelId };
}
