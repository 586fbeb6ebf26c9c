/**
 * Storage can shrink (issue 7): DELETE for jobs, models, networks and datasets, each visible in
 * /v1/usage, tenant-isolated, in the OpenAPI document, and a dataset delete that frees the bytes
 * even when finished jobs refer to it (the row stays, marked deleted, so they stay explainable).
 * No worker runs here: jobs are moved through their states with the db package's own functions.
 */
import { Socket } from 'node:net';
import {
  cancelJob,
  createDataset,
  createJob,
  createNetwork,
  type Db,
  failJob,
  PrismaClient,
  saveCheckpoint,
  storedModelBytes,
} from '@backprop/db';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext } from '../../../harness/api-context.ts';
import { createApi } from '../src/api.ts';
import { claimByHand, completeByHand } from './by-hand.ts';
import { expectError, fingerprint, SMALL_NETWORK } from './support.ts';

/** 12 samples × 2 small integer features, stored as bytes, and 12 float64 labels. */
const SMALL_DATASET_BYTES = 12 * 2 * 1 + 12 * 8;
const QUOTA = 20_000;

let ctx: ApiContext;
beforeAll(async () => {
  ctx = await createApiContext({ LIMIT_TENANT_STORED_BYTES: String(QUOTA), RATE_LIMIT_MAX: '100000' });
});
afterAll(async () => ctx?.close());

type Api = (
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  payload?: unknown,
) => ReturnType<ApiContext['anonymous']>;

function as(apiKey: string): Api {
  return (method, url, payload) =>
    ctx.anonymous({
      method,
      url,
      headers: { authorization: `Bearer ${apiKey}` },
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    });
}

const own: Api = (method, url, payload) => as(ctx.apiKey)(method, url, payload);

async function created(api: Api, url: string, payload: unknown, status = 201): Promise<string> {
  const res = await api('POST', url, payload);
  expect(res.statusCode, res.body).toBe(status);
  return res.json().id;
}

const dataset = (api: Api) =>
  created(api, '/v1/datasets', {
    features: Array.from({ length: 12 }, (_, i) => [i % 3, (i * 7) % 5]),
    labels: Array.from({ length: 12 }, (_, i) => i % 2),
  });
const network = (api: Api) => created(api, '/v1/networks', SMALL_NETWORK);
const job = (api: Api, datasetId: string, networkId: string) =>
  api('POST', '/v1/jobs', {
    datasetId,
    networkId,
    training: { learningRate: 0.1, iterations: 5, costEvery: 1, normalize: 'none' },
  });
const startJob = async (api: Api, datasetId: string, networkId: string) => {
  const res = await job(api, datasetId, networkId);
  expect(res.statusCode, res.body).toBe(202);
  return res.json().id as string;
};

/**
 * A job POSTed with this Idempotency-Key, cancelled, then deleted (or its dataset), and the same
 * POST retried as a client may: the first job's id and the retry's.
 */
async function retriedAfterDelete(key: string, deleted: 'job' | 'dataset') {
  const [datasetId, networkId] = [await dataset(own), await network(own)];
  const post = () =>
    ctx.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: { 'idempotency-key': key },
      payload: { datasetId, networkId, training: { learningRate: 0.1, iterations: 5 } },
    });
  const first = await post();
  expect(first.statusCode).toBe(202);
  const jobId: string = first.json().id;
  await own('POST', `/v1/jobs/${jobId}/cancel`);
  const url = deleted === 'job' ? `/v1/jobs/${jobId}` : `/v1/datasets/${datasetId}`;
  expect((await own('DELETE', url)).statusCode).toBe(204);
  const retry = await post();
  expect(retry.statusCode, retry.body).toBe(202);
  return { jobId, retried: retry.json().id };
}

/** What a worker does: claim the job, then succeed with a model (13 parameters: 2-3-1). */
const succeed = (jobId: string) =>
  completeByHand(ctx.database.db, jobId, { ...SMALL_NETWORK, parameters: 0.1 });

async function usage(api: Api = own) {
  const res = await api('GET', '/v1/usage');
  expect(res.statusCode).toBe(200);
  return res.json();
}

describe('DELETE /v1/jobs/:id', () => {
  it('a queued or running job: 409 BP_ERR_JOB_ACTIVE (cancel it first); the job stays', async () => {
    const jobId = await startJob(own, await dataset(own), await network(own));
    const queued = expectError(await own('DELETE', `/v1/jobs/${jobId}`), 409, 'BP_ERR_JOB_ACTIVE');
    expect(queued.details).toEqual({ status: 'queued' });
    await claimByHand(ctx.database.db, jobId);
    const running = expectError(await own('DELETE', `/v1/jobs/${jobId}`), 409, 'BP_ERR_JOB_ACTIVE');
    expect(running.details).toEqual({ status: 'running' });
    expect((await own('GET', `/v1/jobs/${jobId}`)).json().status).toBe('running');
  });

  it('a cancelled or failed job: 204, then 404 everywhere; its checkpoint goes; usage no longer counts it', async () => {
    const [datasetId, networkId] = [await dataset(own), await network(own)];
    const cancelled = await startJob(own, datasetId, networkId);
    expect((await own('POST', `/v1/jobs/${cancelled}/cancel`)).statusCode).toBe(200);
    const failed = await startJob(own, datasetId, networkId);
    const { attempt } = await claimByHand(ctx.database.db, failed);
    await failJob(ctx.database.db, { jobId: failed, attempt, code: 'BP_ERR_DIVERGED', message: 'NaN' });
    const before = (await usage()).jobs;

    for (const id of [cancelled, failed]) {
      const res = await own('DELETE', `/v1/jobs/${id}`);
      expect(res.statusCode, res.body).toBe(204);
      expect(res.body).toBe('');
      expectError(await own('GET', `/v1/jobs/${id}`), 404, 'BP_ERR_JOB_NOT_FOUND');
      expectError(await own('GET', `/v1/jobs/${id}/costs`), 404, 'BP_ERR_JOB_NOT_FOUND');
      expectError(await own('POST', `/v1/jobs/${id}/cancel`), 404, 'BP_ERR_JOB_NOT_FOUND');
      expectError(await own('DELETE', `/v1/jobs/${id}`), 404, 'BP_ERR_JOB_NOT_FOUND');
    }
    const after = (await usage()).jobs;
    expect(after.cancelled).toBe(before.cancelled - 1);
    expect(after.failed).toBe(before.failed - 1);
    expect(await ctx.database.db.checkpoint.count({ where: { jobId: { in: [cancelled, failed] } } })).toBe(0);
  });

  it('a succeeded job whose model exists: 409 BP_ERR_JOB_HAS_MODEL naming it; once the model is deleted, 204', async () => {
    const jobId = await startJob(own, await dataset(own), await network(own));
    const modelId = await succeed(jobId);
    const refused = expectError(await own('DELETE', `/v1/jobs/${jobId}`), 409, 'BP_ERR_JOB_HAS_MODEL');
    expect(refused.details).toEqual({ modelId });
    expect(refused.message).toContain(`DELETE /v1/models/${modelId}`);
    expect((await own('GET', `/v1/models/${modelId}`)).statusCode).toBe(200);

    expect((await own('DELETE', `/v1/models/${modelId}`)).statusCode).toBe(204);
    expect((await own('DELETE', `/v1/jobs/${jobId}`)).statusCode).toBe(204);
    expectError(await own('GET', `/v1/jobs/${jobId}`), 404, 'BP_ERR_JOB_NOT_FOUND');
  });

  it("frees the job's Idempotency-Key: the same key then creates a new job", async () => {
    const { jobId, retried } = await retriedAfterDelete('delete-frees-key', 'job');
    expect(retried).not.toBe(jobId);
  });
});

describe('DELETE /v1/models/:id', () => {
  it('204: the model, its parameters and predictions answer 404 (a cached one too); the job stays with modelId null', async () => {
    const jobId = await startJob(own, await dataset(own), await network(own));
    const modelId = await succeed(jobId);
    const predict = () => own('POST', `/v1/models/${modelId}/predictions`, { samples: [[1, 2]] });
    expect((await predict()).statusCode).toBe(200); // now cached in this API process
    const before = await usage();

    const res = await own('DELETE', `/v1/models/${modelId}`);
    expect(res.statusCode, res.body).toBe(204);
    expectError(await own('GET', `/v1/models/${modelId}`), 404, 'BP_ERR_MODEL_NOT_FOUND');
    expectError(await own('GET', `/v1/models/${modelId}/parameters`), 404, 'BP_ERR_MODEL_NOT_FOUND');
    expectError(await predict(), 404, 'BP_ERR_MODEL_NOT_FOUND');
    expectError(await own('DELETE', `/v1/models/${modelId}`), 404, 'BP_ERR_MODEL_NOT_FOUND');
    expect((await own('GET', `/v1/jobs/${jobId}`)).json()).toMatchObject({
      status: 'succeeded',
      modelId: null,
    });

    const after = await usage();
    expect(after.models).toBe(before.models - 1);
    expect(after.storedBytes.models).toBe(before.storedBytes.models - storedModelBytes(2, 13));
  });

  it('a model deleted through another API process is not served from this one', async () => {
    const jobId = await startJob(own, await dataset(own), await network(own));
    const modelId = await succeed(jobId);
    const predict = () => own('POST', `/v1/models/${modelId}/predictions`, { samples: [[1, 2]] });
    expect((await predict()).statusCode).toBe(200);
    const other = await createApi(ctx.env, { db: ctx.database.db });
    try {
      const res = await other.inject({
        method: 'DELETE',
        url: `/v1/models/${modelId}`,
        headers: { authorization: `Bearer ${ctx.apiKey}` },
      });
      expect(res.statusCode).toBe(204);
    } finally {
      await other.close();
    }
    expectError(await predict(), 404, 'BP_ERR_MODEL_NOT_FOUND');
  });
});

describe('DELETE /v1/networks/:id', () => {
  it('no job uses it: 204, then 404', async () => {
    const networkId = await network(own);
    expect((await own('DELETE', `/v1/networks/${networkId}`)).statusCode).toBe(204);
    expectError(await own('GET', `/v1/networks/${networkId}`), 404, 'BP_ERR_NETWORK_NOT_FOUND');
    expectError(await own('DELETE', `/v1/networks/${networkId}`), 404, 'BP_ERR_NETWORK_NOT_FOUND');
  });

  it('a queued or running job uses it: 409 BP_ERR_NETWORK_IN_USE', async () => {
    const networkId = await network(own);
    await startJob(own, await dataset(own), networkId);
    const body = expectError(await own('DELETE', `/v1/networks/${networkId}`), 409, 'BP_ERR_NETWORK_IN_USE');
    expect(body.details).toEqual({ reason: 'in_use' });
    expect((await own('GET', `/v1/networks/${networkId}`)).json().deletedAt).toBeNull();
  });

  it('only finished jobs use it: 204; GET still shows it with deletedAt, lists leave it out, new jobs are refused', async () => {
    const [datasetId, networkId] = [await dataset(own), await network(own)];
    const jobId = await startJob(own, datasetId, networkId);
    await own('POST', `/v1/jobs/${jobId}/cancel`);
    const networksBefore = (await usage()).networks;

    expect((await own('DELETE', `/v1/networks/${networkId}`)).statusCode).toBe(204);
    const shown = (await own('GET', `/v1/networks/${networkId}`)).json();
    expect(shown).toMatchObject({ id: networkId, inputSize: 2, parameterCount: 13 });
    expect(Date.parse(shown.deletedAt)).not.toBeNaN();
    const listed = (await own('GET', '/v1/networks?limit=100')).json().items.map((n: { id: string }) => n.id);
    expect(listed).not.toContain(networkId);
    expect((await usage()).networks).toBe(networksBefore - 1);
    const refused = expectError(await job(own, datasetId, networkId), 409, 'BP_ERR_NETWORK_DELETED');
    expect(refused.details).toMatchObject({ field: 'networkId' });
    expect((await own('GET', `/v1/jobs/${jobId}`)).json().networkId).toBe(networkId);
    expect((await own('DELETE', `/v1/networks/${networkId}`)).statusCode).toBe(204); // again: no change

    // Once its last job is deleted, nothing refers to it any more: the row goes.
    expect((await own('DELETE', `/v1/jobs/${jobId}`)).statusCode).toBe(204);
    expectError(await own('GET', `/v1/networks/${networkId}`), 404, 'BP_ERR_NETWORK_NOT_FOUND');
  });
});

describe('DELETE /v1/datasets/:id', () => {
  it('finished jobs refer to it: 204, its bytes leave /v1/usage, GET shows it deleted with its shape, new jobs are refused', async () => {
    const [datasetId, networkId] = [await dataset(own), await network(own)];
    const jobId = await startJob(own, datasetId, networkId);
    await succeed(jobId);
    const before = await usage();
    const original = (await own('GET', `/v1/datasets/${datasetId}`)).json();
    expect(original).toMatchObject({ byteSize: SMALL_DATASET_BYTES, deletedAt: null });

    const res = await own('DELETE', `/v1/datasets/${datasetId}`);
    expect(res.statusCode, res.body).toBe(204);
    const after = await usage();
    expect(after.storedBytes.datasets).toBe(before.storedBytes.datasets - SMALL_DATASET_BYTES);
    expect(after.storedBytes.total).toBe(before.storedBytes.total - SMALL_DATASET_BYTES);
    expect(after.datasets).toBe(before.datasets - 1);

    const shown = (await own('GET', `/v1/datasets/${datasetId}`)).json();
    const { byteSize: _, deletedAt: __, ...kept } = original;
    expect(shown).toMatchObject({ ...kept, byteSize: 0 });
    expect(Date.parse(shown.deletedAt)).not.toBeNaN();
    const listed = (await own('GET', '/v1/datasets?limit=100')).json().items.map((d: { id: string }) => d.id);
    expect(listed).not.toContain(datasetId);
    const refused = expectError(await job(own, datasetId, networkId), 409, 'BP_ERR_DATASET_DELETED');
    expect(refused.details).toMatchObject({ field: 'datasetId', deletedAt: shown.deletedAt });
    expect((await own('GET', `/v1/jobs/${jobId}`)).json()).toMatchObject({ status: 'succeeded', datasetId });
    expect((await own('DELETE', `/v1/datasets/${datasetId}`)).statusCode).toBe(204); // again: no change
    expect((await own('GET', `/v1/datasets/${datasetId}`)).json().deletedAt).toBe(shown.deletedAt);
  });

  it('a retried POST with the Idempotency-Key of a job created before the delete still returns that job', async () => {
    const { jobId, retried } = await retriedAfterDelete('before-the-delete', 'dataset');
    expect(retried).toBe(jobId);
  });

  it('a queued job uses it: 409 BP_ERR_DATASET_IN_USE, the bytes stay', async () => {
    const datasetId = await dataset(own);
    await startJob(own, datasetId, await network(own));
    const body = expectError(await own('DELETE', `/v1/datasets/${datasetId}`), 409, 'BP_ERR_DATASET_IN_USE');
    expect(body.details).toEqual({ reason: 'in_use' });
    expect((await own('GET', `/v1/datasets/${datasetId}`)).json().byteSize).toBe(SMALL_DATASET_BYTES);
  });

  it('"delete datasets to make room" works: an upload refused for the quota fits after a delete', async () => {
    const { apiKey } = await ctx.createTenantKey('deletes-quota');
    const api = as(apiKey);
    const networkId = await network(api);
    // Fill the quota with datasets that finished jobs refer to (the case that was a 409 before).
    const ids: string[] = [];
    for (;;) {
      // Decimal features, stored as float64: 2400 bytes each, so the quota fills with room for a job.
      const res = await api('POST', '/v1/datasets', {
        features: Array.from({ length: 100 }, (_, i) => [i / 10, i % 7]),
        labels: Array.from({ length: 100 }, (_, i) => i % 2),
      });
      if (res.statusCode === 413) {
        expectError(res, 413, 'BP_ERR_STORAGE_QUOTA_EXCEEDED');
        break;
      }
      expect(res.statusCode, res.body).toBe(201);
      ids.push(res.json().id);
      const jobId = await startJob(api, res.json().id, networkId);
      expect((await api('POST', `/v1/jobs/${jobId}/cancel`)).statusCode).toBe(200);
    }
    expect(ids.length).toBeGreaterThan(0);
    expect((await api('DELETE', `/v1/datasets/${ids[0]}`)).statusCode).toBe(204);
    const retry = await api('POST', '/v1/datasets', {
      features: Array.from({ length: 100 }, (_, i) => [i / 10, i % 7]),
      labels: Array.from({ length: 100 }, (_, i) => i % 2),
    });
    expect(retry.statusCode, retry.body).toBe(201);
  });
});

describe('a large dataset delete does not read the values back into the API process', () => {
  /** 1,000,000 float64 values: 8 MB of x (and y), 16 MB as the hex text Postgres would send. */
  const SAMPLES = 500_000;
  const FEATURES = 2;
  const VALUE_BYTES = (SAMPLES * FEATURES + SAMPLES) * 8;

  /** An API on the same database whose Postgres connections count the bytes they receive. */
  async function countingApi() {
    const sockets: Socket[] = [];
    const pool = new pg.Pool({
      connectionString: ctx.database.url,
      max: 4,
      stream: () => {
        const socket = new Socket();
        sockets.push(socket);
        return socket;
      },
    });
    const db: Db = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
    const app = await createApi(ctx.env, { db });
    const received = () => sockets.reduce((sum, s) => sum + s.bytesRead, 0);
    return {
      app,
      received,
      async close() {
        await app.close();
        await db.$disconnect();
      },
    };
  }

  async function bigDataset(tenantId: string): Promise<string> {
    // Decimals (not exact in float32), so they are stored as float64 as the comment above says.
    const x = new Float64Array(SAMPLES * FEATURES).map((_, i) => (i % 1000) / 10);
    const y = new Float64Array(SAMPLES).map((_, i) => i % 2);
    // As the API stores them: named (the db type does not know the name, the API's answer needs it).
    const stats = ['a', 'b'].map((name) => ({ name, mean: 500, std: 288, min: 0, max: 999 }));
    const row = await createDataset(ctx.database.db, {
      tenantId,
      name: 'big',
      task: 'binary',
      samples: SAMPLES,
      features: FEATURES,
      featureNames: ['a', 'b'],
      labelName: 'label',
      classes: [0, 1],
      x,
      y,
      featureStats: stats,
    });
    expect(row.byteSize).toBe(VALUE_BYTES);
    return row.id;
  }

  it('neither when the row goes nor when it stays for a finished job: far less than the values arrive from Postgres', async () => {
    // Its own tenant: 24 MB is far beyond this file's quota (inserted directly, not uploaded).
    const { apiKey, tenantId } = await ctx.createTenantKey('deletes-big');
    const api = await countingApi();
    try {
      const del = async (id: string) => {
        const before = api.received();
        const res = await api.app.inject({
          method: 'DELETE',
          url: `/v1/datasets/${id}`,
          headers: { authorization: `Bearer ${apiKey}` },
        });
        expect(res.statusCode, res.body).toBe(204);
        return api.received() - before;
      };
      // Control: reading the dataset back does move its bytes, so the counter sees them.
      const control = await bigDataset(tenantId);
      const beforeRead = api.received();
      await api.app.deps.db.dataset.findUniqueOrThrow({ where: { id: control } });
      await api.app.deps.db.datasetChunk.findMany({ where: { datasetId: control } });
      expect(api.received() - beforeRead).toBeGreaterThan(VALUE_BYTES);

      expect(await del(control)).toBeLessThan(VALUE_BYTES / 100);

      const referenced = await bigDataset(tenantId);
      const net = await createNetwork(ctx.database.db, {
        tenantId,
        name: 'n',
        inputSize: 2,
        layers: [{ units: 1, activation: 'sigmoid' }],
        init: 'random',
        parameterCount: 3,
      });
      const { job } = await createJob(ctx.database.db, {
        tenantId,
        datasetId: referenced,
        networkId: net.id,
        training: {},
        iterations: 1,
      });
      await cancelJob(ctx.database.db, tenantId, job.id);
      expect(await del(referenced)).toBeLessThan(VALUE_BYTES / 100);
      const shown = await as(apiKey)('GET', `/v1/datasets/${referenced}`);
      expect(shown.json().byteSize, shown.body).toBe(0);
    } finally {
      await api.close();
    }
  });
});

describe('usage counts checkpoints', () => {
  it("a running job's checkpoint is in storedBytes.checkpoints and the total; cancelling the job removes it", async () => {
    const { apiKey, tenantId } = await ctx.createTenantKey('deletes-checkpoints');
    const api = as(apiKey);
    const jobId = await startJob(api, await dataset(api), await network(api));
    const { attempt } = await claimByHand(ctx.database.db, jobId);
    const snapshot = new Uint8Array(4096).fill(1);
    const costs = Float64Array.of(0.7, 0.6);
    expect(
      await saveCheckpoint(ctx.database.db, { jobId, attempt, iteration: 2, snapshot, state: {}, costs }),
    ).toBe(true);
    const during = (await usage(api)).storedBytes;
    expect(during.checkpoints).toBe(snapshot.byteLength + costs.byteLength);
    expect(during.total).toBe(during.datasets + during.models + during.reserved + during.checkpoints);

    expect((await api('POST', `/v1/jobs/${jobId}/cancel`)).statusCode).toBe(200);
    expect((await usage(api)).storedBytes.checkpoints).toBe(0);
    expect(await ctx.database.db.checkpoint.count({ where: { job: { tenantId } } })).toBe(0);
  });
});

describe('tenant isolation', () => {
  it("another tenant's job, model, network and dataset: 404 like a missing id, and nothing changes", async () => {
    const { apiKey } = await ctx.createTenantKey('deletes-intruder');
    const intruder = as(apiKey);
    const [datasetId, networkId] = [await dataset(own), await network(own)];
    const jobId = await startJob(own, datasetId, networkId);
    const modelId = await succeed(jobId);
    const finished = await startJob(own, datasetId, networkId);
    await own('POST', `/v1/jobs/${finished}/cancel`);
    const before = await fingerprint(ctx.database.db);

    expectError(await intruder('DELETE', `/v1/jobs/${finished}`), 404, 'BP_ERR_JOB_NOT_FOUND');
    expectError(await intruder('DELETE', `/v1/models/${modelId}`), 404, 'BP_ERR_MODEL_NOT_FOUND');
    expectError(await intruder('DELETE', `/v1/networks/${networkId}`), 404, 'BP_ERR_NETWORK_NOT_FOUND');
    expectError(await intruder('DELETE', `/v1/datasets/${datasetId}`), 404, 'BP_ERR_DATASET_NOT_FOUND');
    expect(await fingerprint(ctx.database.db)).toEqual(before);
  });
});

describe('the OpenAPI document', () => {
  it('lists every DELETE with its 204 and 4xx answers', async () => {
    const doc = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const expected: Record<string, string[]> = {
      '/v1/jobs/{id}': ['204', '400', '401', '404', '409', '413', '415', '429'],
      '/v1/models/{id}': ['204', '400', '401', '404', '409', '413', '415', '429'],
      '/v1/networks/{id}': ['204', '400', '401', '404', '409', '413', '415', '429'],
      '/v1/datasets/{id}': ['204', '400', '401', '404', '409', '413', '415', '429'],
    };
    for (const [path, codes] of Object.entries(expected)) {
      const operation = doc.paths[path]?.delete;
      expect(operation, path).toBeDefined();
      expect(Object.keys(operation.responses).sort(), path).toEqual(codes);
    }
  });
});
