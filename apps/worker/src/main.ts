/**
 * The worker process: takes training jobs from the queue, trains each in a worker thread, and
 * persists results. Also runs the reconciler and listens for cancellations.
 */
import { hostname } from 'node:os';
import { CANCEL_CHANNEL, TRAINING_QUEUE, trainingJobOptions } from '@backprop/contracts';
import { createDb, failJob } from '@backprop/db';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { loadWorkerEnv } from './env.ts';
import { type ActiveTraining, processTrainingJob } from './process-job.ts';
import { reconcileOnce } from './reconciler.ts';

const env = loadWorkerEnv();
const log = pino({ level: env.LOG_LEVEL, base: { service: 'worker', pid: process.pid } });
const workerId = `${hostname()}:${process.pid}`;
const db = createDb({ databaseUrl: env.DATABASE_URL, poolMax: env.DB_POOL_MAX });
const active = new Map<string, ActiveTraining>();

const workerConnection = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
const queueConnection = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
const subscriber = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
for (const c of [workerConnection, queueConnection, subscriber])
  c.on('error', (err) => log.warn({ err: err.message }, 'redis'));

await refuseEvictingRedis(queueConnection);

const queue = new Queue(TRAINING_QUEUE, {
  connection: queueConnection,
  prefix: env.QUEUE_PREFIX,
  defaultJobOptions: trainingJobOptions(env.JOB_ATTEMPTS),
});
const worker = new Worker(
  TRAINING_QUEUE,
  (job, token) => processTrainingJob({ env, db, log, workerId, active }, job, token),
  {
    connection: workerConnection,
    prefix: env.QUEUE_PREFIX,
    concurrency: env.WORKER_CONCURRENCY,
    lockDuration: env.LOCK_DURATION_MS,
    stalledInterval: env.STALLED_INTERVAL_MS,
    maxStalledCount: env.MAX_STALLED_COUNT,
  },
);
worker.on('error', (err) => log.error({ err }, 'worker error'));
worker.on('failed', (job, err) => {
  if (!job) return;
  const exhausted = err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
  log.warn({ jobId: job.id, attemptsMade: job.attemptsMade, err: err.message }, 'job attempt failed');
  if (exhausted && job.id) {
    failJob(db, { jobId: job.id, code: 'BP_ERR_TRAINING_FAILED', message: err.message }).catch((e: unknown) =>
      log.error({ err: e, jobId: job.id }, 'could not mark the job failed; the reconciler will'),
    );
  }
});

await subscriber.subscribe(CANCEL_CHANNEL);
subscriber.on('message', (_channel, jobId: string) => {
  const training = active.get(jobId);
  if (training) {
    log.info({ jobId }, 'cancel received');
    void training.cancel();
  }
});

const reconciler = setInterval(() => {
  reconcileOnce(db, queue, log, env.RECONCILE_QUEUED_AFTER_MS).catch((err: unknown) =>
    log.warn({ err }, 'reconcile failed'),
  );
}, env.RECONCILE_EVERY_MS);

log.info({ workerId, concurrency: env.WORKER_CONCURRENCY }, 'worker ready');

let closing = false;
async function shutdown(signal: string): Promise<void> {
  if (closing) return;
  closing = true;
  log.info({ signal, active: active.size }, 'shutting down: checkpointing running jobs');
  clearInterval(reconciler);
  const force = setTimeout(() => {
    log.error('shutdown took longer than SHUTDOWN_TIMEOUT_MS; exiting');
    process.exit(1);
  }, env.SHUTDOWN_TIMEOUT_MS);
  force.unref();
  const closed = worker.close();
  await Promise.all([...active.values()].map((t) => t.release()));
  await closed;
  await Promise.allSettled([queue.close(), subscriber.quit(), db.$disconnect()]);
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

/** BullMQ is only correct with noeviction: an evicted lock or job key loses work (RELIABILITY.md P5). */
async function refuseEvictingRedis(redis: Redis): Promise<void> {
  const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
  const policy = reply[1];
  if (policy && policy !== 'noeviction') {
    log.fatal({ policy }, 'Redis maxmemory-policy must be noeviction');
    process.exit(1);
  }
}
