import { describe, expect, it } from 'vitest';
import {
  cancelJob,
  claimJob,
  createDataset,
  createJob,
  createJobWithinQuota,
  DEFAULT_TENANT_ID,
  deleteDataset,
  deleteJob,
  failJob,
  getDataset,
  getDatasetWithValues,
  InvalidCursorError,
  listDatasets,
  listNetworks,
  MissingReferenceError,
  sweepStorage,
} from '../src/index.ts';
import { makeDataset, makeJob, makeNetwork, useTestDatabase } from './helpers.ts';

const t = useTestDatabase();

describe('createDataset', () => {
  it('refuses arrays that do not match samples × features', async () => {
    const input = {
      tenantId: DEFAULT_TENANT_ID,
      name: 'bad',
      task: 'binary' as const,
      samples: 2,
      features: 2,
      featureNames: ['a', 'b'],
      labelName: 'y',
      classes: ['n', 'y'],
      x: new Float64Array(4),
      y: new Float64Array(2),
      featureStats: [
        { mean: 0, std: 1, min: 0, max: 1 },
        { mean: 0, std: 1, min: 0, max: 1 },
      ],
    };
    await expect(createDataset(t.db, { ...input, x: new Float64Array(3) })).rejects.toThrow(RangeError);
    await expect(createDataset(t.db, { ...input, y: new Float64Array(3) })).rejects.toThrow(RangeError);
    await expect(createDataset(t.db, { ...input, featureNames: ['a'] })).rejects.toThrow(RangeError);
    await expect(
      createDataset(t.db, {
        ...input,
        featureStats: [input.featureStats[0]!, { mean: Number.NaN, std: 1, min: 0, max: 1 }],
      }),
    ).rejects.toThrow(RangeError);
    expect((await createDataset(t.db, input)).name).toBe('bad');
  });
});

describe('deleteDataset', () => {
  it('refuses while a job on it is queued or running; once they finished, frees the values and keeps the row', async () => {
    const dataset = await makeDataset(t.db);
    const network = await makeNetwork(t.db);
    const refs = { datasetId: dataset.id, networkId: network.id };
    const queued = await makeJob(t.db, refs);
    expect(await deleteDataset(t.db, DEFAULT_TENANT_ID, dataset.id)).toEqual({
      deleted: false,
      reason: 'in_use',
    });

    await claimJob(t.db, { jobId: queued.id, workerId: 'w', leaseMs: 60_000 });
    expect(await deleteDataset(t.db, DEFAULT_TENANT_ID, dataset.id)).toEqual({
      deleted: false,
      reason: 'in_use',
    });

    await failJob(t.db, { jobId: queued.id, code: 'X', message: 'x' });
    const deleted = await deleteDataset(t.db, DEFAULT_TENANT_ID, dataset.id);
    expect(deleted).toMatchObject({ deleted: true, kept: true });
    const kept = await getDataset(t.db, DEFAULT_TENANT_ID, dataset.id);
    expect(kept).toMatchObject({ name: dataset.name, samples: 3, features: 2, byteSize: 0 });
    expect(kept?.deletedAt).toBeInstanceOf(Date);
    const values = await getDatasetWithValues(t.db, DEFAULT_TENANT_ID, dataset.id);
    expect([values?.x.byteLength, values?.y.byteLength]).toEqual([0, 0]);
    // Again: nothing more to free, the same answer.
    expect(await deleteDataset(t.db, DEFAULT_TENANT_ID, dataset.id)).toEqual(deleted);
    expect(
      (await listDatasets(t.db, DEFAULT_TENANT_ID, { limit: 100 })).items.map((d) => d.id),
    ).not.toContain(dataset.id);
  });

  it('deletes a dataset no job refers to, once', async () => {
    const dataset = await makeDataset(t.db);
    expect(await deleteDataset(t.db, DEFAULT_TENANT_ID, dataset.id)).toEqual({ deleted: true, kept: false });
    expect(await getDataset(t.db, DEFAULT_TENANT_ID, dataset.id)).toBeNull();
    expect(await deleteDataset(t.db, DEFAULT_TENANT_ID, dataset.id)).toEqual({
      deleted: false,
      reason: 'not_found',
    });
  });

  it('racing a job creation: either the job exists and the delete is refused, or the job fails', async () => {
    for (let round = 0; round < 5; round++) {
      const dataset = await makeDataset(t.db);
      const network = await makeNetwork(t.db);
      const [deleted, job] = await Promise.allSettled([
        deleteDataset(t.db, DEFAULT_TENANT_ID, dataset.id),
        createJob(t.db, {
          tenantId: DEFAULT_TENANT_ID,
          datasetId: dataset.id,
          networkId: network.id,
          training: {},
          iterations: 1,
        }),
      ]);
      expect(deleted.status).toBe('fulfilled');
      if (deleted.status === 'fulfilled' && deleted.value.deleted) {
        expect(job.status).toBe('rejected');
        expect(job.status === 'rejected' && job.reason).toBeInstanceOf(MissingReferenceError);
      } else {
        expect(job.status).toBe('fulfilled');
        expect(deleted.status === 'fulfilled' && deleted.value).toEqual({ deleted: false, reason: 'in_use' });
      }
    }
  });

  it('racing a job creation on a dataset finished jobs refer to: either the delete is refused, or the job', async () => {
    for (let round = 0; round < 5; round++) {
      const dataset = await makeDataset(t.db);
      const network = await makeNetwork(t.db);
      const old = await makeJob(t.db, { datasetId: dataset.id, networkId: network.id });
      await cancelJob(t.db, DEFAULT_TENANT_ID, old.id);
      const [deleted, job] = await Promise.all([
        deleteDataset(t.db, DEFAULT_TENANT_ID, dataset.id),
        createJobWithinQuota(
          t.db,
          {
            tenantId: DEFAULT_TENANT_ID,
            datasetId: dataset.id,
            networkId: network.id,
            training: {},
            iterations: 1,
          },
          { maxActiveJobs: 1000, maxStoredBytes: 1e12, modelBytes: 8 },
        ),
      ]);
      if (deleted.deleted) {
        expect(job).toMatchObject({ outcome: 'deleted', resource: 'dataset' });
      } else {
        expect(deleted).toEqual({ deleted: false, reason: 'in_use' });
        expect(job).toMatchObject({ outcome: 'done', result: { created: true } });
      }
    }
  });

  it('a deleted dataset kept for its jobs goes with its last job (deleteJob), or with the sweep', async () => {
    const network = await makeNetwork(t.db);
    const [viaDeleteJob, viaSweep] = [await makeDataset(t.db), await makeDataset(t.db)];
    const jobs = [];
    for (const dataset of [viaDeleteJob, viaSweep]) {
      const job = await makeJob(t.db, { datasetId: dataset.id, networkId: network.id });
      await cancelJob(t.db, DEFAULT_TENANT_ID, job.id);
      expect(await deleteDataset(t.db, DEFAULT_TENANT_ID, dataset.id)).toMatchObject({ kept: true });
      jobs.push(job.id);
    }
    expect(await deleteJob(t.db, DEFAULT_TENANT_ID, jobs[0]!)).toEqual({ deleted: true });
    expect(await getDataset(t.db, DEFAULT_TENANT_ID, viaDeleteJob.id)).toBeNull();
    // A job row removed some other way (an operator, a race of two job deletes): the sweep.
    await t.db.trainingJob.delete({ where: { id: jobs[1]! } });
    expect(await getDataset(t.db, DEFAULT_TENANT_ID, viaSweep.id)).not.toBeNull();
    expect(await sweepStorage(t.db)).toMatchObject({ rows: 1 });
    expect(await getDataset(t.db, DEFAULT_TENANT_ID, viaSweep.id)).toBeNull();
    expect(await getDataset(t.db, DEFAULT_TENANT_ID, (await makeDataset(t.db)).id)).not.toBeNull();
    expect(await sweepStorage(t.db)).toEqual({ checkpoints: 0, rows: 0 });
  });

  it('a cancelled job no longer makes the dataset in use', async () => {
    const dataset = await makeDataset(t.db);
    const network = await makeNetwork(t.db);
    const job = await makeJob(t.db, { datasetId: dataset.id, networkId: network.id });
    await cancelJob(t.db, DEFAULT_TENANT_ID, job.id);
    expect(await deleteDataset(t.db, DEFAULT_TENANT_ID, dataset.id)).toMatchObject({
      deleted: true,
      kept: true,
    });
  });
});

describe('pagination', () => {
  it('pages newest first through every row exactly once, ties on createdAt broken by id', async () => {
    const tenant = (await t.db.tenant.create({ data: { name: 'pager' } })).id;
    const at = new Date('2026-01-01T00:00:00.000Z');
    // 7 networks, 4 of them created in the same millisecond
    for (let i = 0; i < 7; i++) {
      await t.db.network.create({
        data: {
          tenantId: tenant,
          name: `n${i}`,
          inputSize: 1,
          layers: [],
          init: 'he',
          parameterCount: 1,
          createdAt: i < 4 ? at : new Date(at.getTime() + i),
        },
      });
    }
    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const page = await listNetworks(t.db, tenant, { limit: 3, cursor });
      sizes.push(page.items.length);
      seen.push(...page.items.map((network) => network.name));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(sizes).toEqual([3, 3, 1]);
    expect(seen.slice(0, 3)).toEqual(['n6', 'n5', 'n4']);
    expect(new Set(seen).size).toBe(7);

    const all = await listNetworks(t.db, tenant, { limit: 100 });
    expect(all.items.map((network) => network.name)).toEqual(seen);
    expect(all.nextCursor).toBeNull();
  });

  it('clamps the limit and rejects a forged cursor', async () => {
    for (let i = 0; i < 3; i++) await makeDataset(t.db);
    expect((await listDatasets(t.db, DEFAULT_TENANT_ID, { limit: 0 })).items).toHaveLength(1);
    const page = await listDatasets(t.db, DEFAULT_TENANT_ID, { limit: 2 });
    expect(page.items[0]).not.toHaveProperty('x');
    await expect(listDatasets(t.db, DEFAULT_TENANT_ID, { cursor: 'garbage' })).rejects.toThrow(
      InvalidCursorError,
    );
    const forged = Buffer.from(JSON.stringify(['2026-01-01T00:00:00.000Z', "1' OR 1=1"])).toString(
      'base64url',
    );
    await expect(listDatasets(t.db, DEFAULT_TENANT_ID, { cursor: forged })).rejects.toThrow(
      InvalidCursorError,
    );
  });
});
