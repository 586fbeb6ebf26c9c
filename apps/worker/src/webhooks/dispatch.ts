/**
 * From the outbox to the queue. Deliveries are written in Postgres with the job's terminal
 * transition; every WEBHOOK_DISPATCH_EVERY_MS the dispatcher hands the new ones to the webhooks
 * queue (job id = delivery id, so two workers handing over the same row add one job) and marks
 * them. Every reconcile round it also checks that the queue still holds each pending delivery
 * handed over before (Redis can lose data, BullMQ can give up on a job), adds back what it lacks,
 * and deletes deliveries that ended more than WEBHOOK_RETENTION_DAYS ago.
 */
import { WEBHOOK_JOB_NAME, type WebhookJobPayload } from '@backprop/contracts';
import {
  type Db,
  deleteFinishedDeliveries,
  findDispatchedDeliveries,
  findUndispatchedDeliveries,
  markDeliveriesEnqueued,
} from '@backprop/db';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { queuePresence } from '../queue-presence.ts';

const BATCH = 500;
const RECONCILE_BATCH = 2000;
const DAY_MS = 24 * 3600 * 1000;

type Row = { id: string; nextAttemptAt: Date | null };

function queueJob(row: Row) {
  const payload: WebhookJobPayload = { deliveryId: row.id };
  const delay = Math.max(0, (row.nextAttemptAt?.getTime() ?? 0) - Date.now());
  return { name: WEBHOOK_JOB_NAME, data: payload, opts: { jobId: row.id, delay } };
}

/** Hands new deliveries to the queue; returns how many. */
export async function dispatchOnce(db: Db, queue: Queue): Promise<number> {
  const rows = await findUndispatchedDeliveries(db, BATCH);
  if (rows.length === 0) return 0;
  await queue.addBulk(rows.map(queueJob));
  await markDeliveriesEnqueued(
    db,
    rows.map((r) => r.id),
  );
  return rows.length;
}

/** Adds back pending deliveries the queue lost or gave up on, and applies the log's retention. */
export async function reconcileDeliveries(
  db: Db,
  queue: Queue,
  log: Logger,
  options: { handedOverBeforeMs: number; retentionDays: number },
): Promise<number> {
  const removed = await deleteFinishedDeliveries(db, options.retentionDays * DAY_MS);
  if (removed > 0) log.info({ removed }, 'webhook deliveries past their retention deleted');
  const rows = await findDispatchedDeliveries(db, {
    enqueuedBeforeMs: options.handedOverBeforeMs,
    limit: RECONCILE_BATCH,
  });
  let added = 0;
  for (const { row, held, completed, failed } of await queuePresence(queue, rows)) {
    if (held && !completed && !failed) continue; // waiting, delayed or active
    if (held) await queue.remove(row.id);
    const job = queueJob(row);
    await queue.add(job.name, job.data, job.opts);
    added++;
    log.info({ deliveryId: row.id }, 'reconciler re-enqueued a webhook delivery the queue did not hold');
  }
  return added;
}
