/**
 * One delivery of a training job: claim it in Postgres, train it in a thread, persist progress,
 * checkpoints and the result. Postgres decides who owns the job (compare-and-set on status and
 * attempt), so a duplicate or late delivery changes nothing.
 */
import {
  ClassLabel,
  Layer,
  Normalization,
  parsePlannedTraining,
  Task,
  TrainingJobPayload,
} from '@backprop/contracts';
import {
  bytesToFloat64,
  claimJobWithinTenantCap,
  completeJob,
  type Db,
  getCheckpoint,
  getDatasetWithValues,
  getNetwork,
  isDatabaseUnavailable,
  recordProgress,
  releaseJob,
  renewLease,
  saveCheckpoint,
} from '@backprop/db';
import { DelayedError, type Job, UnrecoverableError, WaitingError } from 'bullmq';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { WorkerEnv } from './env.ts';
import type { JobEventPublisher } from './events.ts';
import { failJob } from './fail-job.ts';
import { takeFault } from './faults.ts';
import { memoryMb, monitorEventLoop } from './health.ts';
import type { CheckpointState, ResumeState, ThreadMessage, TrainRequest } from './protocol.ts';
import { threadEntries } from './thread-entries.ts';
import { startTrainingThread, type ThreadHandle } from './thread-runner.ts';
import { threadsOf, trainingThreadsCap } from './training-threads.ts';

export interface ProcessorDeps {
  env: WorkerEnv;
  db: Db;
  log: Logger;
  workerId: string;
  /** Where the job's status transitions, costs and progress are announced (live events). */
  events: JobEventPublisher;
  /** Running trainings by job id, so cancellation and shutdown can reach them. */
  active: Map<string, ActiveTraining>;
}

export interface ActiveTraining {
  cancel(): Promise<void>;
  /** Checkpoints and stops; the job goes back to the queue for another worker. */
  release(): Promise<void>;
  /**
   * BullMQ could not renew this job's lock: another worker may hold it by now. Checkpoints (the
   * write lands only if the job is still this attempt's) and stops; the stalled checker puts the
   * job back in the queue, and whoever takes it resumes from the checkpoint.
   */
  lockLost(): void;
}

export type ProcessResult =
  | { outcome: 'succeeded'; modelId: string }
  | { outcome: 'skipped' | 'cancelled'; reason: string };

/** Set by the shutdown: a job delivered from now on goes back to the queue untouched. */
let stopping = false;

/** Graceful shutdown has begun: no new training starts in this process. */
export function stopTakingJobs(): void {
  stopping = true;
}

export async function processTrainingJob(
  deps: ProcessorDeps,
  job: Job,
  token: string | undefined,
): Promise<ProcessResult> {
  const parsed = TrainingJobPayload.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`invalid payload: ${parsed.error.message}`);
  const { jobId, tenantId } = parsed.data;
  const { db, env, events, log: baseLog } = deps;
  const log = baseLog.child({ jobId });

  // A delivery fetched just as the worker began shutting down: leave it to another worker.
  if (stopping && token) {
    log.info('shutting down: the job goes back to the queue untouched');
    await job.moveToWait(token);
    throw new WaitingError();
  }

  const claim = await claimJobWithinTenantCap(db, {
    jobId,
    workerId: deps.workerId,
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
  const { attempt } = claim;
  const row = claim.job;
  events.status(jobId, { status: 'running' });

  // Registered before anything slow, so that a cancel or a shutdown arriving while the data loads
  // still reaches this job: the thread, once started, is told at once.
  let thread: ThreadHandle | null = null;
  let lost: string | null = null;
  let releaseRequested = false;
  let lockLost = false;
  deps.active.set(jobId, {
    async cancel() {
      lost ??= 'cancelled';
      await thread?.stop('cancelled');
    },
    async release() {
      releaseRequested = true;
      thread?.release();
    },
    lockLost() {
      if (lockLost) return;
      lockLost = true;
      log.warn(
        'the queue lock of this job was lost (another worker may hold it): checkpointing and stopping',
      );
      thread?.release();
    },
  });
  // The lease says "a live worker holds this job": renewed on the clock, not only with progress,
  // so loading a large dataset or a slow thread does not make a live job look abandoned.
  let renewing = false;
  let renewalStopped = false;
  const leaseRenewal = setInterval(
    () => {
      if (renewing) return;
      renewing = true;
      renewLease(db, { jobId, attempt, leaseMs: env.LEASE_MS })
        .then(async (ours) => {
          if (ours || lost !== null || renewalStopped) return;
          lost = 'the job was cancelled or taken over by another delivery';
          log.warn(`${lost}: stopping the training`);
          await thread?.stop(lost);
        })
        .catch((err: unknown) => log.warn({ err }, 'renewing the lease failed; training goes on'))
        .finally(() => {
          renewing = false;
        });
    },
    Math.max(1, Math.floor(env.LEASE_MS / 3)),
  );
  // Stopped once the outcome is being written: a renewal refused after the job finished means nothing.
  const stopRenewing = () => {
    renewalStopped = true;
    clearInterval(leaseRenewal);
  };
  try {
    return await trainClaimedJob();
  } finally {
    stopRenewing();
    deps.active.delete(jobId);
    // This delivery is over: its events still drain, but the publisher keeps no queue for it.
    events.forget(jobId);
  }

  /**
   * Back to the queue without spending an attempt: the row first says queued again (progress
   * kept; fenced, so only if still ours), then the queue entry goes back to waiting.
   */
  async function handBack(lockToken: string, message: string): Promise<never> {
    stopRenewing();
    await releaseJob(db, { jobId, attempt }).then(
      (released) => {
        if (released) events.status(jobId, { status: 'queued' });
      },
      (err: unknown) =>
        log.warn({ err }, 'could not mark the job queued; it shows as running until its lease runs out'),
    );
    await job.moveToWait(lockToken);
    log.info(message);
    throw new WaitingError();
  }

  async function trainClaimedJob(): Promise<ProcessResult> {
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
    if (lost !== null) return { outcome: 'cancelled', reason: lost };
    if (releaseRequested && token) {
      return handBack(token, 'shutting down before training started: the job went back to the queue');
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
        init: network.init,
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

    // Writes to Postgres happen one at a time, in order; a progress write that finds the job no
    // longer ours (cancelled, or taken over by a newer attempt) stops the thread.
    let writes: Promise<unknown> = Promise.resolve();
    // The cost history the thread has reported (it only grows), and how much of it the row holds:
    // a progress write appends the rest. A write that failed is covered by the next one.
    const costs: number[] = resume ? Array.from(resume.costs) : [];
    let storedCosts = costs.length;
    // Two values per cost with a validation split (empty without): stored alongside costs.
    const validationHistory: number[] = resume ? Array.from(resume.validationHistory) : [];
    let result: ProcessResult | null = null;
    let failure: Error | null = null;
    const enqueueWrite = (write: () => Promise<void>) => {
      writes = writes.then(write).catch((err: unknown) => {
        log.warn({ err }, 'a progress or checkpoint write failed; training goes on');
      });
    };

    const onMessage = (message: ThreadMessage) => {
      switch (message.type) {
        case 'progress':
          announceProgress(message);
          for (const cost of message.newCosts) costs.push(cost);
          for (const value of message.newValidationHistory) validationHistory.push(value);
          enqueueWrite(async () => {
            const upTo = costs.length;
            const validationUpTo = validationHistory.length;
            const ours = await recordProgress(db, {
              jobId,
              attempt,
              iteration: message.iteration,
              cost: message.cost,
              costsFrom: storedCosts,
              costs: Float64Array.from(costs.slice(storedCosts, upTo)),
              validationHistory: Float64Array.from(validationHistory.slice(storedCosts * 2, validationUpTo)),
              leaseMs: env.LEASE_MS,
            });
            if (ours) storedCosts = upTo;
            if (!ours && lost === null) {
              lost = 'the job was cancelled or taken over by another delivery';
              log.warn({ iteration: message.iteration }, `${lost}: stopping the training`);
              await thread?.stop(lost);
            }
            await job.updateProgress({ iteration: message.iteration }).catch(() => undefined);
          });
          break;
        case 'checkpoint':
          enqueueWrite(async () => {
            const saved = await saveCheckpoint(db, {
              jobId,
              attempt,
              iteration: message.iteration,
              snapshot: message.snapshot,
              state: { normalization: message.state.normalization },
              costs: message.costs,
              validationHistory: message.validationHistory,
            });
            log.debug({ iteration: message.iteration, saved }, 'checkpoint');
          });
          break;
        case 'done':
          stopRenewing();
          enqueueWrite(async () => {
            if (takeFault(env.BACKPROP_FAULT_INJECT, 'sigstop-before-complete')) {
              log.warn('fault injection: this process stops itself (SIGSTOP) before writing the result');
              process.kill(process.pid, 'SIGSTOP');
            }
            const completed = await withRetries(
              () =>
                completeJob(db, {
                  jobId,
                  attempt,
                  iteration: message.iteration,
                  cost: message.cost,
                  costs: message.costs,
                  validationHistory: message.validationHistory,
                  model: {
                    inputSize: network.inputSize,
                    layers: Layer.array().parse(network.layers),
                    task: dataset.task,
                    classes: dataset.classes === null ? null : ClassLabel.array().parse(dataset.classes),
                    parameters: message.network,
                    normalization: message.normalization satisfies Normalization,
                    metrics: { ...message.metrics },
                  },
                }),
              env.RESULT_SAVE_TIMEOUT_MS,
              log,
            ).catch((err: Error) => {
              log.warn(
                { err: err.message },
                'saving the result failed; the attempt fails, and a retry resumes from the last checkpoint',
              );
              failure = err;
              return undefined;
            });
            if (completed) {
              result = { outcome: 'succeeded', modelId: completed.modelId };
              events.status(jobId, { status: 'succeeded', modelId: completed.modelId });
            } else if (completed === null) {
              // The compare-and-set refused: the job was finished, cancelled or claimed again by
              // another delivery while this one trained. The result is dropped; nothing changed.
              log.warn(
                "late completion ignored: the job is no longer this attempt's (compare-and-set refused)",
              );
              result = {
                outcome: 'skipped',
                reason: 'the job was finished, cancelled or taken over elsewhere',
              };
            }
          });
          break;
        case 'released':
          break;
        case 'failed':
          stopRenewing();
          enqueueWrite(async () => {
            await failJob(db, events, { jobId, attempt, code: message.code, message: message.message });
            failure = new UnrecoverableError(message.message);
          });
          break;
      }
    };

    /**
     * The live events of a progress report: its new cost points, then speed and ETA. The speed is
     * a moving average of the speeds between reports (weight SPEED_SMOOTHING for the newest), so
     * it follows a machine whose load changes without jumping with each interval; the interval
     * up to the first report holds the thread's start, so it does not count.
     */
    let previousReport: { at: number; iteration: number } | null = null;
    let rate: number | null = null;
    const jobStartedAt = row.startedAt?.getTime() ?? Date.now();
    const announceProgress = (message: Extract<ThreadMessage, { type: 'progress' }>) => {
      events.costs(
        jobId,
        Array.from(message.newCosts, (cost, i) => ({
          index: costs.length + i,
          iteration: message.newCostIterations[i] ?? message.iteration,
          cost,
          validationCost: finiteOrNull(message.newValidationCosts[i]),
        })),
      );
      const now = Date.now();
      const seconds = previousReport ? (now - previousReport.at) / 1000 : 0;
      const done = previousReport ? message.iteration - previousReport.iteration : 0;
      if (seconds > 0 && done > 0) {
        const latest = done / seconds;
        rate = rate === null ? latest : SPEED_SMOOTHING * latest + (1 - SPEED_SMOOTHING) * rate;
      }
      if (previousReport === null || (seconds > 0 && done > 0)) {
        previousReport = { at: now, iteration: message.iteration };
      }
      const left = Math.max(0, row.iterations - message.iteration);
      events.progress(jobId, {
        iteration: message.iteration,
        iterations: row.iterations,
        cost: message.cost,
        iterationsPerSecond: rate,
        elapsedMs: Math.max(0, now - jobStartedAt),
        etaMs: rate === null ? null : Math.round((1000 * left) / rate),
      });
    };

    const entries = await threadEntries();
    const started = Date.now();
    const eventLoop = monitorEventLoop();
    const handle = startTrainingThread(entries, request, onMessage, env.THREAD_MAX_OLD_GENERATION_MB);
    thread = handle;
    if (lost !== null) await handle.stop(lost);
    else if (releaseRequested || lockLost) handle.release();

    const outcome = await handle.done;
    await writes;
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
    if (outcome.kind === 'crashed') {
      // Deterministic: the same data and code would crash again, so no retry (UnrecoverableError).
      const outOfMemory = outcome.code === 'ERR_WORKER_OUT_OF_MEMORY';
      const message = outOfMemory
        ? `training ran out of memory (ERR_WORKER_OUT_OF_MEMORY): the training thread's heap outgrew THREAD_MAX_OLD_GENERATION_MB = ${env.THREAD_MAX_OLD_GENERATION_MB}`
        : `training crashed: ${outcome.message}`;
      await failJob(db, events, {
        jobId,
        attempt,
        code: outOfMemory ? 'BP_ERR_OUT_OF_MEMORY' : 'BP_ERR_TRAINING_CRASHED',
        message,
      });
      throw new UnrecoverableError(message);
    }
    // Assigned in the message callbacks, which TypeScript's narrowing does not see.
    const settled = { failure: failure as Error | null, result: result as ProcessResult | null };
    if (settled.failure) throw settled.failure;
    if (settled.result) {
      log.info(settled.result, 'job finished');
      return settled.result;
    }
    if (outcome.kind === 'released' && lockLost) {
      // No longer ours in the queue: whatever this delivery reports is refused. The stalled
      // checker re-queues the job, and the checkpoint (if it still landed) keeps the work.
      throw new Error('the queue lock was lost; the job is left to the stalled checker');
    }
    if (outcome.kind === 'released' && token) {
      // Back to the queue without spending an attempt; the next worker resumes from the checkpoint.
      return handBack(token, 'released: checkpointed and back in the queue');
    }
    return { outcome: 'cancelled', reason: lost ?? 'stopped' };
  }
}

/** The weight of the newest interval in the speed a progress event reports (an exponential average). */
const SPEED_SMOOTHING = 0.3;

/** A held-out cost as an event carries it: NaN (none recorded) and a missing entry are null. */
function finiteOrNull(value: number | undefined): number | null {
  return value === undefined || Number.isNaN(value) ? null : value;
}

/** A checkpoint's JSON part: the normalisation the run started with. */
const StoredCheckpointState = z.object({ normalization: Normalization });

function parseCheckpointState(state: unknown): CheckpointState {
  return StoredCheckpointState.parse(state);
}

/**
 * Retries a write so that a result computed while Postgres is away is not thrown away: while
 * Postgres is unreachable, for up to `budgetMs` (an outage of a minute or two), backing off to one
 * try every 5 s; any other error a few times only (RELIABILITY.md scenario 11).
 */
async function withRetries<T>(write: () => Promise<T>, budgetMs: number, log: Logger): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (let i = 1; ; i++) {
    try {
      return await write();
    } catch (err) {
      const unavailable = isDatabaseUnavailable(err);
      if (unavailable ? Date.now() >= deadline : i >= 5) throw err;
      const delayMs = Math.min(500 * 2 ** (i - 1), 5000);
      log.warn({ err: (err as Error).message, try: i, delayMs }, 'saving the result failed; retrying');
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}
