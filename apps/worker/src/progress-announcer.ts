/**
 * The live events of a progress report: its new cost points, then speed and ETA. The speed is a
 * moving average of the speeds between reports (weight SPEED_SMOOTHING for the newest), so it
 * follows a machine whose load changes without jumping with each interval; the interval up to the
 * first report holds the thread's start, so it does not count.
 */
import type { JobEventPublisher } from './events.ts';
import type { ThreadMessage } from './protocol.ts';

/** The weight of the newest interval in the speed a progress event reports (an exponential average). */
const SPEED_SMOOTHING = 0.3;

export class ProgressAnnouncer {
  private previousReport: { at: number; iteration: number } | null = null;
  private rate: number | null = null;

  constructor(
    private readonly events: JobEventPublisher,
    private readonly jobId: string,
    private readonly iterations: number,
    private readonly startedAt: number,
  ) {}

  /** `costsBefore`: how many cost points the job had before this report's. */
  announce(message: Extract<ThreadMessage, { type: 'progress' }>, costsBefore: number): void {
    this.events.costs(
      this.jobId,
      Array.from(message.newCosts, (cost, i) => ({
        index: costsBefore + i,
        iteration: message.newCostIterations[i] ?? message.iteration,
        cost,
        validationCost: finiteOrNull(message.newValidationCosts[i]),
      })),
    );
    const now = Date.now();
    const previous = this.previousReport;
    const seconds = previous ? (now - previous.at) / 1000 : 0;
    const done = previous ? message.iteration - previous.iteration : 0;
    if (seconds > 0 && done > 0) {
      const latest = done / seconds;
      this.rate = this.rate === null ? latest : SPEED_SMOOTHING * latest + (1 - SPEED_SMOOTHING) * this.rate;
    }
    if (previous === null || (seconds > 0 && done > 0)) {
      this.previousReport = { at: now, iteration: message.iteration };
    }
    const left = Math.max(0, this.iterations - message.iteration);
    this.events.progress(this.jobId, {
      iteration: message.iteration,
      iterations: this.iterations,
      cost: message.cost,
      iterationsPerSecond: this.rate,
      elapsedMs: Math.max(0, now - this.startedAt),
      etaMs: this.rate === null ? null : Math.round((1000 * left) / this.rate),
    });
  }
}

/** A held-out cost as an event carries it: NaN (none recorded) and a missing entry are null. */
function finiteOrNull(value: number | undefined): number | null {
  return value === undefined || Number.isNaN(value) ? null : value;
}
