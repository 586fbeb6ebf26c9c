/**
 * RELIABILITY.md scenario 15 and the retry policy: a training thread that runs out of heap or
 * throws fails its job at once with the reason (deterministic: no retry), and the worker process
 * lives on, takes the next job and gives the thread's memory back. A transient failure (a
 * Postgres write refused inside the processor) is retried with backoff and resumes from the
 * checkpoint instead of training again.
 */
import { describe, expect, it } from 'vitest';
import type { LogLine, WorkerProcess } from '../../../../harness/processes.ts';
import { jobLine, type Stack, useStack } from './harness.ts';

let stack: Stack;
// Room for a 1.5M-parameter initialParameters body (≈ 7.5 MB of JSON).
const report = useStack(
  'thread-faults.long.test.ts',
  (created) => {
    stack = created;
  },
  { apiEnv: { LIMIT_BODY_BYTES: String(32 * 1024 * 1024) } },
);

const quickJob = async () =>
  stack.startJob({ learningRate: 1.2, iterations: 2000, costEvery: 100 }, await stack.createNetwork(4));

/**
 * The idle RSS of a warm worker: measured after one ordinary job, because the first training
 * thread of a process leaves lasting things behind (compiled modules, allocator arenas) that have
 * nothing to do with any fault.
 */
async function warmBaseline(w: WorkerProcess): Promise<number> {
  const jobId = await quickJob();
  expect((await stack.waitForStatus(jobId, ['succeeded', 'failed'])).status).toBe('succeeded');
  const ended = await w.waitForLog(jobLine(jobId, 'training thread ended'));
  const line = await w.waitForLog((l) => l.msg === 'health' && l.time >= ended.time + 2500, 30_000);
  return line['rssMb'] as number;
}

/** "Near baseline": within this many MiB of the warm idle RSS. */
const NEAR_MB = 40;

/** How long after `since` the worker's RSS came back near `baseline` (a bounded wait). */
async function rssSettles(w: WorkerProcess, since: number, baseline: number): Promise<number> {
  const near = (l: LogLine) =>
    l.msg === 'health' && l.time > since && (l['rssMb'] as number) < baseline + NEAR_MB;
  return (await w.waitForLog(near, 30_000)).time - since;
}

/** The highest RSS the worker reported from `since` on. */
const peakRss = (w: WorkerProcess, since: number) =>
  Math.max(
    ...w.lines
      .filter((l) => l.time >= since && typeof l['rssMb'] === 'number')
      .map((l) => l['rssMb'] as number),
  );

/**
 * The worker lived on after a fault: still the process that started, it trains the next job, and
 * its RSS comes back near `baseline`. Returns the memory figures from `since` on, for the report.
 */
async function expectLivesOn(worker: WorkerProcess, baseline: number, since: number) {
  const next = await quickJob();
  expect((await stack.waitForStatus(next, ['succeeded', 'failed'])).status).toBe('succeeded');
  expect(worker.child.exitCode).toBeNull();
  expect(worker.lines.filter((l) => l.msg === 'worker ready')).toHaveLength(1);
  const nextEnded = await worker.waitForLog(jobLine(next, 'training thread ended'));
  const settledMs = await rssSettles(worker, nextEnded.time, baseline);
  return {
    warmIdleRssMb: baseline,
    peakRssMb: peakRss(worker, since),
    nearMb: NEAR_MB,
    backNearBaselineAfterMs: settledMs,
  };
}

async function expectFailedOnce(jobId: string, code: string, message: RegExp) {
  const job = await stack.waitForStatus(jobId, ['succeeded', 'failed'], 60_000);
  expect(job.status).toBe('failed');
  expect(job.error?.code).toBe(code);
  expect(job.error?.message).toMatch(message);
  expect(job.attempts).toBe(1);
  // The row is failed first, then the processor's UnrecoverableError moves the queue entry.
  expect((await stack.queueEntryWhen(jobId, 'failed')).attemptsMade).toBe(1);
  expect(await stack.ctx.database.db.model.count({ where: { jobId } })).toBe(0);
}

describe('a training thread that blows up', () => {
  it('out of heap (ERR_WORKER_OUT_OF_MEMORY): the job fails without retry, the process survives, takes the next job, and its RSS comes back', async () => {
    const worker = stack.spawnWorker({ THREAD_MAX_OLD_GENERATION_MB: '32' });
    const baseline = await warmBaseline(worker);
    const since = Date.now();

    // A network's matrices are typed arrays outside the thread's heap, so size alone does not
    // reach the limit; its initialParameters do (nested JS arrays, cloned into the thread).
    const inputs = 1000;
    const hidden = 1500;
    const dataset = await stack.post<{ id: string }>('/v1/datasets', {
      features: Array.from({ length: 20 }, (_, i) =>
        Array.from({ length: inputs }, (_, j) => ((i * j) % 7) / 7),
      ),
      labels: Array.from({ length: 20 }, (_, i) => i % 2),
    });
    expect(dataset.status).toBe(201);
    const network = await stack.post<{ id: string }>('/v1/networks', {
      inputSize: inputs,
      layers: [
        { units: hidden, activation: 'tanh' },
        { units: 1, activation: 'sigmoid' },
      ],
    });
    expect(network.status).toBe(201);
    const initialParameters = {
      W1: Array.from({ length: hidden }, () => new Array(inputs).fill(0.01)),
      b1: Array.from({ length: hidden }, () => [0]),
      W2: [new Array(hidden).fill(0.01)],
      b2: [[0]],
    };
    const jobId = await stack.startJob(
      { learningRate: 0.1, iterations: 100, initialParameters },
      network.body.id,
      dataset.body.id,
    );
    await expectFailedOnce(
      jobId,
      'BP_ERR_OUT_OF_MEMORY',
      /ERR_WORKER_OUT_OF_MEMORY.*THREAD_MAX_OLD_GENERATION_MB = 32/,
    );
    const ended = await worker.waitForLog(jobLine(jobId, 'training thread ended'));
    expect(ended['code']).toBe('ERR_WORKER_OUT_OF_MEMORY');

    // The thread's isolate is gone, and the main thread's parsed copy of the parameters is garbage.
    const memory = await expectLivesOn(worker, baseline, since);

    report.record('scenario15OutOfMemory', {
      ...memory,
      // Claiming the job parses its 1.5M-number training options on the main thread (P1).
      mainThreadEventLoopMaxMsAroundJob: Math.max(
        ...worker.lines
          .filter((l) => l.msg === 'health' && l.time >= since && l.time <= ended.time + 1000)
          .map((l) => (l['eventLoopDelayMs'] as { maxMs: number }).maxMs),
      ),
    });
  });

  it('a thread that throws: the job fails with the reason, without retry; the same process takes the next job', async () => {
    const worker = stack.spawnWorker({ BACKPROP_FAULT_INJECT: 'thread-throw' });
    // The fault fires once per process, at its first job: that is the one that must fail.
    const jobId = await quickJob();
    await expectFailedOnce(
      jobId,
      'BP_ERR_TRAINING_CRASHED',
      /training crashed: injected fault.*training code threw/,
    );

    const baseline = await warmBaseline(worker);
    const since = Date.now();
    report.record('scenario15Throw', await expectLivesOn(worker, baseline, since));
  });
});

describe('transient failures', () => {
  it('a Postgres write failing inside the processor: retried with backoff, resumed from the final checkpoint, not retrained, one model, no duplicate cost', async () => {
    const { db } = stack.ctx.database;
    // A real Postgres error on the result's write: the first 5 model inserts fail (one whole
    // attempt: the processor tries the write 5 times), whatever process or attempt makes them.
    await db.$executeRawUnsafe('CREATE SEQUENCE fault_model_inserts');
    await db.$executeRawUnsafe(`
      CREATE FUNCTION fault_model_insert() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF nextval('fault_model_inserts') <= 5 THEN
          RAISE EXCEPTION 'injected transient failure of the model insert';
        END IF;
        RETURN NEW;
      END $$`);
    await db.$executeRawUnsafe(
      'CREATE TRIGGER fault_model_insert BEFORE INSERT ON "Model" FOR EACH ROW EXECUTE FUNCTION fault_model_insert()',
    );
    try {
      const worker = stack.spawnWorker();
      const iterations = 6000;
      const jobId = await stack.startJob(
        { learningRate: 0.3, iterations, costEvery: 100 },
        await stack.createNetwork(16),
      );
      const job = await stack.waitForStatus(jobId, ['succeeded', 'failed'], 120_000);
      expect(job.status).toBe('succeeded');
      expect(job.attempts).toBe(2);
      // Logged after the result is committed: wait for the line, not just for the row.
      await worker.waitForLog(jobLine(jobId, 'job finished'));

      const attemptFailed = worker.lines.find(jobLine(jobId, 'job attempt failed'))!;
      expect(attemptFailed['final']).toBe(false);
      expect(String(attemptFailed['err'])).toMatch(/injected transient failure/);
      const starts = worker.lines.filter(jobLine(jobId, 'training starts'));
      expect(starts.map((l) => [l['attempt'], l['resumeFrom']])).toEqual([
        [1, 0],
        [2, iterations],
      ]);
      // BullMQ's backoff (exponential from 1 s) separated the attempts.
      const backoffMs = starts[1]!.time - attemptFailed.time;
      expect(backoffMs).toBeGreaterThanOrEqual(900);
      const ends = worker.lines.filter(jobLine(jobId, 'training thread ended')) as LogLine[];
      const retrainMs = ends[1]!['durationMs'] as number;
      expect(retrainMs).toBeLessThan((ends[0]!['durationMs'] as number) / 2);

      expect(await db.model.count({ where: { jobId } })).toBe(1);
      const { costs } = (await stack.get<{ costs: number[] }>(`/v1/jobs/${jobId}/costs`)).body;
      expect(costs).toHaveLength(iterations / 100 + 1);
      const model = (await stack.get<{ metrics: { finalCost: number } }>(`/v1/models/${job.modelId}`)).body;
      expect(costs.at(-1)).toBe(model.metrics.finalCost);
      report.record('transientRetry', {
        backoffMs,
        firstAttemptTrainingMs: ends[0]!['durationMs'],
        retryTrainingMs: retrainMs,
      });
    } finally {
      await db.$executeRawUnsafe('DROP TRIGGER IF EXISTS fault_model_insert ON "Model"');
      await db.$executeRawUnsafe('DROP FUNCTION IF EXISTS fault_model_insert()');
      await db.$executeRawUnsafe('DROP SEQUENCE IF EXISTS fault_model_inserts');
    }
  });
});
