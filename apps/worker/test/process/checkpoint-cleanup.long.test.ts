/**
 * Issue 7, item 4: a checkpoint lives only while its job can resume. With real worker processes:
 * cancelling a running job deletes its checkpoint in the cancel's own transaction (and the
 * stopping worker writes none after), /v1/usage counts the checkpoint while it exists, a job
 * failed by BullMQ's stalled handling (its worker killed) leaves no checkpoint behind either, and
 * the reconciler sweeps away a checkpoint that a finished job still has (as older code left them).
 */
import { describe, expect, it } from 'vitest';
import { eventually } from '../../../../harness/processes.ts';
import { jobLine, type Stack, useStack } from './harness.ts';

let stack: Stack;
const report = useStack('checkpoint-cleanup.long.test.ts', (created) => {
  stack = created;
});

/** Far longer than the test: it ends only by cancel or failure. Adam: the checkpoint holds moments. */
const endless = { learningRate: 0.01, optimizer: 'adam', iterations: 1_000_000, costEvery: 1000 };

const db = () => stack.ctx.database.db;

/** The checkpoint's stored bytes as Postgres counts them (snapshot + costs), or null. */
async function checkpointBytes(jobId: string): Promise<number | null> {
  const rows = await db().$queryRaw<{ bytes: bigint }[]>`
    SELECT octet_length("snapshot")::bigint + octet_length("costs") AS bytes
    FROM "Checkpoint" WHERE "jobId" = ${jobId}::uuid`;
  return rows[0] === undefined ? null : Number(rows[0].bytes);
}

async function usageCheckpoints(): Promise<number> {
  const usage = await stack.get<{ storedBytes: { checkpoints: number } }>('/v1/usage');
  expect(usage.status).toBe(200);
  return usage.body.storedBytes.checkpoints;
}

describe('checkpoints of finished jobs', () => {
  it('cancelling a running job deletes its checkpoint at once; usage counted it until then; none comes back', async () => {
    const worker = stack.spawnWorker();
    const jobId = await stack.startJob(endless, await stack.createNetwork(256));
    const bytes = await eventually(
      () => checkpointBytes(jobId),
      (b) => b !== null && b > 0,
      60_000,
    );
    // Adam's checkpoint: weights and two moments, 8 bytes each, at least.
    const parameters = 2 * 256 + 256 + 256 + 1;
    expect(bytes!).toBeGreaterThan(3 * 8 * parameters);
    // The checkpoint is overwritten every 300 ms: compare with a fresh read, same size each time.
    expect(await usageCheckpoints()).toBe(await checkpointBytes(jobId));

    const cancel = await stack.post<{ status: string }>(`/v1/jobs/${jobId}/cancel`);
    expect(cancel.status).toBe(200);
    expect(cancel.body.status).toBe('cancelled');
    // Same transaction as the status change: gone by the time the 200 arrives.
    expect(await checkpointBytes(jobId)).toBeNull();
    expect(await usageCheckpoints()).toBe(0);

    // The worker stops the thread; a checkpoint it had in flight is refused (the job is not running).
    await worker.waitForLog((l) => l.jobId === jobId && l.msg === 'training thread ended', 30_000);
    await new Promise((r) => setTimeout(r, 1000)); // three more checkpoint intervals
    expect(await checkpointBytes(jobId)).toBeNull();
    expect(await usageCheckpoints()).toBe(0);
    report.record('checkpointOfCancelledJob', { bytesBeforeCancel: bytes, bytesAfterCancel: 0 });
  });

  it('a job failed by the stalled check (its worker killed, MAX_STALLED_COUNT = 0) leaves no checkpoint', async () => {
    const workers = [1, 2].map(() => stack.spawnWorker({ MAX_STALLED_COUNT: '0' }));
    await Promise.all(workers.map((w) => w.waitForLog((l) => l.msg === 'worker ready')));
    const jobId = await stack.startJob(endless, await stack.createNetwork(64));
    const holder = await eventually(
      async () => workers.find((w) => w.lines.some(jobLine(jobId, 'training starts'))),
      (w) => w !== undefined,
      60_000,
    );
    await eventually(
      () => checkpointBytes(jobId),
      (b) => b !== null && b > 0,
      60_000,
    );
    holder!.kill('SIGKILL');
    await holder!.exited;

    const failed = await stack.waitForStatus(jobId, ['failed', 'succeeded', 'cancelled'], 90_000);
    expect(failed.status).toBe('failed');
    expect(await checkpointBytes(jobId)).toBeNull();
    expect(await usageCheckpoints()).toBe(0);
    report.record('checkpointOfStalledOutJob', { status: failed.status, code: failed.error?.code });
  });

  it("the worker's reconciler sweeps a checkpoint left behind by a finished job", async () => {
    const jobId = await stack.startJob(endless, await stack.createNetwork(8));
    expect((await stack.post(`/v1/jobs/${jobId}/cancel`)).status).toBe(200);
    // What older code left behind: a cancelled job that still has its checkpoint.
    await db().$executeRaw`
      INSERT INTO "Checkpoint" ("jobId", "iteration", "attempt", "snapshot", "state", "costs", "updatedAt")
      VALUES (${jobId}::uuid, 10, 1, ${new Uint8Array(50_000)}, '{}'::jsonb, ''::bytea, now())`;
    expect(await usageCheckpoints()).toBe(50_000);

    const worker = stack.spawnWorker(); // RECONCILE_EVERY_MS = 1000
    await worker.waitForLog((l) => l.msg === 'reconciler swept storage', 30_000);
    expect(await checkpointBytes(jobId)).toBeNull();
    expect(await usageCheckpoints()).toBe(0);
  });
});
