/**
 * The worker's main thread stays responsive while a thread trains (RELIABILITY.md scenario 3,
 * pitfall P1), and a job reports progress on the clock however rarely its costs are recorded,
 * checkpointing on time as well, without changing the result by a bit.
 *
 * The bounds are what must hold, with margins a loaded machine meets (issue 7: a busy CI machine
 * measured an event-loop p99 of 292 ms against a former 200 ms bound, and nothing was wrong):
 * no lock lost, no stall, progress keeps coming, and no single event-loop delay as long as the
 * lock. Percentiles, and an idle worker's as a control from the same run, are figures
 * for docs/reliability, not assertions.
 */
import type { TrainOptions } from '@backprop/nn';
import { describe, expect, it } from 'vitest';
import { eventually, type LogLine } from '../../../../harness/processes.ts';
import { expectTrainedAsNn, jobLine, type Stack, useStack } from './harness.ts';

let stack: Stack;
const report = useStack('event-loop-progress.long.test.ts', (created) => {
  stack = created;
});

describe('the main thread while a thread trains', () => {
  it('a CPU-bound ~10 s training with lockDuration 2 s: no stall, no lock error, progress all along, no event-loop delay as long as the lock', async () => {
    const LOCK = 2000;
    const env = { LOCK_DURATION_MS: String(LOCK), STALLED_INTERVAL_MS: '1000' };
    const workers = [stack.spawnWorker(env), stack.spawnWorker(env)];
    await Promise.all(workers.map((w) => w.waitForLog((l) => l.msg === 'worker ready')));
    const networkId = await stack.createNetwork(32);
    const jobId = await stack.startJob({ learningRate: 0.3, iterations: 40_000, costEvery: 100 }, networkId);
    // Poll as a client would: progress must keep coming while it trains.
    const changes: number[] = [];
    let last = -1;
    let job = await stack.job(jobId);
    const deadline = Date.now() + 180_000;
    while (!['succeeded', 'failed', 'cancelled'].includes(job.status) && Date.now() < deadline) {
      if (job.status === 'running' && job.progress.iteration !== last) {
        last = job.progress.iteration;
        changes.push(Date.now());
      }
      await new Promise((r) => setTimeout(r, 100));
      job = await stack.job(jobId);
    }
    expect(job.status).toBe('succeeded');
    expect(job.attempts).toBe(1);

    // Logged after the result is committed: wait for the line, not just for the row.
    const holder = (await eventually(
      async () => workers.find((w) => w.lines.some(jobLine(jobId, 'job finished'))),
      (w) => w !== undefined,
    ))!;
    const lines = workers.flatMap((w) => w.lines);
    const ended = holder.lines.find(jobLine(jobId, 'training thread ended'))!;
    const delay = ended['eventLoopDelayMs'] as { p50Ms: number; p99Ms: number; maxMs: number };
    const durationMs = ended['durationMs'] as number;
    // Long enough to need several lock renewals, or the test proves nothing.
    expect(durationMs).toBeGreaterThan(3 * LOCK);
    // A single delay as long as the lock would let it expire between two renewals; the figures
    // are tens of milliseconds (a loaded machine: a few hundred). Whether a lock was lost is
    // asserted directly below.
    expect(delay.maxMs).toBeLessThan(LOCK);
    // Progress comes all along the run, not in a lump: the longest pause a client saw is a
    // small part of the training's own duration (which a loaded machine stretches alike).
    const progressGaps = changes.slice(1).map((at, i) => at - changes[i]!);
    expect(changes.length).toBeGreaterThan(3);
    expect(Math.max(...progressGaps)).toBeLessThan(durationMs / 4);

    const stalled = lines.filter((l) => l.msg.startsWith('job stalled'));
    const lockErrors = lines.filter(
      (l) =>
        /lock/i.test(l.msg) || /lock/i.test(JSON.stringify((l as LogLine & { err?: unknown }).err ?? '')),
    );
    expect(stalled).toEqual([]);
    expect(lockErrors).toEqual([]);
    // The periodic view agrees: no one-second window comes near the margin either. The other
    // worker, idle meanwhile, is the control: what the machine's own load does to an event loop.
    const start = holder.lines.find(jobLine(jobId, 'training starts'))!.time;
    const windows = (w: typeof holder, stat: 'p99Ms' | 'maxMs') =>
      w.lines
        .filter((l) => l.msg === 'health' && l.time > start && l.time <= ended.time)
        .map((l) => (l['eventLoopDelayMs'] as { p99Ms: number; maxMs: number })[stat]);
    const healthMax = windows(holder, 'maxMs');
    expect(healthMax.length).toBeGreaterThan(3);
    expect(Math.max(...healthMax)).toBeLessThan(LOCK);
    const control = workers.find((w) => w !== holder)!;

    report.record('scenario3', {
      lockDurationMs: LOCK,
      trainingMs: durationMs,
      jobEventLoopDelayMs: delay,
      worstOneSecondP99Ms: Math.max(...windows(holder, 'p99Ms')),
      worstOneSecondMaxMs: Math.max(...healthMax),
      idleControlWorstOneSecondP99Ms: Math.max(...windows(control, 'p99Ms')),
      maxProgressGapMs: Math.max(...progressGaps),
      stalledEvents: stalled.length,
      lockErrors: lockErrors.length,
    });
  });
});

describe('progress and checkpoints on time', () => {
  it('with costEvery beyond the run, progress.iteration still advances on the clock (PROGRESS_EVERY_MS), checkpoints land on time, and the result is bit-identical to nn', async () => {
    // The production progress interval, not the tests' fast one: the promise is about it.
    const worker = stack.spawnWorker({ PROGRESS_EVERY_MS: '500', CHECKPOINT_EVERY_MS: '1000' });
    await worker.waitForLog((l) => l.msg === 'worker ready');
    const networkId = await stack.createNetwork(32);
    const options = { learningRate: 0.3, iterations: 12_000, costEvery: 1_000_000, seed: 5 };
    const jobId = await stack.startJob({ ...options, normalize: 'none' }, networkId);

    // Poll as a client would, and the checkpoint table, until the job ends.
    const seen: { at: number; iteration: number }[] = [];
    const checkpoints = new Set<number>();
    let status = 'queued';
    let costsMidRun: number[] = [];
    const deadline = Date.now() + 120_000;
    while (!['succeeded', 'failed', 'cancelled'].includes(status) && Date.now() < deadline) {
      const job = await stack.job(jobId);
      status = job.status;
      if (status === 'running' && job.progress.iteration !== seen.at(-1)?.iteration) {
        seen.push({ at: Date.now(), iteration: job.progress.iteration });
        // The history as of mid-run: read it first, and keep it only if the row read after it
        // still shows the run unfinished (the final write sets both at once).
        const costs = (await stack.get<{ costs: number[] }>(`/v1/jobs/${jobId}/costs`)).body.costs;
        if ((await stack.job(jobId)).progress.iteration < 12_000) costsMidRun = costs;
      }
      const c = await stack.ctx.database.db.checkpoint.findUnique({ where: { jobId } });
      if (c) checkpoints.add(c.iteration);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe('succeeded');
    const running = seen.filter((s) => s.iteration > 0);
    const gaps = running.slice(1).map((s, i) => s.at - running[i]!.at);
    expect(running.length).toBeGreaterThan(3);
    // Every 500 ms, seen by a client polling every 100 ms: about a second apart at worst on a
    // normal machine (the figure in docs/reliability). The bound leaves a loaded machine room
    // (its thread is niced, and each poll itself takes longer) while still failing a job whose
    // progress comes only with its recorded costs (none here until the end).
    expect(Math.max(...gaps)).toBeLessThan(4 * 500);
    // Only J_0 was recorded while it ran; the row still moved.
    expect(costsMidRun).toHaveLength(1);
    // Checkpoints came from the clock, not from recorded costs (there were none in between).
    const midRun = [...checkpoints].filter((i) => i > 0 && i < 12_000);
    expect(midRun.length).toBeGreaterThanOrEqual(2);

    const job = await stack.job(jobId);
    expect(job.progress.iteration).toBe(12_000);
    await expectTrainedAsNn(stack, job, 32, options);

    report.record('progressEverySecond', {
      progressEveryMs: 500,
      maxGapBetweenIterationChangesMs: Math.max(...gaps),
      progressUpdatesSeen: running.length,
      clockCheckpoints: midRun.length,
    });
  });

  it('mini-batch Adam interrupted by clock checkpoints mid-epoch ends bit-identical to nn', async () => {
    const worker = stack.spawnWorker({ CHECKPOINT_EVERY_MS: '100' });
    const networkId = await stack.createNetwork(8);
    const options: TrainOptions & { seed: number } = {
      learningRate: 0.01,
      epochs: 5000,
      batchSize: 64,
      optimizer: 'adam',
      costEvery: 1_000_000,
      seed: 9,
    };
    const jobId = await stack.startJob({ ...options, normalize: 'none' }, networkId);
    const job = await stack.waitForStatus(jobId, ['succeeded', 'failed']);
    expect(job.status).toBe('succeeded');
    await worker.waitForLog(jobLine(jobId, 'job finished'));
    // 400 samples in batches of 64: 7 updates an epoch. A checkpoint inside an epoch must replay
    // that epoch's shuffle on the way back in.
    const saved = worker.lines
      .filter((l) => l.jobId === jobId && l.msg === 'checkpoint' && l['saved'])
      .map((l) => l['iteration'] as number);
    // About 1 s of training on a quiet machine (10 checkpoints); a loaded one only adds more.
    // Each lands on an epoch's edge with odds 1/7, so all of them doing so is not a chance.
    expect(saved.length, `saved checkpoints: ${saved.join(', ')}`).toBeGreaterThanOrEqual(4);
    expect(saved.filter((i) => i % 7 !== 0).length, `saved checkpoints: ${saved.join(', ')}`).toBeGreaterThan(
      0,
    );

    await expectTrainedAsNn(stack, job, 8, options);
  });
});
