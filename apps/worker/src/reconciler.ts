/**
 * Postgres is the system of record; Redis only delivers. The reconciler closes the gaps between
 * them: a queued row the queue does not hold (the enqueue failed, or Redis lost its data) is
 * enqueued again, and a running row whose lease expired without a live BullMQ job is re-queued.
 * Adding with jobId = row id is a no-op while the queue still holds the job.
 */
import { TRAIN_JOB_NAME, type TrainingJobPayload } from '@backprop/contracts';
import { type Db, findJobsToReconcile, sweepStorage } from '@backprop/db';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { JobEventPublisher } from './events.ts';
import { failJob } from './fail-job.ts';
import { queuePresence } from './queue-presence.ts';

/** Rows looked at per round: a backlog of held jobs must not hide orphans behind it. */
const ROWS_PER_ROUND = 2000;

export async function reconcileOnce(
  db: Db,
  queue: Queue,
  log: Logger,
  queuedAfterMs: number,
  /** Where the failures it records are announced (none: not announced). */
  events?: JobEventPublisher,
): Promise<number> {
  // Checkpoints of finished jobs (and deleted rows nothing refers to) are dead weight counted
  // against the tenant's quota; they are deleted as jobs finish, and this catches any left behind.
  const swept = await sweepStorage(db);
  if (swept.checkpoints + swept.rows > 0) log.info(swept, 'reconciler swept storage');
  const candidates = await findJobsToReconcile(db, { olderThanMs: queuedAfterMs, limit: ROWS_PER_ROUND });
  let enqueued = 0;
  for (const { row, held, completed, failed } of await queuePresence(queue, candidates)) {
    if (held && failed) {
      // BullMQ gave up (retries or stalls exhausted) but the row never heard: close it.
      const existing = await queue.getJob(row.id);
      await failJob(db, events, {
        jobId: row.id,
        code: 'BP_ERR_TRAINING_FAILED',
        message: existing?.failedReason || 'the job failed in the queue',
      });
      continue;
    }
    if (held && !completed) continue; // waiting, delayed or active: the queue has it
    if (held) await queue.remove(row.id); // completed in Redis, not in Postgres: run it again
    const payload: TrainingJobPayload = { jobId: row.id, tenantId: row.tenantId };
    await queue.add(TRAIN_JOB_NAME, payload, { jobId: row.id });
    enqueued++;
    log.info({ jobId: row.id, status: row.status }, 'reconciler enqueued a job the queue did not hold');
  }
  return enqueued;
}
