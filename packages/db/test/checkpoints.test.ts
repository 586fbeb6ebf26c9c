// Checkpoints live only while their job can still resume: every terminal transition removes the
// checkpoint in the transaction that changes the status, a sweep removes any left behind, and
// while one exists it counts in the tenant's stored bytes and its quota (issue 7, item 4).
import { describe, expect, it } from 'vitest';
import {
  cancelJob,
  claimJob,
  completeJob,
  createDatasetWithinQuota,
  createJobWithinQuota,
  createTenant,
  deleteCheckpointsOfFinishedJobs,
  failJob,
  getCheckpoint,
  getStoredBytes,
  getTenantUsage,
  saveCheckpoint,
  storedModelBytes,
} from '../src/index.ts';
import { makeDataset, makeJob, makeNetwork, modelOutput, tinyDataset, useTestDatabase } from './helpers.ts';

const t = useTestDatabase({ poolMax: 8 });

const LEASE = 60_000;
/** A checkpoint of 1 MiB: large enough that counting it or not is unmistakable. */
const SNAPSHOT_BYTES = 1 << 20;
const COSTS = new Float64Array([0.7, 0.5, 0.3]);
const CHECKPOINT_BYTES = SNAPSHOT_BYTES + COSTS.byteLength;

async function tenantWithRefs(name: string) {
  const tenantId = (await createTenant(t.db, { name })).id;
  const dataset = await makeDataset(t.db, tenantId);
  const network = await makeNetwork(t.db, tenantId);
  return { tenantId, datasetId: dataset.id, networkId: network.id };
}

/** A job claimed by a worker, with a checkpoint written through the repository. */
async function runningJobWithCheckpoint(refs: Awaited<ReturnType<typeof tenantWithRefs>>) {
  const job = await makeJob(t.db, refs);
  const claimed = await claimJob(t.db, { jobId: job.id, workerId: 'test', leaseMs: LEASE });
  expect(claimed).not.toBeNull();
  const saved = await saveCheckpoint(t.db, {
    jobId: job.id,
    attempt: claimed!.attempt,
    iteration: 40,
    snapshot: new Uint8Array(SNAPSHOT_BYTES).fill(7),
    state: { normalization: { kind: 'none' } },
    costs: COSTS,
  });
  expect(saved).toBe(true);
  return { jobId: job.id, attempt: claimed!.attempt };
}

describe('every terminal transition removes the checkpoint', () => {
  it('cancelled while running', async () => {
    const refs = await tenantWithRefs('ckpt-cancel-running');
    const { jobId } = await runningJobWithCheckpoint(refs);
    expect(await cancelJob(t.db, refs.tenantId, jobId)).toMatchObject({ outcome: 'cancelled' });
    expect(await getCheckpoint(t.db, jobId)).toBeNull();
  });

  it('cancelled while queued again (a released job keeps its checkpoint until then)', async () => {
    const refs = await tenantWithRefs('ckpt-cancel-queued');
    const { jobId } = await runningJobWithCheckpoint(refs);
    // What a graceful release does to the row: back to queued, the checkpoint kept for resuming.
    await t.db.trainingJob.update({ where: { id: jobId }, data: { status: 'queued' } });
    expect(await getCheckpoint(t.db, jobId)).not.toBeNull();
    expect(await cancelJob(t.db, refs.tenantId, jobId)).toMatchObject({ outcome: 'cancelled' });
    expect(await getCheckpoint(t.db, jobId)).toBeNull();
  });

  it("failed by its worker's attempt", async () => {
    const refs = await tenantWithRefs('ckpt-fail-attempt');
    const { jobId, attempt } = await runningJobWithCheckpoint(refs);
    expect(await failJob(t.db, { jobId, attempt, code: 'BP_ERR_DIVERGED', message: 'NaN cost' })).toBe(true);
    expect(await getCheckpoint(t.db, jobId)).toBeNull();
  });

  it('failed outside an attempt (the reconciler, BullMQ giving up on a stalled job)', async () => {
    const refs = await tenantWithRefs('ckpt-fail-reconciler');
    const { jobId } = await runningJobWithCheckpoint(refs);
    expect(await failJob(t.db, { jobId, code: 'BP_ERR_WORKER_LOST', message: 'stalled' })).toBe(true);
    expect(await getCheckpoint(t.db, jobId)).toBeNull();
  });

  it('succeeded', async () => {
    const refs = await tenantWithRefs('ckpt-succeeded');
    const { jobId, attempt } = await runningJobWithCheckpoint(refs);
    const done = await completeJob(t.db, {
      jobId,
      attempt,
      iteration: 100,
      cost: 0.1,
      costs: COSTS,
      model: modelOutput,
    });
    expect(done).not.toBeNull();
    expect(await getCheckpoint(t.db, jobId)).toBeNull();
  });

  it('a refused transition (already terminal, or a stale attempt) leaves a live checkpoint alone', async () => {
    const refs = await tenantWithRefs('ckpt-refused');
    const { jobId, attempt } = await runningJobWithCheckpoint(refs);
    expect(await failJob(t.db, { jobId, attempt: attempt + 1, code: 'X', message: 'stale' })).toBe(false);
    expect(await getCheckpoint(t.db, jobId)).not.toBeNull();
  });
});

describe('deleteCheckpointsOfFinishedJobs (the sweep)', () => {
  it('removes checkpoints whose job is terminal and keeps those of queued and running jobs', async () => {
    const refs = await tenantWithRefs('ckpt-sweep');
    const live = await runningJobWithCheckpoint(refs);
    const orphans = [await runningJobWithCheckpoint(refs), await runningJobWithCheckpoint(refs)];
    // Checkpoints left behind the way older code left them: the status changed, the row stayed.
    await t.db.trainingJob.updateMany({
      where: { id: { in: orphans.map((o) => o.jobId) } },
      data: { status: 'cancelled', finishedAt: new Date() },
    });
    expect(await t.db.checkpoint.count()).toBeGreaterThanOrEqual(3);

    expect(await deleteCheckpointsOfFinishedJobs(t.db)).toBe(2);
    for (const { jobId } of orphans) expect(await getCheckpoint(t.db, jobId)).toBeNull();
    expect(await getCheckpoint(t.db, live.jobId)).not.toBeNull();
    expect(await deleteCheckpointsOfFinishedJobs(t.db)).toBe(0);
  });
});

describe('checkpoints count in stored bytes while they exist', () => {
  it('getStoredBytes and getTenantUsage report them, per tenant, until the job finishes', async () => {
    const refs = await tenantWithRefs('ckpt-usage');
    const other = await tenantWithRefs('ckpt-usage-other');
    const { jobId } = await runningJobWithCheckpoint(refs);

    expect((await getStoredBytes(t.db, refs.tenantId)).checkpoints).toBe(CHECKPOINT_BYTES);
    expect((await getStoredBytes(t.db, other.tenantId)).checkpoints).toBe(0);
    expect((await getTenantUsage(t.db, refs.tenantId)).storedBytes.checkpoints).toBe(CHECKPOINT_BYTES);

    await cancelJob(t.db, refs.tenantId, jobId);
    expect((await getStoredBytes(t.db, refs.tenantId)).checkpoints).toBe(0);
  });

  it('the quota checks of uploads and jobs count them', async () => {
    const refs = await tenantWithRefs('ckpt-quota');
    await runningJobWithCheckpoint(refs);
    const bytes = await getStoredBytes(t.db, refs.tenantId);
    const withoutCheckpoints = bytes.datasets + bytes.models + bytes.reserved;
    // A quota that fits everything but the checkpoint: both checks must refuse.
    const max = withoutCheckpoints + 1024;

    const upload = await createDatasetWithinQuota(t.db, tinyDataset(refs.tenantId, 'small'), max);
    expect(upload).toMatchObject({ outcome: 'storage_quota', stored: withoutCheckpoints + CHECKPOINT_BYTES });

    const job = await createJobWithinQuota(
      t.db,
      {
        tenantId: refs.tenantId,
        datasetId: refs.datasetId,
        networkId: refs.networkId,
        training: {},
        iterations: 10,
      },
      { maxActiveJobs: 100, maxStoredBytes: max, modelBytes: storedModelBytes(2, 17) },
    );
    expect(job).toMatchObject({ outcome: 'storage_quota', stored: withoutCheckpoints + CHECKPOINT_BYTES });
  });
});
