/**
 * One delivery of a training job, in three steps: claim it in Postgres, run its training in a
 * thread (the thread's reports written as they come: training-writes.ts), and settle what the run
 * ended with. Postgres decides who owns the job (compare-and-set on status and attempt), so a
 * duplicate or late delivery changes nothing.
 */
import {
  Init,
  Layer,
  Normalization,
  parsePlannedTraining,
  Task,
  TrainingJobPayload,
} from '@backprop/contracts';
import {
  bytesToFloat64,
  claimJobWithinTenantCap,
  type Db,
  getCheckpoint,
  getDatasetWithValues,
  getNetwork,
  recordProgress,
  type TrainingJob,
} from '@backprop/db';
import { DelayedError, type Job, UnrecoverableError, WaitingError } from 'bullmq';
import type { Logger } from 'pino';
import { z } from 'zod';
import { type ActiveTraining, Delivery } from './delivery.ts';
import type { WorkerEnv } from './env.ts';
import type { JobEventPublisher } from './events.ts';
import { failJob } from './fail-job.ts';
import { takeFault } from './faults.ts';
import { memoryMb, monitorEventLoop } from './health.ts';
import type { CheckpointState, ResumeState, TrainRequest } from './protocol.ts';
import { threadEntries } from './thread-entries.ts';
import { startTrainingThread, type ThreadOutcome } from './thread-runner.ts';
import { threadsOf, trainingThreadsCap } from './training-threads.ts';
import { type ProcessResult, TrainingWrites } from './training-writes.ts';

export interface ProcessorDeps {
  env: WorkerEnv;
  db: Db;
  log: Logger;
  workerId: string;
  /** Where the job's status transitions, costs and progress are announced (live events). */
  events: JobEventPublisher;
  /** Running trainings by job id, so cancellation and shutdown can reach them. */
  active: Map<string, ActiveTraining>;
  /** True once a graceful shutdown began: a job delivered from then on goes back untouched. */
  isClosing(): boolean;
}

export async function processTrainingJob(
  deps: ProcessorDeps,
  job: Job,
  token: string | undefined,
): Promise<ProcessResult> {
  const parsed = TrainingJobPayload.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`invalid payload: ${parsed.error.message}`);
  const { jobId, tenantId } = parsed.data;
  const { db, env, events } = deps;
  const log = deps.log.child({ jobId });

  // A delivery fetched just as the worker began shutting down: leave it to another worker.
  if (deps.isClosing() && token) {
    log.info('shutting down: the job goes back to the queue untouched');
    await job.moveToWait(token);
    throw new WaitingError();
  }

  const claim = await claimDelivery(deps, job, token, jobId, log);
  if (claim.outcome !== 'claimed') return claim;
  const delivery = new Delivery({ db, env, events, log, job, jobId, attempt: claim.attempt });
  events.status(jobId, { status: 'running' });
  // Registered before anything slow, so that a cancel or a shutdown arriving while the data loads
  // still reaches this job: the thread, once started, is told at once.
  deps.active.set(jobId, delivery);
  delivery.renewLeaseOnTheClock();
  try {
    const ran = await runTraining(delivery, tenantId, claim.job, token);
    return 'outcome' in ran ? ran : await settle(delivery, ran, token);
  } finally {
    delivery.stopRenewing();
    deps.active.delete(jobId);
    // This delivery is over: its events still drain, but the publisher keeps no queue for it.
    events.forget(jobId);
  }
}

/** The claim: this delivery's attempt and the job's row, or why there is nothing to train. */
async function claimDelivery(
  { db, env, workerId }: ProcessorDeps,
  job: Job,
  token: string | undefined,
  jobId: string,
  log: Logger,
): Promise<{ outcome: 'claimed'; attempt: number; job: TrainingJob } | ProcessResult> {
  const claim = await claimJobWithinTenantCap(db, {
    jobId,
    workerId,
    leaseMs: env.LEASE_MS,
    tenantMaxRunning: env.TENANT_MAX_RUNNING_JOBS,
  });
  if (claim.outcome === 'finished') {
    // A re-delivery of a finished or cancelled job (a reconciler re-enqueue, a queue entry that
    // outlived its row's end): Postgres already holds the answer, nothing changes.
    log.info('skipped: the job is already finished or cancelled');
    return { outcome: 'skipped', reason: 'the job is finished or cancelled' };
  }
  if (claim.outcome === 'deferred') {
    // The tenant has TENANT_MAX_RUNNING_JOBS running (or older jobs first in line): this one
    // waits in the delayed set without spending an attempt, its row untouched (queued), and
    // other tenants' jobs take the slot meanwhile.
    log.info(
      { ahead: claim.ahead, max: env.TENANT_MAX_RUNNING_JOBS, retryInMs: env.TENANT_CAP_RETRY_MS },
      'deferred: the tenant is at TENANT_MAX_RUNNING_JOBS',
    );
    if (!token) throw new Error('deferred without a lock token');
    await job.moveToDelayed(Date.now() + env.TENANT_CAP_RETRY_MS, token);
    throw new DelayedError();
  }
  return claim;
}

/** How the training thread ended, and what its reports came to once written. */
interface RunEnded {
  thread: ThreadOutcome;
  writes: TrainingWrites;
}

/** The run: the job's data loaded, trained in a thread, every report written. */
async function runTraining(
  delivery: Delivery,
  tenantId: string,
  row: TrainingJob,
  token: string | undefined,
): Promise<RunEnded | ProcessResult> {
  const { db, env, events, log, jobId, attempt } = delivery.ctx;
  const [dataset, network, checkpoint] = await Promise.all([
    getDatasetWithValues(db, tenantId, row.datasetId),
    getNetwork(db, tenantId, row.networkId),
    getCheckpoint(db, jobId),
  ]);
  if (!dataset || !network) {
    await failJob(db, events, {
      jobId,
      code: 'BP_ERR_BAD_DATA',
      message: 'the dataset or network of this job no longer exists',
    });
    throw new UnrecoverableError('dataset or network missing');
  }
  if (delivery.lost !== null) return { outcome: 'cancelled', reason: delivery.lost };
  if (delivery.releaseRequested && token) {
    return delivery.handBack(token, 'shutting down before training started: the job went back to the queue');
  }
  const resume: ResumeState | null = checkpoint
    ? {
        iteration: checkpoint.iteration,
        snapshot: checkpoint.snapshot,
        state: parseCheckpointState(checkpoint.state),
        costs: bytesToFloat64(checkpoint.costs),
        validationHistory: bytesToFloat64(checkpoint.validationHistory),
      }
    : null;
  if (resume) {
    // The row shows where this attempt starts, not the progress the previous one reached after
    // its last checkpoint (work that is lost and done again).
    const ours = await recordProgress(db, {
      jobId,
      attempt,
      iteration: resume.iteration,
      cost: resume.costs.at(-1) ?? null,
      costs: resume.costs,
      validationHistory: resume.validationHistory,
      leaseMs: env.LEASE_MS,
    });
    if (!ours) return { outcome: 'cancelled', reason: 'the job was cancelled or taken over' };
  }
  log.info({ attempt, resumeFrom: resume?.iteration ?? 0 }, 'training starts');

  const request: TrainRequest = {
    x: dataset.x,
    y: dataset.y,
    samples: dataset.samples,
    features: dataset.features,
    task: Task.parse(dataset.task),
    network: {
      inputSize: network.inputSize,
      layers: Layer.array().parse(network.layers),
      init: Init.parse(network.init),
    },
    // Parsed, not cast: a plan this version cannot train fails here, before a thread starts.
    training: parsePlannedTraining(row.training),
    resume,
    progressEveryMs: env.PROGRESS_EVERY_MS,
    checkpointEveryMs: env.CHECKPOINT_EVERY_MS,
    nice: env.THREAD_NICE,
    maxThreads: trainingThreadsCap(env),
    control: new SharedArrayBuffer(4 * 4),
    ...(takeFault(env.BACKPROP_FAULT_INJECT, 'thread-throw') ? { injectThrow: true } : {}),
  };
  log.info({ threads: threadsOf(request), dtype: request.training.dtype ?? 'float64' }, 'training threads');

  const writes = new TrainingWrites(delivery, { dataset, network }, resume, row);
  const entries = await threadEntries();
  const started = Date.now();
  const eventLoop = monitorEventLoop();
  const thread = startTrainingThread(entries, request, writes.onMessage, env.THREAD_MAX_OLD_GENERATION_MB);
  await delivery.attach(thread);
  const outcome = await thread.done;
  await writes.drained();
  const delay = eventLoop.read();
  eventLoop.stop();
  log.info(
    {
      outcome: outcome.kind,
      ...(outcome.kind === 'stopped' ? { reason: outcome.reason } : {}),
      ...(outcome.kind === 'crashed' ? { error: outcome.message, code: outcome.code } : {}),
      durationMs: Date.now() - started,
      eventLoopDelayMs: delay,
      ...memoryMb(),
    },
    'training thread ended',
  );
  return { thread: outcome, writes };
}

/** What the delivery answers BullMQ, from how the run ended. */
async function settle(
  delivery: Delivery,
  ended: RunEnded,
  token: string | undefined,
): Promise<ProcessResult> {
  const { db, env, events, log, jobId, attempt } = delivery.ctx;
  const { thread, writes } = ended;
  if (thread.kind === 'crashed') {
    // Deterministic: the same data and code would crash again, so no retry (UnrecoverableError).
    const outOfMemory = thread.code === 'ERR_WORKER_OUT_OF_MEMORY';
    const message = outOfMemory
      ? `training ran out of memory (ERR_WORKER_OUT_OF_MEMORY): the training thread's heap outgrew THREAD_MAX_OLD_GENERATION_MB = ${env.THREAD_MAX_OLD_GENERATION_MB}`
      : `training crashed: ${thread.message}`;
    await failJob(db, events, {
      jobId,
      attempt,
      code: outOfMemory ? 'BP_ERR_OUT_OF_MEMORY' : 'BP_ERR_TRAINING_CRASHED',
      message,
    });
    throw new UnrecoverableError(message);
  }
  if (writes.failure) throw writes.failure;
  if (writes.result) {
    log.info(writes.result, 'job finished');
    return writes.result;
  }
  if (thread.kind === 'released' && delivery.queueLockLost) {
    // No longer ours in the queue: whatever this delivery reports is refused. The stalled
    // checker re-queues the job, and the checkpoint (if it still landed) keeps the work.
    throw new Error('the queue lock was lost; the job is left to the stalled checker');
  }
  if (thread.kind === 'released' && token) {
    // Back to the queue without spending an attempt; the next worker resumes from the checkpoint.
    return delivery.handBack(token, 'released: checkpointed and back in the queue');
  }
  return { outcome: 'cancelled', reason: delivery.lost ?? 'stopped' };
}

/** A checkpoint's JSON part: the normalisation the run started with. */
const StoredCheckpointState = z.object({ normalization: Normalization });

function parseCheckpointState(state: unknown): CheckpointState {
  return StoredCheckpointState.parse(state);
}
