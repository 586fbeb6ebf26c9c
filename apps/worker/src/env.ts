/** The worker's configuration, parsed once from the environment at boot. */
import { availableParallelism } from 'node:os';
import { envInt, parseEnv, SharedEnvFields } from '@backprop/contracts';
import { WebhookWorkerEnvFields } from '@backprop/webhooks';
import { z } from 'zod';
import { FaultList } from './faults.ts';

const WorkerEnvFields = z.object({
  ...SharedEnvFields,
  DB_POOL_MAX: envInt(5),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).default(availableParallelism()),
  /** How long a BullMQ lock lives without renewal; renewal runs every half of it. A dead
   * worker's job is taken again within LOCK_DURATION_MS + STALLED_INTERVAL_MS (at most 2 × lock). */
  LOCK_DURATION_MS: envInt(30_000),
  STALLED_INTERVAL_MS: envInt(15_000),
  MAX_STALLED_COUNT: envInt(2),
  /** Progress (iteration, cost, history) is persisted at least this often. */
  PROGRESS_EVERY_MS: envInt(500),
  CHECKPOINT_EVERY_MS: envInt(10_000),
  /** A running job's lease in Postgres, renewed every third of it while its worker lives; the
   * API shows a running job whose lease ran out as `worker.alive: false` (waiting for a worker). */
  LEASE_MS: z.coerce.number().int().min(3).default(15_000),
  /** Running jobs per tenant at once (across all workers); 0 = no cap. */
  TENANT_MAX_RUNNING_JOBS: envInt(2),
  /** A job deferred because its tenant is at the cap comes back to the queue after this long. */
  TENANT_CAP_RETRY_MS: z.coerce.number().int().min(1).default(2_000),
  RECONCILE_EVERY_MS: envInt(15_000),
  /** A queued row older than this that the queue does not hold is enqueued again. */
  RECONCILE_QUEUED_AFTER_MS: envInt(10_000),
  SHUTDOWN_TIMEOUT_MS: envInt(20_000),
  /** Liveness: how often the worker logs a heartbeat and refreshes its key in Redis. */
  HEARTBEAT_EVERY_MS: envInt(10_000),
  /** A job that finds Postgres unreachable goes back to the queue for this long, no attempt spent. */
  DB_UNAVAILABLE_DELAY_MS: envInt(5_000),
  /** How long a finished training's result is retried against an unreachable Postgres before the
   * attempt fails (and the job resumes from its checkpoint later). */
  RESULT_SAVE_TIMEOUT_MS: envInt(120_000),
  THREAD_MAX_OLD_GENERATION_MB: envInt(2048),
  /** Nice value of training threads (Linux, 0–19): CPU goes to lock renewals and the API first. */
  THREAD_NICE: z.coerce.number().int().min(0).max(19).default(10),
  /** Threads one training uses at most (a job's training.threads above it runs with this many);
   * default: cores / WORKER_CONCURRENCY, at least 1 (helper-threads.ts). */
  WORKER_TRAINING_THREADS: z.coerce.number().int().min(1).max(64).optional(),
  /** How often the worker logs its event-loop delay and memory ('health'); 0 = never. */
  HEALTH_LOG_EVERY_MS: envInt(60_000),
  /** Test-only fault injection (faults.ts); empty in production. */
  BACKPROP_FAULT_INJECT: FaultList,
  /** Webhook deliveries: retry schedule, timeouts, response cap, concurrency, the secret key. */
  ...WebhookWorkerEnvFields,
});
export const WorkerEnv = WorkerEnvFields.refine((env) => env.STALLED_INTERVAL_MS <= env.LOCK_DURATION_MS, {
  path: ['STALLED_INTERVAL_MS'],
  message:
    "must not exceed LOCK_DURATION_MS: a dead worker's job waits up to LOCK_DURATION_MS + STALLED_INTERVAL_MS before another worker takes it",
});
export type WorkerEnv = z.infer<typeof WorkerEnv>;

export function loadWorkerEnv(source: NodeJS.ProcessEnv = process.env): WorkerEnv {
  return parseEnv(WorkerEnv, source);
}
