/**
 * What a training thread reports, written to Postgres one write at a time, in order: progress
 * (the costs appended), checkpoints, and the result or the failure. A write that finds the job no
 * longer this attempt's stops the thread (through the delivery).
 */
import { ClassLabel, Layer, type Normalization } from '@backprop/contracts';
import {
  completeJob,
  type DatasetWithValues,
  isDatabaseUnavailable,
  type Network,
  recordProgress,
  saveCheckpoint,
} from '@backprop/db';
import { UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import type { Delivery } from './delivery.ts';
import { errorText } from './error-text.ts';
import { failJob } from './fail-job.ts';
import { takeFault } from './faults.ts';
import { ProgressAnnouncer } from './progress-announcer.ts';
import type { ResumeState, ThreadMessage } from './protocol.ts';

export type ProcessResult =
  | { outcome: 'succeeded'; modelId: string }
  | { outcome: 'skipped' | 'cancelled'; reason: string };

type Message<T extends ThreadMessage['type']> = Extract<ThreadMessage, { type: T }>;

export class TrainingWrites {
  /** How this delivery ended, once the thread's last message is written: its result... */
  result: ProcessResult | null = null;
  /** ...or the error the attempt fails with. */
  failure: Error | null = null;
  private writes: Promise<unknown> = Promise.resolve();
  /** The cost history the thread has reported (it only grows)... */
  private readonly costs: number[];
  /** ...and how much of it the row holds: a progress write appends the rest, so a write that
   * failed is covered by the next one. */
  private storedCosts: number;
  /** Two values per cost with a validation split (empty without): stored alongside costs. */
  private readonly validationHistory: number[];
  private readonly announcer: ProgressAnnouncer;

  constructor(
    private readonly delivery: Delivery,
    private readonly trained: { dataset: DatasetWithValues; network: Network },
    resume: ResumeState | null,
    job: { iterations: number; startedAt: Date | null },
  ) {
    this.costs = resume ? Array.from(resume.costs) : [];
    this.storedCosts = this.costs.length;
    this.validationHistory = resume ? Array.from(resume.validationHistory) : [];
    const { events, jobId } = delivery.ctx;
    this.announcer = new ProgressAnnouncer(
      events,
      jobId,
      job.iterations,
      job.startedAt?.getTime() ?? Date.now(),
    );
  }

  /** The thread's message handler. */
  readonly onMessage = (message: ThreadMessage): void => {
    switch (message.type) {
      case 'progress':
        this.announcer.announce(message, this.costs.length);
        for (const cost of message.newCosts) this.costs.push(cost);
        for (const value of message.newValidationHistory) this.validationHistory.push(value);
        this.enqueue(() => this.writeProgress(message));
        break;
      case 'checkpoint':
        this.enqueue(() => this.writeCheckpoint(message));
        break;
      case 'done':
        this.delivery.stopRenewing();
        this.enqueue(() => this.writeResult(message));
        break;
      case 'released':
        break;
      case 'failed':
        this.delivery.stopRenewing();
        this.enqueue(() => this.writeFailure(message));
        break;
    }
  };

  /** Settles when every write enqueued so far has landed or failed. */
  async drained(): Promise<void> {
    await this.writes;
  }

  private enqueue(write: () => Promise<void>): void {
    this.writes = this.writes.then(write).catch((err: unknown) => {
      this.delivery.ctx.log.warn({ err }, 'a progress or checkpoint write failed; training goes on');
    });
  }

  private async writeProgress(message: Message<'progress'>): Promise<void> {
    const { db, env, job, jobId, attempt } = this.delivery.ctx;
    const upTo = this.costs.length;
    const validationUpTo = this.validationHistory.length;
    const ours = await recordProgress(db, {
      jobId,
      attempt,
      iteration: message.iteration,
      cost: message.cost,
      costsFrom: this.storedCosts,
      costs: Float64Array.from(this.costs.slice(this.storedCosts, upTo)),
      validationHistory: Float64Array.from(
        this.validationHistory.slice(this.storedCosts * 2, validationUpTo),
      ),
      leaseMs: env.LEASE_MS,
    });
    if (ours) this.storedCosts = upTo;
    else await this.delivery.loseJob({ iteration: message.iteration });
    await job.updateProgress({ iteration: message.iteration }).catch(() => undefined);
  }

  private async writeCheckpoint(message: Message<'checkpoint'>): Promise<void> {
    const { db, log, jobId, attempt } = this.delivery.ctx;
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
  }

  private async writeResult(message: Message<'done'>): Promise<void> {
    const { db, env, events, log, jobId, attempt } = this.delivery.ctx;
    const { dataset, network } = this.trained;
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
    ).catch((err: unknown) => {
      log.warn(
        { err: errorText(err) },
        'saving the result failed; the attempt fails, and a retry resumes from the last checkpoint',
      );
      this.failure = err instanceof Error ? err : new Error(String(err));
      return undefined;
    });
    if (completed) {
      this.result = { outcome: 'succeeded', modelId: completed.modelId };
      events.status(jobId, { status: 'succeeded', modelId: completed.modelId });
    } else if (completed === null) {
      // The compare-and-set refused: the job was finished, cancelled or claimed again by another
      // delivery while this one trained. The result is dropped; nothing changed.
      log.warn("late completion ignored: the job is no longer this attempt's (compare-and-set refused)");
      this.result = { outcome: 'skipped', reason: 'the job was finished, cancelled or taken over elsewhere' };
    }
  }

  private async writeFailure(message: Message<'failed'>): Promise<void> {
    const { db, events, jobId, attempt } = this.delivery.ctx;
    await failJob(db, events, { jobId, attempt, code: message.code, message: message.message });
    this.failure = new UnrecoverableError(message.message);
  }
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
      log.warn({ err: errorText(err), try: i, delayMs }, 'saving the result failed; retrying');
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}
