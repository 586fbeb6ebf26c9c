/**
 * The model registry end to end, with models a real worker trained: the model list and its
 * filters, names and versions, tags, aliases that predictions target (the URL stays while the
 * model behind it changes), and the rule that an aliased model is neither deleted nor renamed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext } from '../../../harness/api-context.ts';
import type { WorkerProcess } from '../../../harness/processes.ts';
import { createdId, expectError } from './support.ts';
import { startTestWorker, type TrainedModel, trainModel } from './trained.ts';

let ctx: ApiContext;
let worker: WorkerProcess;
let first: TrainedModel;
let second: TrainedModel;
let third: TrainedModel;
const SAMPLES = [
  [0.5, 1],
  [3, -2],
];

async function call(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown) {
  return ctx.app.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as object }) });
}

beforeAll(async () => {
  ctx = await createApiContext({ LIMIT_MODEL_TAGS: '3' });
  worker = startTestWorker(ctx);
  const features = Array.from({ length: 30 }, (_, i) => [i % 5, (i * 7) % 11]);
  const labels = features.map(([a, b]) => (a! + b! > 7 ? 1 : 0));
  const datasetA = await createdId(ctx, '/v1/datasets', { features, labels });
  const datasetB = await createdId(ctx, '/v1/datasets', { features, labels: labels.map((l) => 1 - l) });
  const network = await createdId(ctx, '/v1/networks', {
    inputSize: 2,
    layers: [
      { units: 3, activation: 'tanh' },
      { units: 1, activation: 'sigmoid' },
    ],
  });
  first = await trainModel(ctx, datasetA, network, { learningRate: 0.5, iterations: 50, seed: 1 });
  second = await trainModel(ctx, datasetA, network, { learningRate: 0.5, iterations: 50, seed: 2 });
  third = await trainModel(ctx, datasetB, network, { learningRate: 0.5, iterations: 50, seed: 3 });
});

afterAll(async () => {
  await worker?.killHard();
  await ctx?.close();
});

describe('GET /v1/models', () => {
  it('lists newest first, pages with a cursor, filters by job and dataset', async () => {
    const all = (await call('GET', '/v1/models')).json();
    expect(all.items.map((m: { id: string }) => m.id)).toEqual([
      third.modelId,
      second.modelId,
      first.modelId,
    ]);
    expect(all.nextCursor).toBeNull();

    const page1 = (await call('GET', '/v1/models?limit=2')).json();
    expect(page1.items).toHaveLength(2);
    const page2 = (await call('GET', `/v1/models?limit=2&cursor=${page1.nextCursor}`)).json();
    expect(page2.items.map((m: { id: string }) => m.id)).toEqual([first.modelId]);
    expect(page2.nextCursor).toBeNull();

    const byJob = (await call('GET', `/v1/models?jobId=${second.jobId}`)).json();
    expect(byJob.items.map((m: { id: string }) => m.id)).toEqual([second.modelId]);
    const byDataset = (await call('GET', `/v1/models?datasetId=${third.datasetId}`)).json();
    expect(byDataset.items.map((m: { id: string }) => m.id)).toEqual([third.modelId]);

    expectError(await call('GET', '/v1/models?cursor=nonsense'), 400, 'BP_ERR_VALIDATION');
    const wrongFilter = expectError(await call('GET', '/v1/models?datasetId=12'), 400, 'BP_ERR_VALIDATION');
    expect(wrongFilter.message).toMatch(/datasetId/);
  });

  it("another tenant's list is its own", async () => {
    const other = await ctx.createTenantKey('registry-other');
    const res = await ctx.app.inject({
      method: 'GET',
      url: '/v1/models',
      headers: { authorization: `Bearer ${other.apiKey}` },
    });
    expect(res.json().items).toEqual([]);
  });
});

describe('names, versions, tags and aliases', () => {
  it('numbers versions per name in order, filters by name and tag, refuses bad names and too many tags', async () => {
    const v1 = await call('PATCH', `/v1/models/${first.modelId}`, {
      name: 'flower',
      tags: ['baseline', 'baseline'],
    });
    expect(v1.statusCode, v1.body).toBe(200);
    expect(v1.json()).toMatchObject({ id: first.modelId, name: 'flower', version: 1, tags: ['baseline'] });
    const v2 = (await call('PATCH', `/v1/models/${second.modelId}`, { name: 'flower' })).json();
    expect(v2).toMatchObject({ name: 'flower', version: 2, tags: [] });
    // tags alone leave the name and version as they are
    const tagged = (await call('PATCH', `/v1/models/${second.modelId}`, { tags: ['candidate'] })).json();
    expect(tagged).toMatchObject({ name: 'flower', version: 2, tags: ['candidate'] });
    expect((await call('GET', `/v1/models/${second.modelId}`)).json()).toMatchObject({ version: 2 });

    const named = (await call('GET', '/v1/models?name=flower')).json();
    expect(named.items.map((m: { version: number }) => m.version)).toEqual([2, 1]);
    const byTag = (await call('GET', '/v1/models?tag=candidate')).json();
    expect(byTag.items.map((m: { id: string }) => m.id)).toEqual([second.modelId]);

    const badName = expectError(
      await call('PATCH', `/v1/models/${third.modelId}`, { name: 'has space' }),
      400,
      'BP_ERR_VALIDATION',
    );
    expect(badName.message).toMatch(/name/);
    expectError(await call('PATCH', `/v1/models/${third.modelId}`, {}), 400, 'BP_ERR_VALIDATION');
    const tooMany = expectError(
      await call('PATCH', `/v1/models/${third.modelId}`, { tags: ['a', 'b', 'c', 'd'] }),
      422,
      'BP_ERR_LIMIT_EXCEEDED',
    );
    expect(tooMany.message).toMatch(/LIMIT_MODEL_TAGS/);
  });

  it('predictions through name@alias follow the alias when it moves; the URL stays', async () => {
    const url = '/v1/registry/flower/aliases/production/predictions';
    expectError(await call('POST', url, { samples: SAMPLES }), 404, 'BP_ERR_NOT_FOUND');

    const set = await call('PUT', '/v1/registry/flower/aliases/production', { version: 1 });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json()).toEqual({
      name: 'flower',
      alias: 'production',
      version: 1,
      modelId: first.modelId,
      previousModelId: null,
    });
    const direct1 = (
      await call('POST', `/v1/models/${first.modelId}/predictions`, { samples: SAMPLES })
    ).json();
    const via1 = (await call('POST', url, { samples: SAMPLES })).json();
    expect(via1).toEqual(direct1);

    const moved = (await call('PUT', '/v1/registry/flower/aliases/production', { version: 2 })).json();
    expect(moved).toMatchObject({ version: 2, modelId: second.modelId, previousModelId: first.modelId });
    const direct2 = (
      await call('POST', `/v1/models/${second.modelId}/predictions`, { samples: SAMPLES })
    ).json();
    const via2 = (await call('POST', url, { samples: SAMPLES })).json();
    expect(via2).toEqual(direct2);
    expect(via2.modelId).toBe(second.modelId);
    expect(via2.predictions).not.toEqual(via1.predictions); // another model answers now

    const registered = (await call('GET', '/v1/registry/flower')).json();
    expect(
      registered.versions.map((v: { version: number; modelId: string }) => [v.version, v.modelId]),
    ).toEqual([
      [2, second.modelId],
      [1, first.modelId],
    ]);
    expect(registered.aliases).toEqual({ production: 2 });

    const missing = expectError(
      await call('PUT', '/v1/registry/flower/aliases/staging', { version: 9 }),
      404,
      'BP_ERR_NOT_FOUND',
    );
    expect(missing.message).toMatch(/version 9/);
    expectError(await call('GET', '/v1/registry/nothing-here'), 404, 'BP_ERR_NOT_FOUND');
  });

  it('an aliased model is neither deleted nor renamed (409 naming the alias); versions are never reused', async () => {
    const refused = expectError(
      await call('DELETE', `/v1/models/${second.modelId}`),
      409,
      'BP_ERR_MODEL_ALIASED',
    );
    expect(refused.message).toMatch(/flower@production/);
    expect((await call('GET', `/v1/models/${second.modelId}`)).statusCode).toBe(200);
    expectError(
      await call('PATCH', `/v1/models/${second.modelId}`, { name: 'other' }),
      409,
      'BP_ERR_MODEL_ALIASED',
    );

    // Move the alias back to version 1; then version 2 can go.
    await call('PUT', '/v1/registry/flower/aliases/production', { version: 1 });
    expect((await call('DELETE', `/v1/models/${second.modelId}`)).statusCode).toBe(204);
    const next = (await call('PATCH', `/v1/models/${third.modelId}`, { name: 'flower' })).json();
    expect(next.version).toBe(3); // 2 stays a gap
    const registered = (await call('GET', '/v1/registry/flower')).json();
    expect(registered.versions.map((v: { version: number }) => v.version)).toEqual([3, 1]);

    // Deleting the alias frees its model.
    expect((await call('DELETE', '/v1/registry/flower/aliases/production')).statusCode).toBe(204);
    expectError(await call('DELETE', '/v1/registry/flower/aliases/production'), 404, 'BP_ERR_NOT_FOUND');
    expect((await call('DELETE', `/v1/models/${first.modelId}`)).statusCode).toBe(204);
  });

  it("another tenant cannot see, alias or predict with this tenant's names", async () => {
    const other = await ctx.createTenantKey('registry-intruder');
    const as = (method: 'GET' | 'PUT' | 'POST', url: string, payload?: object) =>
      ctx.app.inject({ method, url, payload, headers: { authorization: `Bearer ${other.apiKey}` } });
    expectError(await as('GET', '/v1/registry/flower'), 404, 'BP_ERR_NOT_FOUND');
    expectError(await as('PUT', '/v1/registry/flower/aliases/x', { version: 3 }), 404, 'BP_ERR_NOT_FOUND');
    await call('PUT', '/v1/registry/flower/aliases/live', { version: 3 });
    expectError(
      await as('POST', '/v1/registry/flower/aliases/live/predictions', { samples: SAMPLES }),
      404,
      'BP_ERR_NOT_FOUND',
    );
    expectError(
      await as('GET', `/v1/models/${third.modelId}/export?format=json`),
      404,
      'BP_ERR_MODEL_NOT_FOUND',
    );
  });
});
