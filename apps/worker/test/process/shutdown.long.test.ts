/**
 * RELIABILITY.md scenario 13, the worker side: SIGTERM mid-job stops fetching, checkpoints the
 * running job, hands it back to the queue without spending an attempt, ends the training thread
 * and exits 0 within SHUTDOWN_TIMEOUT_MS; another worker resumes from that very checkpoint.
 */
import { describe, expect, it } from 'vitest';
import { eventually } from '../../../../harness/processes.ts';
import { jobLine, type Stack, useStack } from './harness.ts';

const SHUTDOWN_TIMEOUT_MS = 10_000;

let stack: Stack;
const report = useStack(
  'shutdown.long.test.ts',
  (created) => {
    stack = created;
  },
  { workerEnv: { SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) } },
);

describe('SIGTERM to a worker', () => {
  it('mid-job: no new job fetched, a checkpoint at the stop, the job back in the queue with no attempt spent, thread ended, exit 0 in time; resumed elsewhere from that checkpoint', async () => {
    // No periodic checkpoint during the run: the one found after SIGTERM is the shutdown's own.
    const first = stack.spawnWorker({ CHECKPOINT_EVERY_MS: '600000' });
    await first.waitForLog((l) => l.msg === 'worker ready');
    const iterations = 25_000;
    const jobId = await stack.startJob(
      { learningRate: 0.3, iterations, costEvery: 100 },
      await stack.createNetwork(32),
    );
    await eventually(
      () => stack.job(jobId),
      (j) => j.status === 'running' && j.progress.iteration >= 2000,
    );
    // Queued behind it (concurrency 1): the stopping worker must not take it.
    const waiting = await stack.startJob(
      { learningRate: 1.2, iterations: 2000, costEvery: 100 },
      await stack.createNetwork(4),
    );
    expect(await stack.ctx.database.db.checkpoint.findUnique({ where: { jobId } })).toBeNull();

    const progressAtTerm = (await stack.job(jobId)).progress.iteration;
    first.kill('SIGTERM');
    const termAt = Date.now();
    const exit = await first.exited;
    const exitMs = Date.now() - termAt;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(exitMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS);

    // 'exit' can come before the last of stdout has been read: wait for the lines themselves.
    const ended = await first.waitForLog(jobLine(jobId, 'training thread ended'));
    expect(ended['outcome']).toBe('released');
    await first.waitForLog(jobLine(jobId, 'released: checkpointed and back in the queue'));
    expect(first.lines.some(jobLine(waiting, 'training starts'))).toBe(false);
    const checkpoint = await stack.ctx.database.db.checkpoint.findUniqueOrThrow({ where: { jobId } });
    expect(checkpoint.iteration).toBeGreaterThanOrEqual(progressAtTerm);
    expect(checkpoint.attempt).toBe(1);
    const bull = (await stack.queue.getJob(jobId))!;
    expect(await bull.getState()).toBe('waiting');
    expect(bull.attemptsMade).toBe(0);
    expect(bull.stalledCounter).toBe(0);

    const second = stack.spawnWorker();
    const resumed = await second.waitForLog(jobLine(jobId, 'training starts'), 60_000);
    expect(resumed['attempt']).toBe(2);
    expect(resumed['resumeFrom']).toBe(checkpoint.iteration);
    const job = await stack.waitForStatus(jobId, ['succeeded', 'failed'], 120_000);
    expect(job.status).toBe('succeeded');
    expect((await stack.waitForStatus(waiting, ['succeeded', 'failed'])).status).toBe('succeeded');
    expect(await stack.ctx.database.db.model.count({ where: { jobId } })).toBe(1);
    const { costs } = (await stack.get<{ costs: number[] }>(`/v1/jobs/${jobId}/costs`)).body;
    expect(costs).toHaveLength(iterations / 100 + 1);

    report.record('scenario13', {
      shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS,
      exitMs,
      releasedAtIteration: checkpoint.iteration,
      progressAtSigterm: progressAtTerm,
      resumedAfterRestartMs: resumed.time - termAt,
    });
  });

  it('when idle: exits 0 at once', async () => {
    const worker = stack.spawnWorker();
    await worker.waitForLog((l) => l.msg === 'worker ready');
    worker.kill('SIGTERM');
    const termAt = Date.now();
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    const exitMs = Date.now() - termAt;
    expect(exitMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    report.record('scenario13Idle', { exitMs });
  });
});
