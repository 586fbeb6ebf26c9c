// Usage sums, active job counts and the tenant lock that makes quota checks exact.
import { describe, expect, it } from 'vitest';
import {
  cancelJob,
  claimJob,
  completeJob,
  countActiveJobs,
  createDatasetWithinQuota,
  createJob,
  createJobWithinQuota,
  createTenant,
  type DbOrTx,
  deleteDataset,
  getStoredBytes,
  getTenantUsage,
  storedModelBytes,
  UnknownTenantError,
  withTenantLock,
} from '../src/index.ts';
import {
  makeDataset,
  makeJob,
  makeNetwork,
  modelOutput,
  TINY_DATASET_BYTES,
  tinyDataset,
  useTestDatabase,
} from './helpers.ts';

const t = useTestDatabase({ poolMax: 8 });

async function tenant(name: string): Promise<string> {
  return (await createTenant(t.db, { name })).id;
}

/** The helpers' dataset: 3 samples × 2 small integer features as bytes, 3 labels as float64. */
const DATASET_BYTES = 3 * 2 * 1 + 3 * 8;
/** The helpers' network: 2-4-1, 17 parameters, in nn's binary format (what a job reserves). */
const MODEL_BYTES = storedModelBytes(2, 17);

describe('getStoredBytes and countActiveJobs', () => {
  it('sum datasets, models and what active jobs will store, per tenant', async () => {
    const mine = await tenant('usage-sums');
    const other = await tenant('usage-sums-other');
    expect(await getStoredBytes(t.db, mine)).toEqual({ datasets: 0, models: 0, reserved: 0, checkpoints: 0 });

    const dataset = await makeDataset(t.db, mine);
    const network = await makeNetwork(t.db, mine);
    await makeDataset(t.db, other); // another tenant's rows count for it only
    expect(dataset.byteSize).toBe(DATASET_BYTES);
    expect(await getStoredBytes(t.db, mine)).toEqual({
      datasets: DATASET_BYTES,
      models: 0,
      reserved: 0,
      checkpoints: 0,
    });

    const jobs = [];
    for (let i = 0; i < 3; i++)
      jobs.push(await makeJob(t.db, { tenantId: mine, datasetId: dataset.id, networkId: network.id }));
    expect(await countActiveJobs(t.db, mine)).toBe(3);
    expect(await countActiveJobs(t.db, other)).toBe(0);
    expect(await getStoredBytes(t.db, mine)).toEqual({
      datasets: DATASET_BYTES,
      models: 0,
      reserved: 3 * MODEL_BYTES,
      checkpoints: 0,
    });

    // Completing a job turns its reservation into model bytes; cancelling one frees it.
    const { attempt } = (await claimJob(t.db, { jobId: jobs[0]!.id, workerId: 'w', leaseMs: 60_000 }))!;
    expect(await countActiveJobs(t.db, mine)).toBe(3); // running is active
    await completeJob(t.db, {
      jobId: jobs[0]!.id,
      attempt,
      iteration: 100,
      cost: 0.1,
      costs: new Float64Array([1, 0.1]),
      model: modelOutput,
    });
    await cancelJob(t.db, mine, jobs[1]!.id);
    expect(await countActiveJobs(t.db, mine)).toBe(1);
    expect(await getStoredBytes(t.db, mine)).toEqual({
      datasets: DATASET_BYTES,
      models: MODEL_BYTES,
      reserved: MODEL_BYTES,
      checkpoints: 0,
    });
  });

  it('are zero for an unknown or malformed tenant id', async () => {
    expect(await getStoredBytes(t.db, '00000000-0000-4000-8000-00000000abcd')).toEqual({
      datasets: 0,
      models: 0,
      reserved: 0,
      checkpoints: 0,
    });
    expect(await getStoredBytes(t.db, 'nope')).toEqual({
      datasets: 0,
      models: 0,
      reserved: 0,
      checkpoints: 0,
    });
    expect(await countActiveJobs(t.db, 'nope')).toBe(0);
  });
});

describe('getTenantUsage', () => {
  it('counts every kind of row by tenant, jobs by status', async () => {
    const mine = await tenant('usage-counts');
    const first = await makeDataset(t.db, mine);
    const second = await makeDataset(t.db, mine, 'second');
    const network = await makeNetwork(t.db, mine);
    const refs = { tenantId: mine, datasetId: first.id, networkId: network.id };
    const [a, b] = [await makeJob(t.db, refs), await makeJob(t.db, refs)];
    await makeJob(t.db, refs);
    const { attempt } = (await claimJob(t.db, { jobId: a.id, workerId: 'w', leaseMs: 60_000 }))!;
    await completeJob(t.db, {
      jobId: a.id,
      attempt,
      iteration: 1,
      cost: 1,
      costs: new Float64Array([1]),
      model: modelOutput,
    });
    await cancelJob(t.db, mine, b.id);
    expect(await deleteDataset(t.db, mine, second.id)).toEqual({ deleted: true, kept: false });

    expect(await getTenantUsage(t.db, mine)).toEqual({
      storedBytes: { datasets: DATASET_BYTES, models: MODEL_BYTES, reserved: MODEL_BYTES, checkpoints: 0 },
      datasets: 1,
      networks: 1,
      models: 1,
      jobs: { queued: 1, running: 0, succeeded: 1, failed: 0, cancelled: 1 },
    });
    const empty = await getTenantUsage(t.db, await tenant('usage-empty'));
    expect(empty).toEqual({
      storedBytes: { datasets: 0, models: 0, reserved: 0, checkpoints: 0 },
      datasets: 0,
      networks: 0,
      models: 0,
      jobs: { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 },
    });
  });
});

describe('withTenantLock', () => {
  /** A tenant with a dataset and a network, and a quota check: count its active jobs, then insert one under `limit`. */
  async function countThenInsert(name: string, limit: number) {
    const tenantId = await tenant(name);
    const dataset = await makeDataset(t.db, tenantId);
    const network = await makeNetwork(t.db, tenantId);
    const insertUnderLimit = async (tx: DbOrTx) => {
      if ((await countActiveJobs(tx, tenantId)) >= limit) return 'refused' as const;
      // Widen the window between the count and the insert: without the lock, all would pass.
      await tx.$executeRaw`SELECT pg_sleep(0.02)`;
      await createJob(tx, {
        tenantId,
        datasetId: dataset.id,
        networkId: network.id,
        training: { learningRate: 0.1, iterations: 10 },
        iterations: 10,
      });
      return 'created' as const;
    };
    return { tenantId, insertUnderLimit };
  }

  it('serialises count-then-insert: concurrent callers never exceed a limit', async () => {
    const LIMIT = 3;
    const { tenantId: mine, insertUnderLimit } = await countThenInsert('usage-lock', LIMIT);
    const attempt = () => withTenantLock(t.db, mine, insertUnderLimit);
    const outcomes = await Promise.all(Array.from({ length: 8 }, attempt));
    expect(outcomes.filter((o) => o === 'created')).toHaveLength(LIMIT);
    expect(await countActiveJobs(t.db, mine)).toBe(LIMIT);
  });

  it('negative control: the same race without the lock overshoots the limit', async () => {
    const { tenantId: mine, insertUnderLimit } = await countThenInsert('usage-nolock', 3);
    const attempt = () => t.db.$transaction(insertUnderLimit);
    await Promise.all(Array.from({ length: 8 }, attempt));
    expect(await countActiveJobs(t.db, mine)).toBeGreaterThan(3);
  });

  it('does not block the inserts of another tenant, nor a model written for this one', async () => {
    const mine = await tenant('usage-lock-others');
    const other = await tenant('usage-lock-others-2');
    const dataset = await makeDataset(t.db, mine);
    const network = await makeNetwork(t.db, mine);
    const job = await makeJob(t.db, { tenantId: mine, datasetId: dataset.id, networkId: network.id });
    const { attempt } = (await claimJob(t.db, { jobId: job.id, workerId: 'w', leaseMs: 60_000 }))!;
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => {
      locked = r;
    });
    const holder = withTenantLock(t.db, mine, async () => {
      locked();
      await held;
    });
    await isLocked;
    try {
      // Both take FOR KEY SHARE on a tenant row (foreign keys): neither waits for the lock.
      const started = Date.now();
      await makeDataset(t.db, other);
      const done = await completeJob(t.db, {
        jobId: job.id,
        attempt,
        iteration: 1,
        cost: 1,
        costs: new Float64Array([1]),
        model: modelOutput,
      });
      expect(done).not.toBeNull();
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      release();
      await holder;
    }
  });

  it('refuses an unknown tenant', async () => {
    await expect(withTenantLock(t.db, '00000000-0000-4000-8000-00000000dead', async () => 1)).rejects.toThrow(
      UnknownTenantError,
    );
    await expect(withTenantLock(t.db, 'x', async () => 1)).rejects.toThrow(UnknownTenantError);
  });
});

describe('createJobWithinQuota', () => {
  const input = (tenantId: string, datasetId: string, networkId: string, key: string | null = null) => ({
    tenantId,
    datasetId,
    networkId,
    training: { learningRate: 0.1, iterations: 10 },
    iterations: 10,
    idempotencyKey: key,
    requestHash: key ? 'hash' : null,
  });

  it('refuses beyond maxActiveJobs under concurrency, and admits again once a job is terminal', async () => {
    const mine = await tenant('quota-jobs');
    const dataset = await makeDataset(t.db, mine);
    const network = await makeNetwork(t.db, mine);
    const quota = { maxActiveJobs: 2, maxStoredBytes: 1e9, modelBytes: MODEL_BYTES };
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, () => createJobWithinQuota(t.db, input(mine, dataset.id, network.id), quota)),
    );
    expect(outcomes.filter((o) => o.outcome === 'done')).toHaveLength(2);
    expect(outcomes.filter((o) => o.outcome === 'active_jobs')).toEqual(
      Array.from({ length: 4 }, () => ({ outcome: 'active_jobs', active: 2 })),
    );
    const first = outcomes.find((o) => o.outcome === 'done');
    if (first?.outcome !== 'done') throw new Error('unreachable');
    await cancelJob(t.db, mine, first.result.job.id);
    expect((await createJobWithinQuota(t.db, input(mine, dataset.id, network.id), quota)).outcome).toBe(
      'done',
    );
  });

  it('returns the job of a known Idempotency-Key even when the quota is full', async () => {
    const mine = await tenant('quota-idempotent');
    const dataset = await makeDataset(t.db, mine);
    const network = await makeNetwork(t.db, mine);
    const quota = { maxActiveJobs: 1, maxStoredBytes: 1e9, modelBytes: MODEL_BYTES };
    const first = await createJobWithinQuota(t.db, input(mine, dataset.id, network.id, 'k1'), quota);
    expect(first).toMatchObject({ outcome: 'done', result: { created: true } });
    const again = await createJobWithinQuota(t.db, input(mine, dataset.id, network.id, 'k1'), quota);
    expect(again).toMatchObject({ outcome: 'done', result: { created: false, requestHashMatches: true } });
    if (again.outcome !== 'done' || first.outcome !== 'done') throw new Error('unreachable');
    expect(again.result.job.id).toBe(first.result.job.id);
    const other = await createJobWithinQuota(t.db, input(mine, dataset.id, network.id, 'k2'), quota);
    expect(other).toEqual({ outcome: 'active_jobs', active: 1 });
  });

  it('refuses a job whose model would not fit in the stored-bytes quota, counting reservations', async () => {
    const mine = await tenant('quota-job-bytes');
    const dataset = await makeDataset(t.db, mine);
    const network = await makeNetwork(t.db, mine);
    const quota = {
      maxActiveJobs: 10,
      maxStoredBytes: DATASET_BYTES + 2 * MODEL_BYTES,
      modelBytes: MODEL_BYTES,
    };
    for (let i = 0; i < 2; i++) {
      expect((await createJobWithinQuota(t.db, input(mine, dataset.id, network.id), quota)).outcome).toBe(
        'done',
      );
    }
    expect(await createJobWithinQuota(t.db, input(mine, dataset.id, network.id), quota)).toEqual({
      outcome: 'storage_quota',
      stored: DATASET_BYTES + 2 * MODEL_BYTES,
      requested: MODEL_BYTES,
    });
  });
});

describe('createDatasetWithinQuota', () => {
  const dataset = (tenantId: string) => tinyDataset(tenantId, 'q');
  const BYTES = TINY_DATASET_BYTES;

  it('stores up to the quota exactly, concurrently, and refuses the rest naming the sizes', async () => {
    const mine = await tenant('quota-datasets');
    const outcomes = await Promise.all(
      Array.from({ length: 5 }, () => createDatasetWithinQuota(t.db, dataset(mine), 3 * BYTES)),
    );
    expect(outcomes.filter((o) => o.outcome === 'created')).toHaveLength(3);
    expect(outcomes.filter((o) => o.outcome === 'storage_quota')).toEqual(
      Array.from({ length: 2 }, () => ({ outcome: 'storage_quota', stored: 3 * BYTES, requested: BYTES })),
    );
    expect((await getStoredBytes(t.db, mine)).datasets).toBe(3 * BYTES);
  });
});
