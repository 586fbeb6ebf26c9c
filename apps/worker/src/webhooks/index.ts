/**
 * The worker's webhook side: the webhooks queue's processor (deliver.ts), the dispatcher that
 * moves new deliveries from Postgres to the queue, and its reconcile round (dispatch.ts). Started
 * once by main.ts, closed by its shutdown.
 */
import { WEBHOOK_QUEUE } from '@backprop/contracts';
import { type Db, isDatabaseUnavailable } from '@backprop/db';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { WorkerEnv } from '../env.ts';
import { processDelivery } from './deliver.ts';
import { dispatchOnce, reconcileDeliveries } from './dispatch.ts';

/** BullMQ options of a delivery's queue job. Its own attempts are for the processor's failures
 * (Postgres unreachable), not the receiver's: those follow WEBHOOK_RETRY_SCHEDULE_MS. */
const JOB_OPTIONS = {
  attempts: 10,
  backoff: { type: 'exponential' as const, delay: 5000 },
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 24 * 3600, count: 1000 },
};

export interface Webhooks {
  close(): Promise<void>;
}

export function startWebhooks(deps: { env: WorkerEnv; db: Db; log: Logger }): Webhooks {
  const { env, db } = deps;
  const log = deps.log.child({ part: 'webhooks' });
  if (env.WEBHOOK_SECRET_KEY === null) {
    log.warn('WEBHOOK_SECRET_KEY is not set: secrets registered without it are stored unsealed');
  }
  const workerConnection = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
  const queueConnection = new Redis(env.REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  for (const c of [workerConnection, queueConnection]) c.on('error', () => undefined); // main.ts reports Redis
  const queue = new Queue(WEBHOOK_QUEUE, {
    connection: queueConnection,
    prefix: env.QUEUE_PREFIX,
    defaultJobOptions: JOB_OPTIONS,
  });
  queue.on('error', () => undefined);
  const worker = new Worker(WEBHOOK_QUEUE, (job, token) => processDelivery({ env, db, log }, job, token), {
    connection: workerConnection,
    prefix: env.QUEUE_PREFIX,
    concurrency: env.WEBHOOK_CONCURRENCY,
    lockDuration: env.LOCK_DURATION_MS,
    stalledInterval: env.STALLED_INTERVAL_MS,
    maxStalledCount: env.MAX_STALLED_COUNT,
  });
  // One line per distinct error, not one per reconnect attempt while Redis is down.
  let lastError = '';
  worker.on('error', (err) => {
    if (err.message === lastError) return;
    lastError = err.message;
    log.warn({ err: err.message }, 'webhooks worker error');
  });
  worker.on('ready', () => {
    lastError = '';
  });
  worker.on('failed', (job, err) =>
    log.warn({ deliveryId: job?.id, err: err.message }, 'a webhook delivery job failed in the queue'),
  );

  const every = <T>(ms: number, name: string, round: () => Promise<T>) => {
    let running = false;
    const timer = setInterval(() => {
      if (running || queueConnection.status !== 'ready') return;
      running = true;
      round()
        .catch((err: unknown) => {
          const unavailable = isDatabaseUnavailable(err);
          log.warn({ err: err instanceof Error ? err.message : String(err), unavailable }, `${name} failed`);
        })
        .finally(() => {
          running = false;
        });
    }, ms);
    timer.unref();
    return timer;
  };
  const dispatcher = every(env.WEBHOOK_DISPATCH_EVERY_MS, 'webhook dispatch', async () => {
    const handed = await dispatchOnce(db, queue);
    if (handed > 0) log.debug({ handed }, 'webhook deliveries handed to the queue');
  });
  const reconciler = every(env.RECONCILE_EVERY_MS, 'webhook reconcile', () =>
    reconcileDeliveries(db, queue, log, {
      // Long enough that a dispatch in flight (added, not yet marked) is not second-guessed.
      handedOverBeforeMs: Math.max(10 * env.WEBHOOK_DISPATCH_EVERY_MS, 10_000),
      retentionDays: env.WEBHOOK_RETENTION_DAYS,
    }),
  );

  return {
    async close() {
      clearInterval(dispatcher);
      clearInterval(reconciler);
      await worker.close();
      await Promise.allSettled([queue.close(), workerConnection.quit(), queueConnection.quit()]);
    },
  };
}
