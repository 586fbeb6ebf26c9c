/**
 * RELIABILITY.md scenarios 1 and 2: worker processes killed with SIGKILL mid-training.
 * 1: another worker resumes from the last checkpoint once the lock expires, and the job ends
 *    exactly as an uninterrupted run would, with one model.
 * 2: killed again past MAX_STALLED_COUNT, the job fails, and its row says so within a bounded
 *    time even though the worker that fails it in the queue is neither of the killed ones.
 */
import { describe, expect, it } from 'vitest';
import { eventually } from '../../../../harness/processes.ts';
import {
  expectTrainedAsNn,
  FAST,
  holderOf,
  jobLine,
  type Stack,
  TAKEOVER_BOUND_MS,
  useStack,
} from './harness.ts';

const LOCK = Number(FAST.LOCK_DURATION_MS);

let stack: Stack;
const report = useStack('kill.long.test.ts', (created) => {
  stack = created;
});

const checkpointOf = (jobId: string) => stack.ctx.database.db.checkpoint.findUnique({ where: { jobId } });

describe('kill -9 of a worker process', () => {
  it('resumes on another worker from the last checkpoint within lockDuration + stalledInterval + slack; one model, bit-identical to an uninterrupted run', async () => {
    const workers = [stack.spawnWorker(), stack.spawnWorker()];
    await Promise.all(workers.map((w) => w.waitForLog((l) => l.msg === 'worker ready')));
    const networkId = await stack.createNetwork(32);
    const options = { learningRate: 0.3, iterations: 12_000, costEvery: 100, seed: 11 };
    const jobId = await stack.startJob({ ...options, normalize: 'none' }, networkId);

    const first = await holderOf(jobId, workers, 1);
    const second = workers.find((w) => w !== first)!;
    await eventually(
      () => checkpointOf(jobId),
      (c) => c !== null && c.iteration >= 1500,
    );
    first.kill('SIGKILL');
    const killedAt = Date.now();
    await first.exited;
    const lastCheckpoint = (await checkpointOf(jobId))!.iteration;

    const resumed = await second.waitForLog(jobLine(jobId, 'training starts'), 60_000);
    const recoveryMs = resumed.time - killedAt;
    expect(resumed['attempt']).toBe(2);
    expect(resumed['resumeFrom']).toBe(lastCheckpoint);
    expect(second.lines.some((l) => l.jobId === jobId && l.msg.startsWith('job stalled'))).toBe(true);
    expect(recoveryMs).toBeLessThan(TAKEOVER_BOUND_MS);
    // Progress is never reset: the first row seen after the resume is at least the checkpoint.
    expect((await stack.job(jobId)).progress.iteration).toBeGreaterThanOrEqual(lastCheckpoint);
    expect((await stack.queue.getJob(jobId))?.stalledCounter).toBe(1);

    const job = await stack.waitForStatus(jobId, ['succeeded', 'failed']);
    expect(job.status).toBe('succeeded');
    expect(job.attempts).toBe(2);
    expect(await stack.ctx.database.db.model.count({ where: { jobId } })).toBe(1);
    // The checkpoint is gone with the completion; nothing of the dead attempt is left behind.
    expect(await checkpointOf(jobId)).toBeNull();

    await expectTrainedAsNn(stack, job, 32, options);

    report.record('scenario1', {
      killedAtCheckpoint: lastCheckpoint,
      recoveryMs,
      boundMs: TAKEOVER_BOUND_MS,
    });
  });

  it('killed twice past MAX_STALLED_COUNT = 1: the row ends failed with a readable reason within a bounded time, marked by the surviving worker', async () => {
    const workers = [1, 2, 3].map(() => stack.spawnWorker({ MAX_STALLED_COUNT: '1' }));
    await Promise.all(workers.map((w) => w.waitForLog((l) => l.msg === 'worker ready')));
    const networkId = await stack.createNetwork(32);
    // Far longer than the test: it can only end by failing.
    const jobId = await stack.startJob({ learningRate: 0.3, iterations: 500_000, costEvery: 100 }, networkId);

    const first = await holderOf(jobId, workers, 1);
    await eventually(
      () => checkpointOf(jobId),
      (c) => c !== null && c.iteration > 0,
    );
    first.kill('SIGKILL');
    await first.exited;

    const rest = workers.filter((w) => w !== first);
    const second = await holderOf(jobId, rest, 2);
    await eventually(
      () => checkpointOf(jobId),
      (c) => c !== null && c.attempt === 2,
    );
    second.kill('SIGKILL');
    const killedAt = Date.now();
    await second.exited;
    const survivor = rest.find((w) => w !== second)!;

    const failed = await stack.waitForStatus(jobId, ['failed', 'succeeded', 'cancelled'], 60_000);
    const failedAfterMs = Date.now() - killedAt;
    expect(failed.status).toBe('failed');
    expect(failed.error?.code).toBe('BP_ERR_WORKER_LOST');
    expect(failed.error?.message).toMatch(/interrupted too often.*MAX_STALLED_COUNT = 1/);
    expect(failed.attempts).toBe(2);
    expect(failed.modelId).toBeNull();
    expect(failedAfterMs).toBeLessThan(TAKEOVER_BOUND_MS);
    // The survivor never trained it: BullMQ failed the delivery before the processor ran.
    expect(survivor.lines.some(jobLine(jobId, 'training starts'))).toBe(false);
    await survivor.waitForLog(jobLine(jobId, 'job marked failed'));
    const bull = await stack.queue.getJob(jobId);
    expect(await bull?.getState()).toBe('failed');
    expect(bull?.failedReason).toBe('job stalled more than allowable limit');
    // Terminal means terminal: a later look still says failed.
    await new Promise((r) => setTimeout(r, LOCK));
    expect((await stack.job(jobId)).status).toBe('failed');

    report.record('scenario2', { failedAfterSecondKillMs: failedAfterMs, boundMs: TAKEOVER_BOUND_MS });
  });
});
