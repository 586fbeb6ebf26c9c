// A row of another tenant is indistinguishable from a missing one (OWASP API1, BOLA).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cancelJob,
  claimJob,
  completeJob,
  createJob,
  createTenant,
  DEFAULT_TENANT_ID,
  deleteDataset,
  getDataset,
  getDatasetWithValues,
  getJob,
  getModel,
  getModelWithParameters,
  getNetwork,
  listDatasets,
  listJobs,
  listNetworks,
  MissingReferenceError,
} from '../src/index.ts';
import { createTestDatabase, type TestDatabase } from '../src/testing.ts';
import { makeDataset, makeJob, makeNetwork, modelOutput } from './helpers.ts';

let t: TestDatabase;
let other: string;
const mine = DEFAULT_TENANT_ID;
let ids: { datasetId: string; networkId: string; jobId: string; modelId: string };

beforeAll(async () => {
  t = await createTestDatabase();
  other = (await createTenant(t.db, { name: 'other' })).id;
  const dataset = await makeDataset(t.db, mine);
  const network = await makeNetwork(t.db, mine);
  const job = await makeJob(
    t.db,
    { datasetId: dataset.id, networkId: network.id },
    { idempotencyKey: 'shared-key' },
  );
  const { attempt } = (await claimJob(t.db, { jobId: job.id, workerId: 'w', leaseMs: 60_000 }))!;
  const done = await completeJob(t.db, {
    jobId: job.id,
    attempt,
    iteration: 100,
    cost: 0.1,
    costs: new Float64Array([1, 0.1]),
    model: modelOutput,
  });
  ids = { datasetId: dataset.id, networkId: network.id, jobId: job.id, modelId: done!.modelId };
});
afterAll(() => t.drop());

describe('tenant scoping', () => {
  it('the owner sees its rows', async () => {
    expect(await getDataset(t.db, mine, ids.datasetId)).not.toBeNull();
    expect(await getNetwork(t.db, mine, ids.networkId)).not.toBeNull();
    expect(await getJob(t.db, mine, ids.jobId)).not.toBeNull();
    expect(await getModel(t.db, mine, ids.modelId)).not.toBeNull();
  });

  it("another tenant's ids read as missing", async () => {
    expect(await getDataset(t.db, other, ids.datasetId)).toBeNull();
    expect(await getDatasetWithValues(t.db, other, ids.datasetId)).toBeNull();
    expect(await getNetwork(t.db, other, ids.networkId)).toBeNull();
    expect(await getJob(t.db, other, ids.jobId)).toBeNull();
    expect(await getModel(t.db, other, ids.modelId)).toBeNull();
    expect(await getModelWithParameters(t.db, other, ids.modelId)).toBeNull();
    expect(await cancelJob(t.db, other, ids.jobId)).toEqual({ outcome: 'not_found' });
    expect(await deleteDataset(t.db, other, ids.datasetId)).toEqual({ deleted: false, reason: 'not_found' });
  });

  it('lists show only the tenant’s own rows', async () => {
    await makeDataset(t.db, other, 'theirs');
    const theirs = await listDatasets(t.db, other);
    expect(theirs.items.map((dataset) => dataset.name)).toEqual(['theirs']);
    expect((await listDatasets(t.db, mine)).items.map((dataset) => dataset.id)).toEqual([ids.datasetId]);
    expect((await listNetworks(t.db, other)).items).toEqual([]);
    expect((await listJobs(t.db, other)).items).toEqual([]);
  });

  it("a job cannot reference another tenant's dataset or network (composite foreign keys)", async () => {
    const input = { tenantId: other, training: {}, iterations: 10, costEvery: 1 };
    await expect(
      createJob(t.db, { ...input, datasetId: ids.datasetId, networkId: ids.networkId }),
    ).rejects.toThrow(MissingReferenceError);
    const theirNetwork = await makeNetwork(t.db, other);
    await expect(
      createJob(t.db, { ...input, datasetId: ids.datasetId, networkId: theirNetwork.id }),
    ).rejects.toThrow(MissingReferenceError);
  });

  it('idempotency keys are per tenant', async () => {
    const dataset = await makeDataset(t.db, other);
    const network = await makeNetwork(t.db, other);
    const result = await createJob(t.db, {
      tenantId: other,
      datasetId: dataset.id,
      networkId: network.id,
      training: {},
      iterations: 10,
      idempotencyKey: 'shared-key',
    });
    expect(result.created).toBe(true);
    expect(result.job.id).not.toBe(ids.jobId);
  });

  it('malformed ids read as missing instead of failing in Postgres', async () => {
    for (const id of ['', 'nope', '1', `${ids.jobId}x`, "'; DROP TABLE x; --"]) {
      expect(await getDataset(t.db, mine, id)).toBeNull();
      expect(await getNetwork(t.db, mine, id)).toBeNull();
      expect(await getJob(t.db, mine, id)).toBeNull();
      expect(await getModel(t.db, mine, id)).toBeNull();
      expect(await cancelJob(t.db, mine, id)).toEqual({ outcome: 'not_found' });
      expect(await deleteDataset(t.db, mine, id)).toEqual({ deleted: false, reason: 'not_found' });
      expect(await claimJob(t.db, { jobId: id, workerId: 'w', leaseMs: 1000 })).toBeNull();
    }
    await expect(
      createJob(t.db, {
        tenantId: mine,
        datasetId: 'nope',
        networkId: ids.networkId,
        training: {},
        iterations: 1,
      }),
    ).rejects.toThrow(MissingReferenceError);
  });
});
