/**
 * RELIABILITY.md scenario 4, duplicate completion (BullMQ is at-least-once, P2): a worker frozen
 * (SIGSTOP) past lockDuration loses the job to another worker, then wakes up (SIGCONT). Exactly
 * one model and one cost history result; the late one's writes are refused by Postgres's
 * compare-and-set and logged; its process carries on and takes the next job.
 *   a. frozen mid-training: it notices on waking and stops its own training;
 *   b. frozen at the worst moment, its training finished and its result not yet written: the late
 *      completion itself is refused. (The worker stops itself there, through the test-only
 *      sigstop-before-complete fault; only the moment is injected, the SIGSTOP is real.)
 */
import { describe, expect, it } from 'vitest';
import { eventually, type WorkerProcess } from '../../../../harness/processes.ts';
import {
  expectTrainedAsNn,
  holderOf,
  jobLine,
  type Stack,
  TAKEOVER_BOUND_MS,
  useStack,
  waitUntilStopped,
} from './harness.ts';

let stack: Stack;
const report = useStack('duplicates.long.test.ts', (created) => {
  stack = created;
});

/** The woken worker is alive and still works: alone on the queue, it trains a new job. */
async function expectTakesNextJob(woken: WorkerProcess, others: WorkerProcess[]) {
  expect(woken.child.exitCode).toBeNull();
  expect(woken.child.signalCode).toBeNull();
  for (const w of others) w.kill('SIGKILL');
  await Promise.all(others.map((w) => w.exited));
  const next = await stack.startJob(
    { learningRate: 1.2, iterations: 1000, costEvery: 100 },
    await stack.createNetwork(4),
  );
  expect((await stack.waitForStatus(next, ['succeeded', 'failed'])).status).toBe('succeeded');
  await woken.waitForLog(jobLine(next, 'job finished'));
}

describe('a worker frozen past its lock', () => {
  it('mid-training: another worker takes over and finishes; on waking the first stops; one model, one history equal to nn’s', async () => {
    const workers = [stack.spawnWorker(), stack.spawnWorker()];
    await Promise.all(workers.map((w) => w.waitForLog((l) => l.msg === 'worker ready')));
    const options = { learningRate: 0.3, iterations: 15_000, costEvery: 100, seed: 21 };
    const jobId = await stack.startJob({ ...options, normalize: 'none' }, await stack.createNetwork(16));
    const frozen = await holderOf(jobId, workers);
    const other = workers.find((w) => w !== frozen)!;
    await eventually(
      () => stack.ctx.database.db.checkpoint.findUnique({ where: { jobId } }),
      (c) => c !== null && c.iteration >= 1000,
    );

    frozen.kill('SIGSTOP');
    const stoppedAt = Date.now();
    await waitUntilStopped(frozen.pid);
    const takeover = await other.waitForLog(jobLine(jobId, 'training starts'), 60_000);
    const takeoverMs = takeover.time - stoppedAt;
    expect(takeover['attempt']).toBe(2);
    expect(takeoverMs).toBeLessThan(TAKEOVER_BOUND_MS);

    // Wake it while the other one trains: both now hold the job as far as they know.
    frozen.kill('SIGCONT');
    const stopped = await frozen.waitForLog(jobLine(jobId, 'training thread ended'), 30_000);
    expect(['stopped', 'released']).toContain(stopped['outcome']);
    const why = frozen.lines.filter(
      (l) =>
        l.jobId === jobId &&
        (l.msg.startsWith('the job was cancelled or taken over') ||
          l.msg.startsWith('the queue lock of this job')),
    );
    expect(why.length).toBeGreaterThan(0);

    const job = await stack.waitForStatus(jobId, ['succeeded', 'failed']);
    expect(job.status).toBe('succeeded');
    expect(job.attempts).toBe(2);
    expect(await stack.ctx.database.db.model.count({ where: { jobId } })).toBe(1);
    expect(frozen.lines.some(jobLine(jobId, 'job finished'))).toBe(false);

    await expectTrainedAsNn(stack, job, 16, options);

    const queueErrors = frozen.lines.filter((l) => l.msg === 'worker error').length;
    await expectTakesNextJob(frozen, [other]);
    report.record('scenario4MidTraining', {
      takeoverAfterSigstopMs: takeoverMs,
      boundMs: TAKEOVER_BOUND_MS,
      wokenWorkerNoticedBy: why.map((l) => l.msg),
      wokenWorkerQueueErrorsLogged: queueErrors,
    });
  });

  it('between training and writing the result: the late completion is refused (compare-and-set) and logged; one model; the process carries on', async () => {
    const late = stack.spawnWorker({ BACKPROP_FAULT_INJECT: 'sigstop-before-complete' });
    await late.waitForLog((l) => l.msg === 'worker ready');
    const iterations = 4000;
    const jobId = await stack.startJob(
      { learningRate: 0.3, iterations, costEvery: 100, seed: 22 },
      await stack.createNetwork(16),
    );
    await late.waitForLog(jobLine(jobId, 'training starts'));
    // Only now a second worker, so that the first one surely holds the job.
    const other = stack.spawnWorker();

    await waitUntilStopped(late.pid, 60_000);
    const stoppedAt = Date.now();
    const takeover = await other.waitForLog(jobLine(jobId, 'training starts'), 60_000);
    expect(takeover['attempt']).toBe(2);
    // The late worker's last checkpoint is the finished one: nothing is trained twice.
    expect(takeover['resumeFrom']).toBe(iterations);
    const done = await stack.waitForStatus(jobId, ['succeeded', 'failed']);
    expect(done.status).toBe('succeeded');
    const before = await stack.ctx.database.db.trainingJob.findUniqueOrThrow({ where: { id: jobId } });

    late.kill('SIGCONT');
    const refused = await late.waitForLog(
      (l) => l.jobId === jobId && l.msg.startsWith('late completion ignored'),
      30_000,
    );
    const after = await stack.ctx.database.db.trainingJob.findUniqueOrThrow({ where: { id: jobId } });
    expect(after).toEqual(before);
    expect(await stack.ctx.database.db.model.count({ where: { jobId } })).toBe(1);
    const { costs } = (await stack.get<{ costs: number[] }>(`/v1/jobs/${jobId}/costs`)).body;
    expect(costs).toHaveLength(iterations / 100 + 1);
    expect((await stack.job(jobId)).modelId).toBe(done.modelId);

    await expectTakesNextJob(late, [other]);
    report.record('scenario4LateCompletion', {
      frozenForMs: refused.time - stoppedAt,
      takeoverAfterFreezeMs: takeover.time - stoppedAt,
      refusedLog: refused.msg,
    });
  });
});
