// A job's validation history (validation cost, then accuracy or MSE, per recorded cost) follows
// its cost history: appended positionally by recordProgress (a retry changes nothing), carried by
// checkpoints, counted with them in the stored bytes, and left out of job lists.
import { describe, expect, it } from 'vitest';
import {
  bytesToFloat64,
  claimJob,
  createTenant,
  getCheckpoint,
  getStoredBytes,
  listJobs,
  recordProgress,
  saveCheckpoint,
} from '../src/index.ts';
import { makeDataset, makeJob, makeNetwork, useTestDatabase } from './helpers.ts';

const t = useTestDatabase();
const LEASE = 60_000;

async function runningJob(name: string) {
  const tenantId = (await createTenant(t.db, { name })).id;
  const dataset = await makeDataset(t.db, tenantId);
  const network = await makeNetwork(t.db, tenantId);
  const job = await makeJob(t.db, { tenantId, datasetId: dataset.id, networkId: network.id });
  const claimed = await claimJob(t.db, { jobId: job.id, workerId: 'test', leaseMs: LEASE });
  return { tenantId, jobId: job.id, attempt: claimed!.attempt };
}

async function stored(jobId: string) {
  const row = await t.db.trainingJob.findUniqueOrThrow({ where: { id: jobId } });
  return {
    costs: Array.from(bytesToFloat64(row.costs)),
    validation: Array.from(bytesToFloat64(row.validationHistory)),
  };
}

describe('validation history', () => {
  it('is appended after the entries the row holds, two values an entry, and a retried write changes nothing', async () => {
    const { jobId, attempt } = await runningJob('vh-append');
    const write = (costsFrom: number, costs: number[], validation: number[]) =>
      recordProgress(t.db, {
        jobId,
        attempt,
        iteration: 10,
        cost: costs.at(-1) ?? null,
        costsFrom,
        costs: Float64Array.from(costs),
        validationHistory: Float64Array.from(validation),
        leaseMs: LEASE,
      });
    expect(await write(0, [0.7, 0.6], [0.71, 0.5, 0.65, 0.55])).toBe(true);
    expect(await write(2, [0.5], [0.6, 0.75])).toBe(true);
    // The same write again (a retry after a lost answer): nothing doubles.
    expect(await write(2, [0.5], [0.6, 0.75])).toBe(true);
    expect(await stored(jobId)).toEqual({
      costs: [0.7, 0.6, 0.5],
      validation: [0.71, 0.5, 0.65, 0.55, 0.6, 0.75],
    });
    // Without a split the history stays empty.
    const other = await runningJob('vh-none');
    expect(
      await recordProgress(t.db, {
        ...other,
        iteration: 1,
        cost: 0.7,
        costs: Float64Array.of(0.7),
        leaseMs: LEASE,
      }),
    ).toBe(true);
    expect((await stored(other.jobId)).validation).toEqual([]);
  });

  it('rides with the checkpoint, which counts its bytes; job lists leave it out', async () => {
    const { tenantId, jobId, attempt } = await runningJob('vh-checkpoint');
    const before = (await getStoredBytes(t.db, tenantId)).checkpoints;
    expect(before).toBe(0);
    const validationHistory = Float64Array.of(0.7, 0.5, 0.6, 0.75);
    expect(
      await saveCheckpoint(t.db, {
        jobId,
        attempt,
        iteration: 20,
        snapshot: new Uint8Array(100),
        state: { normalization: { kind: 'none' } },
        costs: Float64Array.of(0.69, 0.6),
        validationHistory,
      }),
    ).toBe(true);
    const checkpoint = await getCheckpoint(t.db, jobId);
    expect(Array.from(bytesToFloat64(checkpoint!.validationHistory))).toEqual(Array.from(validationHistory));
    expect((await getStoredBytes(t.db, tenantId)).checkpoints).toBe(100 + 16 + 32);
    const page = await listJobs(t.db, tenantId);
    expect(page.items[0]).not.toHaveProperty('validationHistory');
  });
});
