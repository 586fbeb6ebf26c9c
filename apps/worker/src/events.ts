/**
 * The worker's side of a job's live events (contracts' job-events.ts): every status transition
 * the worker makes and every recorded cost and progress report go through here, to the job's
 * Redis Stream. Events are a view, never a dependency: an append that fails (Redis down or slow)
 * is retried a while in the background and then dropped, never awaited by training or by a
 * Postgres write. Subscribers that miss one fall back to the job's row (the API reads it).
 */
import {
  appendJobEvents,
  type CostPoint,
  costEvent,
  type JobEvent,
  type JobEventRetention,
  type ProgressReport,
  progressEvent,
  type ScriptRunner,
  type StatusChange,
  statusEvent,
} from '@backprop/contracts';
import type { Logger } from 'pino';
import { errorText } from './error-text.ts';

/** Backoff between retries of a failed append, and how many before the events are dropped. */
const RETRY_DELAYS_MS = [250, 500, 1000, 2000, 5000, 5000, 5000, 5000, 5000, 5000];
/** Events sent per script call: a costEvery of 1 can report thousands of points at once. */
const BATCH = 500;

/**
 * A job's events in order. Appends run one at a time; a progress report replaces one still
 * waiting (only the latest matters); what waits is bounded by the stream's own length.
 */
class JobEventQueue {
  private pending: JobEvent[] = [];
  private running = false;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly publisher: JobEventPublisher,
    private readonly jobId: string,
  ) {}

  push(event: JobEvent): void {
    if (event.type === 'progress') this.pending = this.pending.filter((e) => e.type !== 'progress');
    this.pending.push(event);
    const overflow = this.pending.length - this.publisher.retention.maxLen;
    if (overflow > 0) this.pending.splice(0, overflow);
    if (this.timer === undefined) void this.flush();
  }

  private async flush(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, BATCH);
        await this.publisher.append(this.jobId, batch).catch((err: unknown) => {
          // Back in front, in order; a progress report superseded meanwhile stays out.
          const superseded = this.pending.some((e) => e.type === 'progress');
          this.pending.unshift(...batch.filter((e) => !(superseded && e.type === 'progress')));
          throw err;
        });
        this.failures = 0;
      }
    } catch (err) {
      const delay = RETRY_DELAYS_MS[this.failures++];
      if (delay === undefined) {
        this.publisher.log.warn(
          { jobId: this.jobId, dropped: this.pending.length, err: errorText(err) },
          'job events could not be written; dropped (subscribers read the job from Postgres)',
        );
        this.pending = [];
        this.failures = 0;
      } else {
        if (this.failures === 1)
          this.publisher.log.warn(
            { jobId: this.jobId, err: errorText(err) },
            'writing job events failed; retrying',
          );
        this.timer = setTimeout(() => {
          this.timer = undefined;
          void this.flush();
        }, delay);
        this.timer.unref();
      }
    } finally {
      this.running = false;
    }
  }
}

export class JobEventPublisher {
  private readonly queues = new Map<string, JobEventQueue>();

  constructor(
    private readonly redis: ScriptRunner,
    private readonly prefix: string,
    readonly retention: JobEventRetention,
    readonly log: Logger,
  ) {}

  /** @internal the one Redis write (JobEventQueue calls it). */
  append(jobId: string, events: JobEvent[]): Promise<string[]> {
    return appendJobEvents(this.redis, this.prefix, jobId, events, this.retention);
  }

  private queue(jobId: string): JobEventQueue {
    let queue = this.queues.get(jobId);
    if (!queue) {
      queue = new JobEventQueue(this, jobId);
      this.queues.set(jobId, queue);
    }
    return queue;
  }

  /** A status transition the worker made (claim, release, success, failure). */
  status(jobId: string, change: StatusChange): void {
    this.queue(jobId).push(statusEvent(jobId, change));
    // A finished job's queue goes once it is empty (its retries keep a reference meanwhile).
    if (change.status !== 'queued' && change.status !== 'running') this.queues.delete(jobId);
  }

  costs(jobId: string, points: readonly CostPoint[]): void {
    const queue = this.queue(jobId);
    for (const point of points) queue.push(costEvent(jobId, point));
  }

  progress(jobId: string, report: ProgressReport): void {
    this.queue(jobId).push(progressEvent(jobId, report));
  }

  /**
   * The process is done with this job for now (finished, handed back, cancelled or taken over):
   * what its queue holds still drains, and the next event starts a new queue.
   */
  forget(jobId: string): void {
    this.queues.delete(jobId);
  }
}
