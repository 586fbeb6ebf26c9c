/**
 * The worker, composed from its settings: takes training jobs from the queue, trains each in a
 * worker thread, persists results, and runs the reconciler, the cancel listener, the heartbeat and
 * the webhook deliveries. `main.ts` runs one per process; tests create one in-process the same way.
 */
import { hostname } from 'node:os';
import { CANCEL_CHANNEL, TRAINING_QUEUE, trainingJobOptions } from '@backprop/contracts';
import { assertMigrated, createDb, type Db, isDatabaseUnavailable } from '@backprop/db';
import { DelayedError, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pino, { type Logger } from 'pino';
import type { ActiveTraining } from './delivery.ts';
import type { WorkerEnv } from './env.ts';
import { errorText } from './error-text.ts';
import { JobEventPublisher } from './events.ts';
import { failJob, type JobFailure } from './fail-job.ts';
import { memoryMb, monitorEventLoop } from './health.ts';
import { processTrainingJob } from './process-job.ts';
import { reconcileOnce } from './reconciler.ts';
import { threadEntries } from './thread-entries.ts';
import { startWebhooks } from './webhooks/index.ts';

export interface WorkerOptions {
  /** Default: pino at env.LOG_LEVEL on stdout. */
  log?: Logger;
  /** Default: a pool of its own on env.DATABASE_URL, closed with the worker. */
  db?: Db;
  /**
   * A condition after the start under which the worker must not go on (Redis restarted with an
   * evicting policy). main.ts exits the process; a test can fail instead.
   */
  onFatal?: (reason: string, details: Record<string, unknown>) => void;
}

/** The worker cannot run as configured: `details` say what was found. */
export class WorkerStartError extends Error {
  constructor(
    message: string,
    readonly details: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'WorkerStartError';
  }
}

const EVICTING_REDIS = 'Redis maxmemory-policy must be noeviction';

export interface RunningWorker {
  readonly workerId: string;
  readonly log: Logger;
  /** Trainings in progress by job id. */
  readonly active: ReadonlyMap<string, ActiveTraining>;
  /**
   * Graceful shutdown: no new job starts, running ones checkpoint and go back to the queue, then
   * every connection closes. Calling it again returns the same promise.
   */
  close(): Promise<void>;
}

/** BullMQ's failedReason for a job that stalled more than maxStalledCount times. */
const STALLED_OUT = 'job stalled more than allowable limit';

/**
 * Starts a worker. Rejects (nothing left running) when Postgres or Redis is not usable as
 * configured: a wrong DATABASE_URL, an unmigrated database, a Redis that may evict keys. Waits
 * for Redis and tolerates an unreachable Postgres (jobs wait until it answers).
 */
export async function createWorker(env: WorkerEnv, options: WorkerOptions = {}): Promise<RunningWorker> {
  const log = options.log ?? pino({ level: env.LOG_LEVEL, base: { service: 'worker', pid: process.pid } });
  const onFatal = options.onFatal ?? ((reason, details) => log.fatal(details, reason));
  const workerId = `${hostname()}:${process.pid}`;
  const db =
    options.db ??
    createDb({
      databaseUrl: env.DATABASE_URL,
      poolMax: env.DB_POOL_MAX,
      onConnectionError: (err) =>
        log.warn({ err: err.message }, 'postgres connection lost; the pool replaces it'),
    });
  const active = new Map<string, ActiveTraining>();
  let closing: Promise<void> | null = null;

  // The worker's connections wait through a Redis outage (BullMQ needs maxRetriesPerRequest null on
  // them). The queue connection (reconciler, heartbeat) fails fast instead: a command sent while
  // Redis is down must not wait in an offline buffer, or every reconcile round would pile up.
  const workerConnection = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
  const queueConnection = new Redis(env.REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  const subscriber = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
  const connections = [workerConnection, queueConnection, subscriber];
  // ioredis retries every ~2 s while Redis is down: one line per connection and state change, not per retry.
  for (const [name, c] of [
    ['worker', workerConnection],
    ['queue', queueConnection],
    ['subscriber', subscriber],
  ] as const) {
    let lastError = '';
    c.on('error', (err: Error) => {
      if (err.message === lastError) return;
      lastError = err.message;
      log.warn({ connection: name, err: err.message }, 'redis connection error');
    });
    c.on('ready', () => {
      if (lastError) log.info({ connection: name }, 'redis connection ready again');
      lastError = '';
    });
  }
  const abandon = async (err: unknown): Promise<never> => {
    for (const c of connections) c.disconnect();
    if (!options.db) await db.$disconnect();
    throw err;
  };

  try {
    await waitForRedis(queueConnection, log);
    const policy = await evictionPolicy(queueConnection, log);
    if (policy !== null) throw new WorkerStartError(EVICTING_REDIS, { policy });
    await checkPostgres(db, log);
    // Before any job is taken: the first job does not wait for it, and a failure stops the start.
    await threadEntries();
    // Listening for cancellations before taking any job, so none is missed; and from here to the
    // end of this function there is no await, so a stop finds either no job taken or everything
    // in place.
    await subscriber.subscribe(CANCEL_CHANNEL);
  } catch (err) {
    return abandon(err);
  }
  // Checked again on every reconnect: a Redis restarted with another policy must not be used either.
  queueConnection.on('ready', () => {
    evictionPolicy(queueConnection, log).then(
      (policy) => {
        if (policy !== null) onFatal(EVICTING_REDIS, { policy });
      },
      (err: unknown) => log.warn({ err }, 'could not read maxmemory-policy after reconnecting'),
    );
  });
  subscriber.on('message', (_channel, jobId: string) => {
    const training = active.get(jobId);
    if (training) {
      log.info({ jobId }, 'cancel received');
      void training.cancel();
    }
  });

  // Live events go through the fail-fast connection: while Redis is down an append fails at once
  // (and is retried in the background) instead of waiting in an offline buffer.
  const events = new JobEventPublisher(
    queueConnection,
    env.QUEUE_PREFIX,
    {
      maxLen: env.JOB_EVENTS_MAX_LEN,
      idleTtlMs: env.JOB_EVENTS_IDLE_TTL_MS,
      finishedTtlMs: env.JOB_EVENTS_FINISHED_TTL_MS,
    },
    log,
  );

  const queue = new Queue(TRAINING_QUEUE, {
    connection: queueConnection,
    prefix: env.QUEUE_PREFIX,
    defaultJobOptions: trainingJobOptions(env.JOB_ATTEMPTS),
  });
  const isClosing = () => closing !== null;
  let lastJobAt: number | null = null;
  const worker = new Worker(
    TRAINING_QUEUE,
    async (job, token) => {
      lastJobAt = Date.now();
      try {
        return await processTrainingJob({ env, db, log, workerId, events, active, isClosing }, job, token);
      } catch (err) {
        // Postgres down or its connection killed is no fault of the job: back to the queue for a
        // while without spending an attempt, so an outage delays jobs instead of failing them
        // (RELIABILITY.md scenarios 10, 11). The job's row is fenced by its attempt, so a later
        // delivery takes over cleanly.
        if (isDatabaseUnavailable(err) && token && !isClosing()) {
          log.warn(
            { jobId: job.id, err: errorText(err), delayMs: env.DB_UNAVAILABLE_DELAY_MS },
            'postgres unavailable; the job goes back to the queue',
          );
          await job.moveToDelayed(Date.now() + env.DB_UNAVAILABLE_DELAY_MS, token);
          throw new DelayedError();
        }
        throw err;
      }
    },
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
    if (!job?.id) return;
    const jobId = job.id;
    const final = err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    log.warn({ jobId, attemptsMade: job.attemptsMade, err: err.message, final }, 'job attempt failed');
    if (!final) return;
    // BullMQ fails a job that stalled more than MAX_STALLED_COUNT times only when a worker next
    // fetches it (a deferred failure), and 'failed' fires in that worker: rarely the process that
    // held the job, which is dead or frozen. So whichever worker sees it closes the row, in words a
    // client can act on. Deterministic failures were recorded by the processor already; failJob
    // never overwrites a terminal state, so this is then a no-op.
    const failure: JobFailure =
      err.message === STALLED_OUT
        ? {
            code: 'BP_ERR_WORKER_LOST',
            message: `training was interrupted too often: the worker holding the job stopped (killed, crashed or frozen) more than MAX_STALLED_COUNT = ${env.MAX_STALLED_COUNT} time(s)`,
          }
        : { code: 'BP_ERR_TRAINING_FAILED', message: err.message };
    failJob(db, events, { jobId, ...failure })
      .then((changed) => {
        if (changed) log.warn({ jobId, ...failure }, 'job marked failed');
      })
      .catch((e: unknown) =>
        log.error({ err: e, jobId }, 'could not mark the job failed; the reconciler will'),
      );
  });
  // The stalled checker of this process found a job whose worker stopped renewing its lock (killed,
  // frozen, or an event loop blocked for lockDuration): it goes back to the queue.
  worker.on('stalled', (jobId) =>
    log.warn({ jobId }, 'job stalled: its worker stopped renewing the lock; back to the queue'),
  );
  // This process could not renew a lock, so another worker may own the job now (BullMQ's advice:
  // stop locally, and let the stalled checker re-queue it). BullMQ also emits an 'error' for it.
  worker.on('lockRenewalFailed', (jobIds) => {
    for (const jobId of jobIds) active.get(jobId)?.lockLost();
  });

  // The main thread's own health: it renews the locks, so its event-loop delay is what matters
  // (RELIABILITY.md P1); memory shows whether finished training threads gave theirs back.
  const eventLoop = monitorEventLoop();
  const health =
    env.HEALTH_LOG_EVERY_MS > 0
      ? setInterval(() => {
          log.info({ eventLoopDelayMs: eventLoop.read(), ...memoryMb(), active: active.size }, 'health');
          eventLoop.reset();
        }, env.HEALTH_LOG_EVERY_MS)
      : undefined;
  health?.unref();

  // One reconcile round at a time: a slow round (Postgres or Redis struggling) is skipped over,
  // never stacked. Rounds while Redis is down would only fail, so they wait for it.
  let reconciling = false;
  const reconciler = setInterval(() => {
    if (reconciling || isClosing() || queueConnection.status !== 'ready') return;
    reconciling = true;
    reconcileOnce(db, queue, log, env.RECONCILE_QUEUED_AFTER_MS, events)
      .catch((err: unknown) => log.warn({ err: errorText(err) }, 'reconcile failed'))
      .finally(() => {
        reconciling = false;
      });
  }, env.RECONCILE_EVERY_MS);

  // Liveness (RELIABILITY.md P6): BullMQ relies on ioredis to reconnect, and workers have been seen
  // to stop fetching after a Redis restart (bullmq#2964, #2466). Each beat logs the state and
  // refreshes a key with a TTL of three beats, which a probe can read; a main loop that ended
  // while we are not closing is started again.
  const heartbeatKey = `${env.QUEUE_PREFIX}:${TRAINING_QUEUE}:workers:${workerId}`;
  const heartbeat = setInterval(() => {
    if (isClosing()) return;
    const running = worker.isRunning();
    const redis = workerConnection.status;
    log.info({ redis, running, active: active.size, lastJobAt }, 'heartbeat');
    if (!running && redis === 'ready') {
      log.warn('the worker loop had stopped; starting it again');
      worker.run().catch((err: unknown) => log.error({ err: errorText(err) }, 'worker loop failed'));
    }
    if (queueConnection.status === 'ready') {
      const beat = JSON.stringify({ at: Date.now(), running, active: active.size, lastJobAt });
      queueConnection
        .set(heartbeatKey, beat, 'PX', Math.max(3 * env.HEARTBEAT_EVERY_MS, 1000))
        .catch(() => undefined);
    }
  }, env.HEARTBEAT_EVERY_MS);
  heartbeat.unref();

  // Webhook deliveries: their own queue, processor and dispatcher (webhooks/index.ts).
  const webhooks = startWebhooks({ env, db, log });

  const shutdown = async (): Promise<void> => {
    log.info({ active: active.size }, 'shutting down: checkpointing running jobs');
    clearInterval(reconciler);
    clearInterval(heartbeat);
    clearInterval(health);
    eventLoop.stop();
    const closed = worker.close();
    await Promise.all([...active.values()].map((t) => t.release()));
    await closed;
    await webhooks.close();
    await Promise.allSettled([
      queue.close(),
      subscriber.quit(),
      options.db ? Promise.resolve() : db.$disconnect(),
    ]);
    for (const c of connections) c.disconnect();
  };

  log.info({ workerId, concurrency: env.WORKER_CONCURRENCY, ...memoryMb() }, 'worker ready');
  return {
    workerId,
    log,
    active,
    close() {
      closing ??= shutdown();
      return closing;
    },
  };
}

/**
 * BullMQ is only correct with noeviction: an evicted lock or job key loses work (RELIABILITY.md
 * P5). Returns the offending policy, or null when it is noeviction or cannot be read.
 */
async function evictionPolicy(redis: Redis, log: Logger): Promise<string | null> {
  let reply: unknown;
  try {
    reply = await redis.config('GET', 'maxmemory-policy');
  } catch (err) {
    // Some managed Redis services disable CONFIG: say so, and trust the operator.
    if (err instanceof Error && err.name === 'ReplyError') {
      log.warn({ err: err.message }, 'cannot read maxmemory-policy; make sure it is noeviction');
      return null;
    }
    throw err;
  }
  const policy = Array.isArray(reply) ? reply[1] : undefined;
  return typeof policy === 'string' && policy !== 'noeviction' ? policy : null;
}

/** Waits for the first connection to Redis, saying so every few seconds (no work without it). */
async function waitForRedis(redis: Redis, log: Logger): Promise<void> {
  if (redis.status === 'ready') return;
  const started = Date.now();
  const nag = setInterval(
    () => log.warn({ waitedMs: Date.now() - started }, 'waiting for Redis before taking jobs'),
    5000,
  );
  await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
  clearInterval(nag);
}

/**
 * A wrong DATABASE_URL or an unmigrated database is a configuration error: the start fails with
 * the reason. An unreachable Postgres is an outage: start anyway, jobs wait until it is back.
 */
async function checkPostgres(db: Db, log: Logger): Promise<void> {
  try {
    await assertMigrated(db);
  } catch (err) {
    if (isDatabaseUnavailable(err)) {
      log.warn({ err: errorText(err) }, 'postgres unreachable at startup; jobs wait until it answers');
      return;
    }
    throw new WorkerStartError('postgres is not usable (wrong DATABASE_URL or not migrated?)', {
      err: errorText(err),
    });
  }
}
