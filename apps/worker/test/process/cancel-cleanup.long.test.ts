/**
 * RELIABILITY.md scenarios 14 and 24: cancellation in each state of a job, and a finished job
 * whose queue entry is gone.
 * 14. cancelled while its result is being written (the worker frozen right there): the late
 *     completion never overwrites `cancelled`; cancelled while waiting: removed, never started;
 *     cancelled after completion: 409, nothing changes. (Cancelling a running job and the thread
 *     stopping within a second is in ../service.long.test.ts.)
 * 24. a finished job whose BullMQ entry was removed (removeOnComplete) still answers from
 *     Postgres, and a re-delivery of its id changes nothing.
 */
import { TRAIN_JOB_NAME } from '@backprop/contracts';
import { describe, expect, it } from 'vitest';
import { eventually } from '../../../../harness/processes.ts';
import { jobLine, type Stack, useStack, waitUntilStopped } from './harness.ts';

let stack: Stack;
const report = useStack('cancel-cleanup.long.test.ts', (created) => {
  stack = created;
});

const quickTraining = { learningRate: 1.2, iterations: 2000, costEvery: 100 };
const rowOf = (id: string) => stack.ctx.database.db.trainingJob.findUniqueOrThrow({ where: { id } });

/** Sends the job's id to the queue again, as a reconciler or a duplicate delivery would. */
async function redeliver(jobId: string) {
  await stack.queue.add(TRAIN_JOB_NAME, { jobId, tenantId: stack.ctx.tenantId }, { jobId });
}

describe('cancel', () => {
  it('while the result is being written: the late completion never overwrites cancelled; no model', async () => {
    const worker = stack.spawnWorker({ BACKPROP_FAULT_INJECT: 'sigstop-before-complete' });
    const jobId = await stack.startJob(quickTraining, await stack.createNetwork(4));
    await waitUntilStopped(worker.pid, 60_000);

    const cancel = await stack.post<{ status: string }>(`/v1/jobs/${jobId}/cancel`);
    expect(cancel.status).toBe(200);
    expect(cancel.body.status).toBe('cancelled');
    worker.kill('SIGCONT');
    await worker.waitForLog((l) => l.jobId === jobId && l.msg.startsWith('late completion ignored'), 30_000);

    const job = await stack.job(jobId);
    expect(job.status).toBe('cancelled');
    expect(job.modelId).toBeNull();
    expect(await stack.ctx.database.db.model.count({ where: { jobId } })).toBe(0);
    // And later still: terminal is terminal.
    const next = await stack.startJob(quickTraining, await stack.createNetwork(4));
    expect((await stack.waitForStatus(next, ['succeeded', 'failed'])).status).toBe('succeeded');
    expect((await stack.job(jobId)).status).toBe('cancelled');
  });

  it('while waiting in the queue: removed from it and never started; the worker goes on with other jobs', async () => {
    const worker = stack.spawnWorker();
    // Concurrency 1 and a long job in front: the second one waits.
    const busy = await stack.startJob(
      { learningRate: 0.3, iterations: 500_000, costEvery: 100 },
      await stack.createNetwork(16),
    );
    await worker.waitForLog(jobLine(busy, 'training starts'));
    const waiting = await stack.startJob(quickTraining, await stack.createNetwork(4));
    expect(await (await stack.queue.getJob(waiting))!.getState()).toBe('waiting');

    const cancel = await stack.post<{ status: string }>(`/v1/jobs/${waiting}/cancel`);
    expect(cancel.status).toBe(200);
    expect(cancel.body.status).toBe('cancelled');
    expect(await stack.queue.getJob(waiting)).toBeUndefined();

    // Free the worker; it must then take the next job, never the cancelled one.
    expect((await stack.post(`/v1/jobs/${busy}/cancel`)).status).toBe(200);
    const next = await stack.startJob(quickTraining, await stack.createNetwork(4));
    expect((await stack.waitForStatus(next, ['succeeded', 'failed'])).status).toBe('succeeded');
    expect(worker.lines.some((l) => l.jobId === waiting)).toBe(false);
    const job = await stack.job(waiting);
    expect(job).toMatchObject({ status: 'cancelled', attempts: 0, startedAt: null, modelId: null });

    // A stray delivery of it (a reconciler, a duplicate) is skipped: the row is the authority.
    const before = await rowOf(waiting);
    await redeliver(waiting);
    await worker.waitForLog(jobLine(waiting, 'skipped: the job is already finished or cancelled'), 30_000);
    expect(await rowOf(waiting)).toEqual(before);
  });

  it('after completion: 409, and nothing changes', async () => {
    stack.spawnWorker();
    const jobId = await stack.startJob(quickTraining, await stack.createNetwork(4));
    expect((await stack.waitForStatus(jobId, ['succeeded', 'failed'])).status).toBe('succeeded');
    const before = await rowOf(jobId);
    const cancel = await stack.post<{ code: string; details: { status: string } }>(
      `/v1/jobs/${jobId}/cancel`,
    );
    expect(cancel.status).toBe(409);
    expect(cancel.body.code).toBe('BP_ERR_JOB_FINISHED');
    expect(await rowOf(jobId)).toEqual(before);
  });
});

describe('a finished job whose queue entry is gone', () => {
  it('answers GET /v1/jobs/:id from Postgres with its terminal state, and a re-delivery of its id changes nothing', async () => {
    const worker = stack.spawnWorker();
    const jobId = await stack.startJob(quickTraining, await stack.createNetwork(4));
    const finished = await stack.waitForStatus(jobId, ['succeeded', 'failed']);
    expect(finished.status).toBe('succeeded');
    await eventually(
      async () => (await stack.queue.getJob(jobId))?.getState(),
      (s) => s === 'completed',
    );

    // What removeOnComplete does once the entry is old enough (trainingJobOptions keeps an hour).
    const removed = await stack.queue.clean(0, 1000, 'completed');
    expect(removed).toContain(jobId);
    expect(await stack.queue.getJob(jobId)).toBeUndefined();
    const afterCleanup = await stack.get(`/v1/jobs/${jobId}`);
    expect(afterCleanup.status).toBe(200);
    expect(afterCleanup.body).toEqual(finished);

    const before = await rowOf(jobId);
    const costsBefore = (await stack.get(`/v1/jobs/${jobId}/costs`)).body;
    await redeliver(jobId);
    await worker.waitForLog(jobLine(jobId, 'skipped: the job is already finished or cancelled'), 30_000);
    expect(await rowOf(jobId)).toEqual(before);
    expect((await stack.get(`/v1/jobs/${jobId}`)).body).toEqual(finished);
    expect((await stack.get(`/v1/jobs/${jobId}/costs`)).body).toEqual(costsBefore);
    expect(await stack.ctx.database.db.model.count({ where: { jobId } })).toBe(1);
    expect(worker.lines.filter(jobLine(jobId, 'training starts'))).toHaveLength(1);
    report.record('scenario24', { redeliveredAndSkipped: true, rowUnchanged: true });
  });
});
