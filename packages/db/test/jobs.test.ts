import { deserialize, serializeBinary } from '@backprop/nn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bytesToFloat64,
  cancelJob,
  claimJob,
  claimJobWithinTenantCap,
  completeJob,
  createJob,
  createTenant,
  DEFAULT_TENANT_ID,
  failJob,
  findJobsToReconcile,
  getCheckpoint,
  getJob,
  getModelWithParameters,
  listJobs,
  recordProgress,
  releaseJob,
  renewLease,
  saveCheckpoint,
} from '../src/index.ts';
import { createTestDatabase, type TestDatabase } from '../src/testing.ts';
import { makeDataset, makeJob, makeNetwork, modelOutput } from './helpers.ts';

let t: TestDatabase;
let refs: { datasetId: string; networkId: string };

beforeAll(async () => {
  t = await createTestDatabase({ poolMax: 12 });
  const [dataset, network] = [await makeDataset(t.db), await makeNetwork(t.db)];
  refs = { datasetId: dataset.id, networkId: network.id };
});
afterAll(() => t.drop());

const LEASE = 60_000;
const costs = (n: number) => new Float64Array(n).map((_, i) => 1 / (i + 1));

async function completeWith(jobId: string, attempt: number) {
  return completeJob(t.db, {
    jobId,
    attempt,
    iteration: 100,
    cost: 0.01,
    costs: costs(11),
    model: modelOutput,
  });
}

describe('createJob idempotency', () => {
  it('10 concurrent calls with one key create exactly one job and all return it', async () => {
    const calls = Array.from({ length: 10 }, () =>
      createJob(t.db, {
        tenantId: DEFAULT_TENANT_ID,
        ...refs,
        training: { learningRate: 0.1 },
        iterations: 100,
        idempotencyKey: 'key-concurrent',
        requestHash: 'hash-a',
      }),
    );
    const results = await Promise.all(calls);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.job.id)).size).toBe(1);
    expect(results.every((r) => r.created || r.requestHashMatches)).toBe(true);
    expect(await t.db.trainingJob.count({ where: { idempotencyKey: 'key-concurrent' } })).toBe(1);
  });

  it('the same key with another body returns the first job and requestHashMatches false', async () => {
    const input = { tenantId: DEFAULT_TENANT_ID, ...refs, training: {}, iterations: 10, costEvery: 1 };
    const first = await createJob(t.db, { ...input, idempotencyKey: 'key-2', requestHash: 'h1' });
    const again = await createJob(t.db, { ...input, idempotencyKey: 'key-2', requestHash: 'h1' });
    const other = await createJob(t.db, { ...input, idempotencyKey: 'key-2', requestHash: 'h2' });
    expect(first.created).toBe(true);
    expect(again).toMatchObject({ created: false, requestHashMatches: true, job: { id: first.job.id } });
    expect(other).toMatchObject({ created: false, requestHashMatches: false, job: { id: first.job.id } });
  });

  it('without a key every call creates a job', async () => {
    const a = await makeJob(t.db, refs);
    const b = await makeJob(t.db, refs);
    expect(a.id).not.toBe(b.id);
    expect(a).toMatchObject({ status: 'queued', attempt: 0, iteration: 0, cost: null });
  });
});

describe('the job state machine', () => {
  it('claim → progress → checkpoint → complete, with one model and no checkpoint left', async () => {
    const job = await makeJob(t.db, refs);
    const claim = await claimJob(t.db, { jobId: job.id, workerId: 'w1', leaseMs: LEASE });
    expect(claim).not.toBeNull();
    expect(claim!.attempt).toBe(1);
    expect(claim!.job).toMatchObject({ status: 'running', attempt: 1, workerId: 'w1' });
    expect(claim!.job.startedAt).toBeInstanceOf(Date);
    expect(claim!.job.leaseExpiresAt!.getTime()).toBeGreaterThan(Date.now() + LEASE / 2);

    const progress = { jobId: job.id, attempt: 1, iteration: 50, cost: 0.3, costs: costs(6), leaseMs: LEASE };
    expect(await recordProgress(t.db, progress)).toBe(true);
    const mid = await getJob(t.db, DEFAULT_TENANT_ID, job.id);
    expect(mid).toMatchObject({ iteration: 50, cost: 0.3 });
    expect(Array.from(bytesToFloat64(mid!.costs))).toEqual(Array.from(costs(6)));

    const checkpoint = {
      jobId: job.id,
      attempt: 1,
      iteration: 50,
      snapshot: new Uint8Array([1, 2, 3]),
      state: { rng: [1, 2, 3, 4] },
      costs: costs(6),
    };
    expect(await saveCheckpoint(t.db, checkpoint)).toBe(true);
    expect(
      await saveCheckpoint(t.db, { ...checkpoint, iteration: 60, snapshot: new Uint8Array([4, 5, 6]) }),
    ).toBe(true);
    const saved = await getCheckpoint(t.db, job.id);
    expect(saved).toMatchObject({ iteration: 60, attempt: 1, state: { rng: [1, 2, 3, 4] } });
    expect(Array.from(saved!.snapshot)).toEqual([4, 5, 6]);

    const done = await completeWith(job.id, 1);
    expect(done).not.toBeNull();
    const finished = await getJob(t.db, DEFAULT_TENANT_ID, job.id);
    expect(finished).toMatchObject({ status: 'succeeded', iteration: 100, cost: 0.01, leaseExpiresAt: null });
    expect(finished!.finishedAt).toBeInstanceOf(Date);
    expect(await getCheckpoint(t.db, job.id)).toBeNull();

    const model = await getModelWithParameters(t.db, DEFAULT_TENANT_ID, done!.modelId);
    expect(model).toMatchObject({
      jobId: job.id,
      tenantId: DEFAULT_TENANT_ID,
      task: 'binary',
      classes: ['no', 'yes'],
    });
    // nn's model bytes, stored as given: they decode to the network that was trained.
    expect(serializeBinary(deserialize(model!.parameters))).toEqual(modelOutput.parameters);
  });

  it('a second completion (duplicate delivery) returns null and leaves exactly one model', async () => {
    const job = await makeJob(t.db, refs);
    const { attempt } = (await claimJob(t.db, { jobId: job.id, workerId: 'w1', leaseMs: LEASE }))!;
    const [a, b] = await Promise.all([completeWith(job.id, attempt), completeWith(job.id, attempt)]);
    expect([a, b].filter((result) => result !== null)).toHaveLength(1);
    expect(await completeWith(job.id, attempt)).toBeNull();
    expect(await t.db.model.count({ where: { jobId: job.id } })).toBe(1);
  });

  it('a new claim fences off the previous attempt', async () => {
    const job = await makeJob(t.db, refs);
    const first = await claimJob(t.db, { jobId: job.id, workerId: 'w1', leaseMs: LEASE });
    const startedAt = first!.job.startedAt;
    // the queue redelivers the job to another worker while the first is stalled
    const second = await claimJob(t.db, { jobId: job.id, workerId: 'w2', leaseMs: LEASE });
    expect(second).toMatchObject({ attempt: 2, job: { workerId: 'w2', startedAt } });

    const stale = { jobId: job.id, attempt: 1, iteration: 99, cost: 1, costs: costs(10), leaseMs: LEASE };
    expect(await recordProgress(t.db, stale)).toBe(false);
    expect(await renewLease(t.db, { jobId: job.id, attempt: 1, leaseMs: LEASE })).toBe(false);
    expect(
      await saveCheckpoint(t.db, {
        jobId: job.id,
        attempt: 1,
        iteration: 99,
        snapshot: new Uint8Array(1),
        state: {},
        costs: costs(1),
      }),
    ).toBe(false);
    expect(await completeWith(job.id, 1)).toBeNull();
    expect(await failJob(t.db, { jobId: job.id, attempt: 1, code: 'X', message: 'late' })).toBe(false);

    expect(await renewLease(t.db, { jobId: job.id, attempt: 2, leaseMs: LEASE })).toBe(true);
    expect(await completeWith(job.id, 2)).not.toBeNull();
    expect(await t.db.model.count({ where: { jobId: job.id } })).toBe(1);
  });

  it('progress, checkpoints and completion after a cancel are refused', async () => {
    const job = await makeJob(t.db, refs);
    const { attempt } = (await claimJob(t.db, { jobId: job.id, workerId: 'w1', leaseMs: LEASE }))!;
    const cancelled = await cancelJob(t.db, DEFAULT_TENANT_ID, job.id);
    expect(cancelled).toMatchObject({ outcome: 'cancelled', job: { status: 'cancelled' } });

    expect(
      await recordProgress(t.db, {
        jobId: job.id,
        attempt,
        iteration: 10,
        cost: 1,
        costs: costs(2),
        leaseMs: LEASE,
      }),
    ).toBe(false);
    expect(
      await saveCheckpoint(t.db, {
        jobId: job.id,
        attempt,
        iteration: 10,
        snapshot: new Uint8Array(1),
        state: {},
        costs: costs(2),
      }),
    ).toBe(false);
    expect(await getCheckpoint(t.db, job.id)).toBeNull();
    expect(await completeWith(job.id, attempt)).toBeNull();
    expect(await t.db.model.count({ where: { jobId: job.id } })).toBe(0);
    expect(await claimJob(t.db, { jobId: job.id, workerId: 'w2', leaseMs: LEASE })).toBeNull();
    expect(await getJob(t.db, DEFAULT_TENANT_ID, job.id)).toMatchObject({ status: 'cancelled' });
  });

  it('terminal states never change', async () => {
    const succeeded = await makeJob(t.db, refs);
    const { attempt } = (await claimJob(t.db, { jobId: succeeded.id, workerId: 'w', leaseMs: LEASE }))!;
    await completeWith(succeeded.id, attempt);

    const failed = await makeJob(t.db, refs);
    expect(
      await failJob(t.db, { jobId: failed.id, code: 'BP_ERR_DIVERGED', message: 'cost became NaN' }),
    ).toBe(true);
    expect(await getJob(t.db, DEFAULT_TENANT_ID, failed.id)).toMatchObject({
      status: 'failed',
      errorCode: 'BP_ERR_DIVERGED',
      errorMessage: 'cost became NaN',
    });

    const cancelled = await makeJob(t.db, refs);
    expect(await cancelJob(t.db, DEFAULT_TENANT_ID, cancelled.id)).toMatchObject({ outcome: 'cancelled' });

    for (const [job, status] of [
      [succeeded, 'succeeded'],
      [failed, 'failed'],
      [cancelled, 'cancelled'],
    ] as const) {
      expect(await claimJob(t.db, { jobId: job.id, workerId: 'w', leaseMs: LEASE })).toBeNull();
      expect(await failJob(t.db, { jobId: job.id, code: 'X', message: 'x' })).toBe(false);
      expect(await cancelJob(t.db, DEFAULT_TENANT_ID, job.id)).toEqual({
        outcome: 'already_terminal',
        status,
      });
      expect(await completeWith(job.id, 1)).toBeNull();
      expect(await getJob(t.db, DEFAULT_TENANT_ID, job.id)).toMatchObject({ status });
    }
  });

  it('the latest cost keeps its exact value, NaN and ±Infinity included (not null)', async () => {
    const job = await makeJob(t.db, refs);
    const { attempt } = (await claimJob(t.db, { jobId: job.id, workerId: 'w', leaseMs: LEASE }))!;
    for (const cost of [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      -0,
      0.1 + 0.2,
      5e-324,
      1e308,
    ]) {
      const history = new Float64Array([0.7, 0.5, cost]);
      expect(
        await recordProgress(t.db, {
          jobId: job.id,
          attempt,
          iteration: 20,
          cost,
          costs: history,
          leaseMs: LEASE,
        }),
      ).toBe(true);
      const stored = await getJob(t.db, DEFAULT_TENANT_ID, job.id);
      expect(Object.is(stored!.cost, cost)).toBe(true);
      expect(Object.is(bytesToFloat64(stored!.costs)[2], cost)).toBe(true);
    }
  });

  it('progress appends the new costs after costsFrom; a retry of the same write changes nothing', async () => {
    const job = await makeJob(t.db, refs);
    const { attempt } = (await claimJob(t.db, { jobId: job.id, workerId: 'w', leaseMs: LEASE }))!;
    const stored = async () =>
      Array.from(bytesToFloat64((await getJob(t.db, DEFAULT_TENANT_ID, job.id))!.costs));
    const write = (iteration: number, costsFrom: number, entries: number[]) =>
      recordProgress(t.db, {
        jobId: job.id,
        attempt,
        iteration,
        cost: entries.at(-1) ?? null,
        costsFrom,
        costs: Float64Array.from(entries),
        leaseMs: LEASE,
      });
    expect(await write(0, 0, [0.7])).toBe(true);
    expect(await write(10, 1, [0.6, Number.NaN, -0])).toBe(true);
    expect(await write(20, 4, [0.5])).toBe(true);
    expect(Object.is((await stored())[3], -0)).toBe(true);
    expect(await stored()).toEqual([0.7, 0.6, Number.NaN, -0, 0.5]);
    // A write whose answer was lost is sent again with more entries: the same positions are rewritten.
    expect(await write(30, 4, [0.5, 0.4])).toBe(true);
    expect(await write(30, 4, [0.5, 0.4])).toBe(true);
    expect(await stored()).toEqual([0.7, 0.6, Number.NaN, -0, 0.5, 0.4]);
    // Nothing new: the history stays.
    expect(await write(31, 6, [])).toBe(true);
    expect(await stored()).toEqual([0.7, 0.6, Number.NaN, -0, 0.5, 0.4]);
    // A resumed attempt starts over from its checkpoint's history (costsFrom 0 replaces it).
    expect(await write(20, 0, [0.7, 0.6])).toBe(true);
    expect(await stored()).toEqual([0.7, 0.6]);
    // Fenced by attempt: an older attempt appends nothing.
    await claimJob(t.db, { jobId: job.id, workerId: 'w2', leaseMs: LEASE });
    expect(await write(40, 2, [0.1])).toBe(false);
    expect(await stored()).toEqual([0.7, 0.6]);
    await expect(write(1, -1, [])).rejects.toThrow(/costsFrom must be an integer/);
  });

  it('refuses JSON with non-finite numbers instead of storing null', async () => {
    const job = await makeJob(t.db, refs);
    const { attempt } = (await claimJob(t.db, { jobId: job.id, workerId: 'w', leaseMs: LEASE }))!;
    await expect(
      completeJob(t.db, {
        jobId: job.id,
        attempt,
        iteration: 1,
        cost: 1,
        costs: costs(1),
        model: { ...modelOutput, metrics: { trainAccuracy: Number.NaN } },
      }),
    ).rejects.toThrow(RangeError);
    expect(await getJob(t.db, DEFAULT_TENANT_ID, job.id)).toMatchObject({ status: 'running' });
  });
});

describe('findJobsToReconcile', () => {
  it('finds old queued jobs and running jobs whose lease expired, not the others', async () => {
    const fresh = await makeJob(t.db, refs);
    const old = await makeJob(t.db, refs);
    await t.db
      .$executeRaw`UPDATE "TrainingJob" SET "createdAt" = now() - interval '10 minutes' WHERE "id" = ${old.id}::uuid`;
    const expired = await makeJob(t.db, refs);
    await claimJob(t.db, { jobId: expired.id, workerId: 'w', leaseMs: 1 });
    const leased = await makeJob(t.db, refs);
    await claimJob(t.db, { jobId: leased.id, workerId: 'w', leaseMs: LEASE });
    await new Promise((resolve) => setTimeout(resolve, 20));

    const found = await findJobsToReconcile(t.db, { olderThanMs: 60_000, limit: 1000 });
    const ids = found.map((job) => job.id);
    expect(ids).toContain(old.id);
    expect(ids).toContain(expired.id);
    expect(ids).not.toContain(fresh.id);
    expect(ids).not.toContain(leased.id);
    expect(found.find((job) => job.id === expired.id)).toMatchObject({ status: 'running', attempt: 1 });
    expect(found.find((job) => job.id === old.id)).toMatchObject({
      status: 'queued',
      tenantId: DEFAULT_TENANT_ID,
    });
  });
});

describe('listJobs', () => {
  it('filters by status and pages through everything exactly once', async () => {
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await listJobs(t.db, DEFAULT_TENANT_ID, { limit: 3, cursor });
      expect(page.items.length).toBeLessThanOrEqual(3);
      expect(page.items[0]).not.toHaveProperty('costs');
      all.push(...page.items.map((job) => job.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBe(await t.db.trainingJob.count());

    const succeeded = await listJobs(t.db, DEFAULT_TENANT_ID, { status: 'succeeded', limit: 100 });
    expect(succeeded.items.length).toBeGreaterThan(0);
    expect(succeeded.items.every((job) => job.status === 'succeeded')).toBe(true);
    const active = await listJobs(t.db, DEFAULT_TENANT_ID, { status: ['queued', 'running'], limit: 100 });
    expect(active.items.every((job) => job.status === 'queued' || job.status === 'running')).toBe(true);
  });
});

describe('claims under a per-tenant cap on running jobs', () => {
  /** A tenant of its own, so no other test's jobs count against its cap. */
  async function tenantWithJobs(count: number) {
    const tenant = await createTenant(t.db, { name: `capped-${Math.random()}` });
    const dataset = await makeDataset(t.db, tenant.id);
    const network = await makeNetwork(t.db, tenant.id);
    const jobs = [];
    for (let i = 0; i < count; i++) {
      jobs.push(await makeJob(t.db, { tenantId: tenant.id, datasetId: dataset.id, networkId: network.id }));
    }
    return { tenant, jobs };
  }
  const claim = (jobId: string, tenantMaxRunning: number, leaseMs = LEASE) =>
    claimJobWithinTenantCap(t.db, { jobId, workerId: 'w', leaseMs, tenantMaxRunning });

  it('takes jobs up to the cap, defers the rest in creation order, and takes the next once one ends', async () => {
    const { jobs } = await tenantWithJobs(4);
    const [a, b, c, d] = jobs.map((j) => j.id) as [string, string, string, string];
    // Only the oldest waiting job may take a free place: c and d are behind b.
    expect(await claim(c, 2)).toMatchObject({ outcome: 'deferred', ahead: 2 });
    const first = await claim(a, 2);
    expect(first).toMatchObject({ outcome: 'claimed', attempt: 1 });
    expect(await claim(d, 2)).toMatchObject({ outcome: 'deferred', ahead: 3 });
    expect(await claim(b, 2)).toMatchObject({ outcome: 'claimed', attempt: 1 });
    expect(await claim(c, 2)).toMatchObject({ outcome: 'deferred', ahead: 2 });
    expect((await getJob(t.db, jobs[2]!.tenantId, c))?.status).toBe('queued');
    expect((await getJob(t.db, jobs[2]!.tenantId, c))?.attempt).toBe(0);

    await completeWith(a, 1);
    expect(await claim(d, 2)).toMatchObject({ outcome: 'deferred', ahead: 2 });
    expect(await claim(c, 2)).toMatchObject({ outcome: 'claimed', attempt: 1 });
    expect(await claim(a, 2)).toEqual({ outcome: 'finished' });
  });

  it("another tenant's jobs do not count, and 0 means no cap", async () => {
    const one = await tenantWithJobs(2);
    const other = await tenantWithJobs(1);
    expect((await claim(one.jobs[0]!.id, 1)).outcome).toBe('claimed');
    expect((await claim(one.jobs[1]!.id, 1)).outcome).toBe('deferred');
    expect((await claim(other.jobs[0]!.id, 1)).outcome).toBe('claimed');
    expect((await claim(one.jobs[1]!.id, 0)).outcome).toBe('claimed');
  });

  it('a running job whose lease expired (its worker died) holds no running place but keeps its turn', async () => {
    const { jobs } = await tenantWithJobs(3);
    const [dead, next, last] = jobs.map((j) => j.id) as [string, string, string];
    expect((await claim(dead, 1, 1)).outcome).toBe('claimed');
    await new Promise((r) => setTimeout(r, 20));
    // Its worker is gone: with room for two, a newer job starts beside it...
    expect(await claim(next, 2)).toMatchObject({ outcome: 'claimed', attempt: 1 });
    // ...but with room for one, the dead worker's job is taken again first (not blocked by itself).
    expect(await claim(last, 2)).toMatchObject({ outcome: 'deferred', ahead: 2 });
    expect(await claim(dead, 2)).toMatchObject({ outcome: 'claimed', attempt: 2 });
    expect(await claim(last, 2)).toMatchObject({ outcome: 'deferred', ahead: 2 });
  });

  it('concurrent claims of one tenant never exceed the cap', async () => {
    const { jobs } = await tenantWithJobs(8);
    const results = await Promise.all(jobs.map((j) => claim(j.id, 3)));
    expect(results.filter((r) => r.outcome === 'claimed')).toHaveLength(3);
    const running = await t.db.trainingJob.count({
      where: { tenantId: jobs[0]!.tenantId, status: 'running' },
    });
    expect(running).toBe(3);
  });
});

describe('releaseJob: a graceful shutdown hands the job back', () => {
  it('running → queued with its progress kept, no lease; fenced on the attempt; claimed again as attempt 2', async () => {
    const job = await makeJob(t.db, refs);
    const { attempt } = (await claimJob(t.db, { jobId: job.id, workerId: 'w1', leaseMs: LEASE }))!;
    expect(
      await recordProgress(t.db, {
        jobId: job.id,
        attempt,
        iteration: 40,
        cost: 0.5,
        costs: costs(5),
        leaseMs: LEASE,
      }),
    ).toBe(true);
    expect(await releaseJob(t.db, { jobId: job.id, attempt: attempt + 1 })).toBe(false);
    expect(await releaseJob(t.db, { jobId: job.id, attempt })).toBe(true);
    const released = await getJob(t.db, DEFAULT_TENANT_ID, job.id);
    expect(released).toMatchObject({
      status: 'queued',
      iteration: 40,
      attempt: 1,
      workerId: null,
      leaseExpiresAt: null,
    });
    expect(released?.startedAt).not.toBeNull();
    // The released attempt's writes are refused from now on.
    expect(
      await recordProgress(t.db, {
        jobId: job.id,
        attempt,
        iteration: 41,
        cost: 0.5,
        costs: costs(5),
        leaseMs: LEASE,
      }),
    ).toBe(false);
    expect(await releaseJob(t.db, { jobId: job.id, attempt })).toBe(false);
    expect((await claimJob(t.db, { jobId: job.id, workerId: 'w2', leaseMs: LEASE }))?.attempt).toBe(2);
    // A cancelled job is never handed back.
    expect(await cancelJob(t.db, DEFAULT_TENANT_ID, job.id)).toMatchObject({ outcome: 'cancelled' });
    expect(await releaseJob(t.db, { jobId: job.id, attempt: 2 })).toBe(false);
  });
});
