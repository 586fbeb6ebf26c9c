/**
 * One delivery of a claimed job, as its parts share it: the requests to stop that may arrive at
 * any moment (a cancel, a release for a shutdown, a lost queue lock, a lease or progress write
 * that finds the job no longer ours), the training thread once it runs, and the lease.
 */
import { type Db, releaseJob, renewLease } from '@backprop/db';
import { type Job, WaitingError } from 'bullmq';
import type { Logger } from 'pino';
import type { WorkerEnv } from './env.ts';
import type { JobEventPublisher } from './events.ts';
import type { ThreadHandle } from './thread-runner.ts';

/** What cancellation and shutdown can ask of a running training (the worker keeps them by job id). */
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

export interface DeliveryContext {
  db: Db;
  env: WorkerEnv;
  events: JobEventPublisher;
  log: Logger;
  job: Job;
  jobId: string;
  attempt: number;
}

/** Why this delivery stops when Postgres says the job is no longer this attempt's. */
export const TAKEN_OVER = 'the job was cancelled or taken over by another delivery';

export class Delivery implements ActiveTraining {
  /** Set once the job is no longer this delivery's to train (cancelled, taken over): why. */
  lost: string | null = null;
  /** A shutdown asked for the job back (checkpoint, then the queue). */
  releaseRequested = false;
  /** BullMQ could not renew the queue lock (see ActiveTraining.lockLost). */
  queueLockLost = false;
  private thread: ThreadHandle | null = null;
  private leaseRenewal: NodeJS.Timeout | undefined;
  private renewing = false;
  private renewalStopped = false;

  constructor(readonly ctx: DeliveryContext) {}

  async cancel(): Promise<void> {
    this.lost ??= 'cancelled';
    await this.thread?.stop('cancelled');
  }

  async release(): Promise<void> {
    this.releaseRequested = true;
    this.thread?.release();
  }

  lockLost(): void {
    if (this.queueLockLost) return;
    this.queueLockLost = true;
    this.ctx.log.warn(
      'the queue lock of this job was lost (another worker may hold it): checkpointing and stopping',
    );
    this.thread?.release();
  }

  /** Postgres refused a write of this attempt: the job is someone else's now, so the thread stops. */
  async loseJob(context: Record<string, unknown> = {}): Promise<void> {
    if (this.lost !== null) return;
    this.lost = TAKEN_OVER;
    this.ctx.log.warn(context, `${TAKEN_OVER}: stopping the training`);
    await this.thread?.stop(TAKEN_OVER);
  }

  /** The thread from now on; a stop or release asked before it started reaches it at once. */
  async attach(thread: ThreadHandle): Promise<void> {
    this.thread = thread;
    if (this.lost !== null) await thread.stop(this.lost);
    else if (this.releaseRequested || this.queueLockLost) thread.release();
  }

  /**
   * The lease says "a live worker holds this job": renewed on the clock, not only with progress,
   * so loading a large dataset or a slow thread does not make a live job look abandoned.
   */
  renewLeaseOnTheClock(): void {
    const { db, env, log, jobId, attempt } = this.ctx;
    this.leaseRenewal = setInterval(
      () => {
        if (this.renewing) return;
        this.renewing = true;
        renewLease(db, { jobId, attempt, leaseMs: env.LEASE_MS })
          .then(async (ours) => {
            if (!ours && !this.renewalStopped) await this.loseJob();
          })
          .catch((err: unknown) => log.warn({ err }, 'renewing the lease failed; training goes on'))
          .finally(() => {
            this.renewing = false;
          });
      },
      Math.max(1, Math.floor(env.LEASE_MS / 3)),
    );
  }

  /** Once the outcome is being written: a renewal refused after the job finished means nothing. */
  stopRenewing(): void {
    this.renewalStopped = true;
    clearInterval(this.leaseRenewal);
  }

  /**
   * Back to the queue without spending an attempt: the row first says queued again (progress
   * kept; fenced, so only if still ours), then the queue entry goes back to waiting.
   */
  async handBack(lockToken: string, message: string): Promise<never> {
    const { db, events, log, job, jobId, attempt } = this.ctx;
    this.stopRenewing();
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
}
