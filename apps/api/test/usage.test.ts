/** GET /v1/usage: the tenant's consumption, remaining quota, the limits and the rate limit window. */
import { LIMIT_NAMES } from '@backprop/contracts';
import { storedModelBytes } from '@backprop/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext } from '../../../harness/api-context.ts';
import { completeByHand } from './by-hand.ts';

let ctx: ApiContext;
beforeAll(async () => {
  ctx = await createApiContext({
    LIMIT_TENANT_STORED_BYTES: '100000',
    LIMIT_TENANT_ACTIVE_JOBS: '4',
    RATE_LIMIT_MAX: '50',
    RATE_LIMIT_WINDOW_MS: '60000',
  });
});
afterAll(async () => ctx?.close());

const asTenant =
  (apiKey: string) =>
  (url: string, method: 'GET' | 'POST' = 'GET', payload?: unknown) =>
    ctx.anonymous({
      method,
      url,
      headers: { authorization: `Bearer ${apiKey}` },
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    });

const LAYERS = [
  { units: 4, activation: 'tanh' },
  { units: 1, activation: 'sigmoid' },
];

describe('GET /v1/usage', () => {
  it('starts at zero and lists every limit by the name errors give it', async () => {
    const { apiKey } = await ctx.createTenantKey('usage-empty');
    const res = await asTenant(apiKey)('/v1/usage');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      storedBytes: {
        datasets: 0,
        models: 0,
        reserved: 0,
        checkpoints: 0,
        total: 0,
        limit: 100_000,
        remaining: 100_000,
      },
      datasets: 0,
      networks: 0,
      models: 0,
      jobs: { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 },
      activeJobs: { count: 0, limit: 4, remaining: 4 },
      rateLimit: { limit: 50, windowMs: 60_000, remaining: 49, resetSeconds: expect.any(Number) },
      limits: Object.fromEntries(LIMIT_NAMES.map((n) => [n, ctx.env[n]])),
    });
    expect(res.json().limits).toMatchObject({
      LIMIT_TENANT_STORED_BYTES: 100_000,
      LIMIT_TENANT_ACTIVE_JOBS: 4,
    });
    expect(res.json().rateLimit.resetSeconds).toBeGreaterThan(0);
    expect(res.json().rateLimit.resetSeconds).toBeLessThanOrEqual(60);
    // The rate limit counts this very request: the next read shows one fewer.
    expect((await asTenant(apiKey)('/v1/usage')).json().rateLimit.remaining).toBe(48);
  });

  it('follows uploads, jobs, completions and cancellations, and sees only its own tenant', async () => {
    const mine = await ctx.createTenantKey('usage-mine');
    const theirs = await ctx.createTenantKey('usage-theirs');
    const api = asTenant(mine.apiKey);
    const dataset = await api('/v1/datasets', 'POST', {
      features: [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      labels: [0, 1, 0],
    });
    expect(dataset.statusCode).toBe(201);
    const datasetBytes = dataset.json().byteSize;
    expect(datasetBytes).toBe(3 * 2 * 1 + 3 * 8); // small integer features as bytes, float64 labels
    const network = await api('/v1/networks', 'POST', { inputSize: 2, layers: LAYERS });
    // nn's binary network format: a header, 16 bytes per layer, 8 per parameter
    const modelBytes = storedModelBytes(2, network.json().parameterCount);
    const job = () =>
      api('/v1/jobs', 'POST', {
        datasetId: dataset.json().id,
        networkId: network.json().id,
        training: { learningRate: 0.1, iterations: 10 },
      });
    const [first, second, third] = [await job(), await job(), await job()];
    expect([first.statusCode, second.statusCode, third.statusCode]).toEqual([202, 202, 202]);

    await completeByHand(ctx.database.db, first.json().id, { inputSize: 2, layers: LAYERS });
    expect((await api(`/v1/jobs/${second.json().id}/cancel`, 'POST')).statusCode).toBe(200);

    const usage = (await api('/v1/usage')).json();
    const total = datasetBytes + 2 * modelBytes;
    expect(usage).toMatchObject({
      storedBytes: {
        datasets: datasetBytes,
        models: modelBytes,
        reserved: modelBytes, // the third job, still queued
        total,
        limit: 100_000,
        remaining: 100_000 - total,
      },
      datasets: 1,
      networks: 1,
      models: 1,
      jobs: { queued: 1, running: 0, succeeded: 1, failed: 0, cancelled: 1 },
      activeJobs: { count: 1, limit: 4, remaining: 3 },
    });
    const other = (await asTenant(theirs.apiKey)('/v1/usage')).json();
    expect(other).toMatchObject({ storedBytes: { total: 0 }, datasets: 0, networks: 0, models: 0 });
  });

  it('takes no query parameters', async () => {
    const res = await ctx.app.inject({ method: 'GET', url: '/v1/usage?tenantId=x' });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('BP_ERR_VALIDATION');
  });

  it('is in the OpenAPI document with its schema, 401 and 429', async () => {
    const doc = (await ctx.anonymous({ method: 'GET', url: '/openapi.json' })).json();
    const get = doc.paths['/v1/usage'].get;
    expect(Object.keys(get.responses)).toEqual(expect.arrayContaining(['200', '401', '429']));
    const schema = doc.components.schemas.Usage;
    expect(schema.required).toEqual(
      expect.arrayContaining([
        'storedBytes',
        'datasets',
        'networks',
        'models',
        'jobs',
        'activeJobs',
        'rateLimit',
        'limits',
      ]),
    );
    expect(Object.keys(schema.properties.limits.properties).sort()).toEqual([...LIMIT_NAMES].sort());
    expect(Object.keys(schema.properties.jobs.properties).sort()).toEqual([
      'cancelled',
      'failed',
      'queued',
      'running',
      'succeeded',
    ]);
  });
});
