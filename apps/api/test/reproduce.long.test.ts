/**
 * Receipts and reproduction with a real worker: a planar job (mini-batches, so shuffles, a
 * validation split and Adam) is reproduced with POST /v1/jobs/:id/reproduce, and the new model's
 * weights are bit-identical to the original's; the receipt names what made the model.
 */
import { ensureDatasetContentHash } from '@backprop/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext } from '../../../harness/api-context.ts';
import { uploadPlanar } from '../../../harness/api-fixtures.ts';
import type { WorkerProcess } from '../../../harness/processes.ts';
import { createdId, expectError, UNKNOWN_ID } from './support.ts';
import { startTestWorker, type TrainedModel, trainModel, waitForModel } from './trained.ts';

let ctx: ApiContext;
let worker: WorkerProcess;
let original: TrainedModel;

const get = async (url: string) => {
  const res = await ctx.app.inject({ method: 'GET', url });
  expect(res.statusCode, `${url} ${res.body}`).toBe(200);
  return res.json();
};

/** Every parameter as the hex of its float64 bits. */
async function parameterBits(modelId: string): Promise<Record<string, string>> {
  const params: Record<string, number[][]> = await get(`/v1/models/${modelId}/parameters`);
  return Object.fromEntries(
    Object.entries(params).map(([k, rows]) => [
      k,
      Buffer.from(Float64Array.from(rows.flat()).buffer).toString('hex'),
    ]),
  );
}

beforeAll(async () => {
  ctx = await createApiContext();
  worker = startTestWorker(ctx);
  const planar = await uploadPlanar(ctx.app);
  const network = await createdId(ctx, '/v1/networks', {
    inputSize: 2,
    layers: [
      { units: 4, activation: 'tanh' },
      { units: 1, activation: 'sigmoid' },
    ],
  });
  original = await trainModel(ctx, planar, network, {
    learningRate: 0.01,
    epochs: 20,
    batchSize: 32,
    optimizer: 'adam',
    validationSplit: 0.2,
  });
});

afterAll(async () => {
  await worker?.killHard();
  await ctx?.close();
});

describe('POST /v1/jobs/:id/reproduce', () => {
  it('starts the same plan again, and the new model has bit-identical weights', async () => {
    const res = await ctx.app.inject({ method: 'POST', url: `/v1/jobs/${original.jobId}/reproduce` });
    expect(res.statusCode, res.body).toBe(202);
    const job = res.json();
    expect(job.id).not.toBe(original.jobId);
    expect(res.headers['location']).toBe(`/v1/jobs/${job.id}`);
    const first = await get(`/v1/jobs/${original.jobId}`);
    expect(job.training).toEqual(first.training); // the seed included
    const again = await waitForModel(ctx, job.id, original.datasetId, original.networkId);
    expect(again.modelId).not.toBe(original.modelId);
    const before = await parameterBits(original.modelId);
    expect(Object.keys(before)).toEqual(['W1', 'b1', 'W2', 'b2']);
    expect(await parameterBits(again.modelId)).toEqual(before);
    expect((await get(`/v1/jobs/${job.id}/costs`)).costs).toEqual(
      (await get(`/v1/jobs/${original.jobId}/costs`)).costs,
    );
  });

  it("another tenant's job and a missing one are 404 alike", async () => {
    const other = await ctx.createTenantKey('reproduce-other');
    const res = await ctx.app.inject({
      method: 'POST',
      url: `/v1/jobs/${original.jobId}/reproduce`,
      headers: { authorization: `Bearer ${other.apiKey}` },
    });
    expectError(res, 404, 'BP_ERR_JOB_NOT_FOUND');
    expectError(
      await ctx.app.inject({ method: 'POST', url: `/v1/jobs/${UNKNOWN_ID}/reproduce` }),
      404,
      'BP_ERR_JOB_NOT_FOUND',
    );
  });
});

describe('GET /v1/models/:id/receipt', () => {
  it('names the plan with its seed, the dataset, the network, versions, dtype, threads, times and costs', async () => {
    const receipt = await get(`/v1/models/${original.modelId}/receipt`);
    const job = await get(`/v1/jobs/${original.jobId}`);
    const network = await get(`/v1/networks/${original.networkId}`);
    const costs = await get(`/v1/jobs/${original.jobId}/costs`);
    expect(receipt.modelId).toBe(original.modelId);
    expect(receipt.job.plan).toEqual(job.training);
    expect(typeof receipt.job.plan.seed).toBe('number');
    expect(receipt.job.startedAt).toBe(job.startedAt);
    expect(receipt.job.finishedAt).toBe(job.finishedAt);
    expect(Date.parse(receipt.job.finishedAt)).toBeGreaterThanOrEqual(Date.parse(receipt.job.startedAt));
    expect(receipt.job.costs).toMatchObject({
      url: `/v1/jobs/${original.jobId}/costs`,
      recorded: costs.costs.length,
      costEvery: costs.costEvery,
    });
    expect(receipt.dataset).toMatchObject({
      id: original.datasetId,
      name: 'planar',
      samples: 400,
      features: 2,
    });
    expect(receipt.network).toMatchObject({
      id: original.networkId,
      inputSize: 2,
      layers: network.layers,
      init: network.init,
      parameterCount: 17,
    });
    expect(receipt.dtype).toBe(job.training.dtype ?? 'float64');
    expect(receipt.threads).toBe(job.training.threads ?? 1);
    expect(receipt.packages['@backprop/nn']).toMatch(/^\d+\.\d+\.\d+/);
    expect(receipt.packages.node).toBe(process.versions.node);

    // The content hash: of the stored values, the same for the same data uploaded again, kept.
    expect(receipt.dataset.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect((await get(`/v1/models/${original.modelId}/receipt`)).dataset.contentHash).toBe(
      receipt.dataset.contentHash,
    );
    const again = await uploadPlanar(ctx.app);
    expect(await ensureDatasetContentHash(ctx.database.db, ctx.tenantId, again)).toBe(
      receipt.dataset.contentHash,
    );
    const other = await createdId(ctx, '/v1/datasets', { features: [[1], [2]], labels: [0, 1] });
    const otherHash = await ensureDatasetContentHash(ctx.database.db, ctx.tenantId, other);
    expect(otherHash).toMatch(/^[0-9a-f]{64}$/);
    expect(otherHash).not.toBe(receipt.dataset.contentHash);
    expectError(
      await ctx.app.inject({ method: 'GET', url: `/v1/models/${UNKNOWN_ID}/receipt` }),
      404,
      'BP_ERR_MODEL_NOT_FOUND',
    );
  });
});
