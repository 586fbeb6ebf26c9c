/**
 * A job's planned numbers are nn's: the progress total the API reports, its costEvery and the
 * training-work limit count the updates that nn's train really makes on the job's samples.
 * (Before, the API held out floor(m·split) samples and nn round(m·split): with 10 samples, split
 * 0.25, batch 7 and 1 epoch the API planned and limited 2 updates while nn made 1.)
 */
import { PlannedTraining, type Training } from '@backprop/contracts';
import { Network, type NetworkSpec, train } from '@backprop/nn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext } from '../../../harness/api-context.ts';
import { createdId, expectError, postJson } from './support.ts';

let ctx: ApiContext;
let networkId: string;
const datasets = new Map<number, { id: string; X: number[][]; Y: number[][] }>();

/** A binary dataset of m samples, stored through the API, and the same data as nn's X and Y. */
async function dataset(m: number) {
  const known = datasets.get(m);
  if (known) return known;
  const features = Array.from({ length: m }, (_, i) => [i, (i * 7) % 5]);
  const labels = Array.from({ length: m }, (_, i) => i % 2);
  const made = {
    id: await createdId(ctx, '/v1/datasets', { features, labels, task: 'binary' }),
    X: [features.map((r) => r[0]!), features.map((r) => r[1]!)],
    Y: [labels],
  };
  datasets.set(m, made);
  return made;
}

/** The network the jobs train, stored through the API and built here for nn alike. */
const SMALL: NetworkSpec = {
  inputSize: 2,
  layers: [
    { units: 2, activation: 'tanh' },
    { units: 1, activation: 'sigmoid' },
  ],
};

/** What nn's train does with the training options the job stored (as the worker passes them). */
function nnRun(X: number[][], Y: number[][], t: Training & { seed: number; costEvery: number }) {
  const net = Network.create({ ...SMALL, seed: 1 });
  return train(net, X, Y, {
    learningRate: t.learningRate,
    ...(t.iterations !== undefined ? { iterations: t.iterations } : { epochs: t.epochs! }),
    ...(t.batchSize !== undefined ? { batchSize: t.batchSize } : {}),
    validationSplit: t.validationSplit,
    seed: t.seed,
    costEvery: t.costEvery,
  });
}

beforeAll(async () => {
  ctx = await createApiContext({ LIMIT_TRAINING_WORK: '100000', LIMIT_TENANT_ACTIVE_JOBS: '1000' });
  networkId = await createdId(ctx, '/v1/networks', { name: 'small', ...SMALL });
});

afterAll(async () => {
  await ctx?.close();
});

const cases: [string, number, Partial<Training>][] = [
  [
    '10 samples, split 0.25, batch 7, 1 epoch (the issue)',
    10,
    { validationSplit: 0.25, batchSize: 7, epochs: 1 },
  ],
  ['10 samples, split 0.25, batch 3, 2 epochs', 10, { validationSplit: 0.25, batchSize: 3, epochs: 2 }],
  [
    '100 samples, split 0.29 (m·split is 28.999...), batch 71, 3 epochs',
    100,
    { validationSplit: 0.29, batchSize: 71, epochs: 3 },
  ],
  [
    '10 samples, split 0.05 (rounds to 1 held out), batch 9, 2 epochs',
    10,
    { validationSplit: 0.05, batchSize: 9, epochs: 2 },
  ],
  ['2 samples, batch 1, 3 epochs', 2, { batchSize: 1, epochs: 3 }],
  ['10 samples, no split, batch = training samples, 2 epochs', 10, { batchSize: 10, epochs: 2 }],
  ['10 samples, iterations with mini-batches', 10, { batchSize: 4, iterations: 7 }],
  ['10 samples, 250 iterations, default costEvery', 10, { iterations: 250 }],
];

describe('a job reports the updates nn makes', () => {
  for (const [name, m, training] of cases) {
    it(name, async () => {
      const data = await dataset(m);
      const res = await postJson(ctx, '/v1/jobs', {
        datasetId: data.id,
        networkId,
        training: { learningRate: 0.1, normalize: 'none', ...training },
      });
      expect(res.statusCode, res.body).toBe(202);
      const job = res.json();
      const run = nnRun(data.X, data.Y, job.training);
      expect(job.progress).toEqual({ iteration: 0, iterations: run.plannedIterations });
      expect(run.iterations).toBe(run.plannedIterations);
      expect(job.training.costEvery).toBe(run.costEvery);
      // The stored plan (what the worker parses) carries the run nn made, number for number;
      // the answer shows the options only.
      const row = await ctx.database.db.trainingJob.findUniqueOrThrow({ where: { id: job.id } });
      expect(PlannedTraining.parse(row.training).run).toEqual({
        samples: m,
        validationSamples: run.split?.validation.length ?? 0,
        trainSamples: run.split?.training.length ?? m,
        batchSize: Math.min(training.batchSize ?? m, run.split?.training.length ?? m),
        updates: run.iterations,
        costPoints: run.costs.length,
      });
      expect(job.training).not.toHaveProperty('run');
    });
  }
});

describe('the training-work limit counts the samples nn trains on', () => {
  it('admits the issue case at a limit of exactly 1 update × 7 samples, and refuses it at 6', async () => {
    const training = { learningRate: 0.1, validationSplit: 0.25, batchSize: 7, epochs: 1 };
    const { X, Y } = await dataset(10);
    /** POST the 10-sample dataset, a network and the job to an API with this work limit. */
    const jobUnderLimit = async (limit: number) => {
      const api = await createApiContext({ LIMIT_TRAINING_WORK: String(limit) });
      try {
        const created = async (url: string, payload: Record<string, unknown>) => {
          const res = await api.app.inject({ method: 'POST', url, payload });
          expect(res.statusCode, res.body).toBe(201);
          return res.json().id;
        };
        const datasetId = await created('/v1/datasets', {
          features: X[0]!.map((x, j) => [x, X[1]![j]!]),
          labels: Y[0],
        });
        const networkId = await created('/v1/networks', {
          name: 'n',
          inputSize: 2,
          layers: [{ units: 1, activation: 'sigmoid' }],
        });
        return await api.app.inject({
          method: 'POST',
          url: '/v1/jobs',
          payload: { datasetId, networkId, training },
        });
      } finally {
        await api.close();
      }
    };
    const admitted = await jobUnderLimit(7);
    expect(admitted.statusCode, admitted.body).toBe(202);
    expect(admitted.json().progress.iterations).toBe(1);
    const refused = expectError(await jobUnderLimit(6), 422, 'BP_ERR_LIMIT_EXCEEDED');
    expect(refused.message).toContain('LIMIT_TRAINING_WORK');
  });

  it('a split that holds out no sample is a 422 naming training.validationSplit', async () => {
    const data = await dataset(10);
    const res = await postJson(ctx, '/v1/jobs', {
      datasetId: data.id,
      networkId,
      training: { learningRate: 0.1, iterations: 3, validationSplit: 0.04 },
    });
    const body = expectError(res, 422, 'BP_ERR_INCOMPATIBLE');
    expect(body.message).toBe(
      'training.validationSplit: validationSplit 0.04 of 10 samples holds out no sample (round(10·0.04) = 0)',
    );
    expect(body.details).toEqual({ field: 'training.validationSplit' });
  });
});
