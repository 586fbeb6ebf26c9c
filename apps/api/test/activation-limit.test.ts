/**
 * LIMIT_ACTIVATION_VALUES bounds the memory of one forward pass (samples × Σ units), the size a
 * training thread's activation matrices take and a prediction request's; the other limits bound
 * units and samples separately, whose product could still reach many gigabytes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext } from '../../../harness/api-context.ts';
import { completeByHand } from './by-hand.ts';

let ctx: ApiContext;
beforeAll(async () => {
  // 10 samples × (4 + 1) units = 50 activations fit; 11 samples or a 5-unit layer do not.
  ctx = await createApiContext({ LIMIT_ACTIVATION_VALUES: '50' });
});
afterAll(async () => ctx?.close());

const post = (url: string, payload: unknown) =>
  ctx.app.inject({ method: 'POST', url, payload: payload as object });
const rows = (n: number) => Array.from({ length: n }, (_, i) => [i, i + 1]);

async function dataset(samples: number): Promise<string> {
  const res = await post('/v1/datasets', {
    features: rows(samples),
    labels: rows(samples).map((_, i) => i % 2),
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

const layers = (hidden: number) => [
  { units: hidden, activation: 'tanh' },
  { units: 1, activation: 'sigmoid' },
];

async function network(hidden: number): Promise<string> {
  const res = await post('/v1/networks', { inputSize: 2, layers: layers(hidden) });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

describe('LIMIT_ACTIVATION_VALUES', () => {
  it('admits a job at the limit and refuses one past it, naming the limit, with nothing stored', async () => {
    const small = await network(4);
    const atLimit = await post('/v1/jobs', {
      datasetId: await dataset(10),
      networkId: small,
      training: { learningRate: 0.1, iterations: 5 },
    });
    expect(atLimit.statusCode, atLimit.body).toBe(202);

    const before = await ctx.database.db.trainingJob.count();
    for (const [datasetId, networkId, actual] of [
      [await dataset(11), small, 55],
      [await dataset(10), await network(5), 60],
    ] as const) {
      const res = await post('/v1/jobs', {
        datasetId,
        networkId,
        training: { learningRate: 0.1, iterations: 5 },
      });
      expect(res.statusCode).toBe(422);
      expect(res.json()).toMatchObject({
        code: 'BP_ERR_LIMIT_EXCEEDED',
        details: { limit: 'LIMIT_ACTIVATION_VALUES', actual, max: 50 },
      });
      expect(res.json().message).toContain('LIMIT_ACTIVATION_VALUES');
    }
    expect(await ctx.database.db.trainingJob.count()).toBe(before);
  });

  it('bounds a prediction request the same way', async () => {
    const job = await post('/v1/jobs', {
      datasetId: await dataset(4),
      networkId: await network(4),
      training: { learningRate: 0.1, iterations: 1, normalize: 'none' },
    });
    const modelId = await completeByHand(ctx.database.db, job.json().id, {
      inputSize: 2,
      layers: layers(4),
      parameters: {
        W1: [
          [0.1, 0.1],
          [0.1, 0.1],
          [0.1, 0.1],
          [0.1, 0.1],
        ],
        b1: [[0], [0], [0], [0]],
        W2: [[1, 1, 1, 1]],
        b2: [[0]],
      },
    });
    const url = `/v1/models/${modelId}/predictions`;
    expect((await post(url, { samples: rows(10) })).statusCode).toBe(200);
    const refused = await post(url, { samples: rows(11) });
    expect(refused.statusCode).toBe(422);
    expect(refused.json().details).toEqual({ limit: 'LIMIT_ACTIVATION_VALUES', actual: 55, max: 50 });
  });
});
