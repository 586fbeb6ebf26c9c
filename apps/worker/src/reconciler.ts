/**
 * Postgres is the system of record; Redis only delivers. The reconciler closes the gaps between
 * them: a queued row the queue does not hold (the enqueue failed, or Redis lost its data) is
 * enqueued again, and a running row whose lease expired without a live BullMQ job is re-queued.
 * Adding with jobId = row id is a no-op while the queue still holds the job.
 */
import { TRAIN_JOB_NAME, type TrainingJobPayload } from '@backprop/contracts';
import { type Db, failJob, findJobsToReconcile } from '@backprop/db';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';

export async function reconcileOnce(
  db: Db,
  queue: Queue,
  log: Logger,
  queuedAfterMs: number,
): Promise<number> {
  const candidates = await findJobsToReconcile(db, { olderThanMs: queuedAfterMs });
  let enqueued = 0;
  for (const row of candidates) {
    const existing = await queue.getJob(row.id);
    const state = existing ? await existing.getState() : 'missing';
    if (state === 'failed' && existing) {
      // BullMQ gave up (retries or stalls exhausted) but the row never heard: close it.
      await failJob(db, {
        jobId: row.id,
        code: 'BP_ERR_TRAINING_FAILED',
        message: existing.failedReason || 'the job failed in the queue',
      });
      continue;
    }
    if (state === 'completed' && existing) await existing.remove();
    if (state === 'missing' || state === 'completed' || state === 'unknown') {
      const payload: TrainingJobPayload = { jobId: row.id, tenantId: row.tenantId };
      await queue.add(TRAIN_JOB_NAME, payload, { jobId: row.id });
      enqueued++;
      log.info({ jobId: row.id, status: row.status }, 'reconciler enqueued a job the queue did not hold');
    }
  }
  return enqueued;
}
