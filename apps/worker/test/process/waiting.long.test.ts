/**
 * What a job's state tells the client when its worker goes away (issue 7): "training" must be
 * told apart from "waiting for a worker".
 * - SIGTERM hands the job back: the row is `queued` again (progress kept) in the same fenced write,
 *   until another worker claims it.
 * - kill -9: the row stays `running`, but `worker.alive` turns false once the lease (LEASE_MS)
 *   runs out, and another worker takes the job within about 2 × LOCK_DURATION_MS.
 * - A configuration whose stalled check is slower than the lock (retake beyond 2 × lock) is
 *   refused at boot.
 */
import { describe, expect, it } from 'vitest';
import { eventually } from '../../../../harness/processes.ts';
import { holderOf, type JobView, jobLine, type Stack, useStack } from './harness.ts';

/** A longer lock than FAST's, so the "waiting" window between lease expiry and retake is wide. */
const LOCK = 6000;
const STALLED = 1000;
const LEASE = 1000;

type Worker = { alive: boolean; lastSeenAt: string } | null;
type Job = JobView & { worker: Worker };

let stack: Stack;
const report = useStack(
  'waiting.long.test.ts',
  (created) => {
    stack = created;
  },
  {
    workerEnv: {
      LOCK_DURATION_MS: String(LOCK),
      STALLED_INTERVAL_MS: String(STALLED),
      LEASE_MS: String(LEASE),
    },
  },
);

const view = async (jobId: string) => (await stack.get<Job>(`/v1/jobs/${jobId}`)).body;

describe('a job whose worker went away', () => {
  it('SIGTERM: the row is queued again, progress kept, no worker, until another worker claims it', async () => {
    const first = stack.spawnWorker({ CHECKPOINT_EVERY_MS: '600000' });
    await first.waitForLog((l) => l.msg === 'worker ready');
    const jobId = await stack.startJob(
      { learningRate: 0.3, iterations: 25_000, costEvery: 100 },
      await stack.createNetwork(32),
    );
    const running = await eventually(
      () => view(jobId),
      (j) => j.status === 'running' && j.progress.iteration >= 1000,
    );
    expect(running.worker?.alive).toBe(true);

    first.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    await first.waitForLog(jobLine(jobId, 'released: checkpointed and back in the queue'));
    const handedBack = await view(jobId);
    expect(handedBack.status).toBe('queued');
    expect(handedBack.worker).toBeNull();
    expect(handedBack.progress.iteration).toBeGreaterThanOrEqual(running.progress.iteration);
    expect(handedBack.attempts).toBe(1);
    expect(handedBack.startedAt).toBe(running.startedAt);
    // Nobody takes it while no worker runs: still queued a lease and a lock later.
    await new Promise((r) => setTimeout(r, LEASE + 500));
    expect((await view(jobId)).status).toBe('queued');

    const second = stack.spawnWorker();
    await holderOf(jobId, [second], 2);
    const resumed = await eventually(
      () => view(jobId),
      (j) => j.status !== 'running' || j.worker?.alive === true,
    );
    expect(resumed.status).toMatch(/running|succeeded/);
    expect((await stack.waitForStatus(jobId, ['succeeded', 'failed'], 120_000)).status).toBe('succeeded');
  });

  it('kill -9: running with worker.alive false once the lease runs out, then taken again within 2 × LOCK_DURATION_MS', async () => {
    const workers = [stack.spawnWorker(), stack.spawnWorker()];
    await Promise.all(workers.map((w) => w.waitForLog((l) => l.msg === 'worker ready')));
    const jobId = await stack.startJob(
      { learningRate: 0.3, iterations: 400_000, costEvery: 100 },
      await stack.createNetwork(32),
    );
    const first = await holderOf(jobId, workers, 1);
    const second = workers.find((w) => w !== first)!;
    const before = await eventually(
      () => view(jobId),
      (j) => j.status === 'running' && j.progress.iteration > 0,
    );
    expect(before.worker?.alive).toBe(true);

    first.kill('SIGKILL');
    const killedAt = Date.now();
    await first.exited;

    // The client sees the difference before any other worker has the job.
    const waiting = await eventually(
      () => view(jobId),
      (j) => j.worker?.alive === false || j.attempts > 1,
      30_000,
      50,
    );
    const shownWaitingMs = Date.now() - killedAt;
    expect(waiting.attempts).toBe(1);
    expect(waiting.status).toBe('running');
    expect(waiting.worker?.alive).toBe(false);
    expect(Date.parse(waiting.worker!.lastSeenAt)).toBeLessThanOrEqual(killedAt + 1000);

    const resumed = await second.waitForLog(jobLine(jobId, 'training starts'), 60_000);
    const retakeMs = resumed.time - killedAt;
    expect(resumed['attempt']).toBe(2);
    // BullMQ's bound is lockDuration + stalledInterval (7 s here, at most 2 × lock since the
    // worker refuses STALLED_INTERVAL_MS > LOCK_DURATION_MS); the rest is a loaded machine's margin.
    expect(retakeMs).toBeLessThan(2 * LOCK);
    const alive = await eventually(
      () => view(jobId),
      (j) => j.worker?.alive === true,
    );
    expect(alive.attempts).toBe(2);
    expect(alive.status).toBe('running');

    report.record('deadWorker', {
      leaseMs: LEASE,
      lockDurationMs: LOCK,
      stalledIntervalMs: STALLED,
      shownWaitingAfterMs: shownWaitingMs,
      retakeAfterMs: retakeMs,
    });
  });

  it('refuses to start when STALLED_INTERVAL_MS exceeds LOCK_DURATION_MS (a dead worker would wait beyond 2 × lock)', async () => {
    const worker = stack.spawnWorker({ LOCK_DURATION_MS: '4000', STALLED_INTERVAL_MS: '5000' });
    const outcome = await Promise.race([
      worker.exited,
      worker
        .waitForLog((l) => l.msg === 'worker ready', 60_000)
        .then(() => 'started anyway')
        .catch(() => 'neither exited nor started'),
    ]);
    expect(outcome).toEqual({ code: 1, signal: null });
    expect(worker.stderr()).toMatch(/STALLED_INTERVAL_MS: must not exceed LOCK_DURATION_MS/);
  });
});
