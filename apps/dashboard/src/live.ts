/**
 * A job as it changes. The state always comes from the API's resources (`GET /v1/jobs/:id` and
 * `/costs`); what differs is what tells the page to read them again:
 * - the job's event stream (`GET /v1/jobs/:id/events`, Server-Sent Events): EventSource cannot
 *   send an Authorization header, so the page first asks for a short-lived token scoped to this
 *   job's stream (`POST /v1/jobs/:id/events/token`) and passes that, never the API key, in the
 *   URL. A `cost` or `status` event triggers a read (one at a time); a `progress` event updates
 *   the progress, speed and ETA in place;
 * - where the API has no stream, or it fails, a poll every POLL_MS.
 * Reading the resources rather than folding cost events into a copy keeps the page right whatever
 * an event carries, and a reconnect cannot lose a point.
 */
import { EventsToken, Job, JobCosts, JobProgressEvent, TERMINAL_STATUSES } from '@backprop/contracts';
import { z } from 'zod';
import { ApiFailure, call } from './api.ts';

const POLL_MS = 1000;
const READ_GAP_MS = 250;

/** The costs, with the validation costs where the API records them at the same points. */
export const Costs = JobCosts.extend({ validationCosts: z.array(z.number().nullable()).optional() });
export type Costs = z.infer<typeof Costs>;

export interface LiveJob {
  job: Job;
  costs: Costs;
  /** Updates per second, measured while the page watched (null until two readings differ). */
  rate: number | null;
  /** Milliseconds to go at that rate (null when unknown or finished). */
  etaMs: number | null;
  transport: 'events' | 'polling';
}

export function isTerminal(job: Job): boolean {
  return TERMINAL_STATUSES.includes(job.status);
}

/** Watches job `id`, calling `onChange` with every new state; returns the function that stops. */
export function watchJob(id: string, onChange: (live: LiveJob) => void, onError: (err: unknown) => void) {
  let stopped = false;
  let source: EventSource | null = null;
  let pollTimer: ReturnType<typeof setTimeout> | undefined;
  let transport: LiveJob['transport'] = 'polling';
  let first: { at: number; iteration: number } | null = null;
  let reading: Promise<void> | null = null;
  let again = false;
  let last: LiveJob | null = null;
  /** The speed and ETA the API measured (progress events), preferred to the page's own. */
  let measured: { rate: number | null; etaMs: number | null } | null = null;

  function show(live: LiveJob): void {
    last = live;
    onChange(live);
  }

  async function read(): Promise<void> {
    const [job, costs] = await Promise.all([
      call('GET', `/v1/jobs/${id}`, Job),
      call('GET', `/v1/jobs/${id}/costs`, Costs),
    ]);
    if (stopped) return;
    const now = performance.now();
    let rate: number | null = null;
    if (job.status === 'running') {
      if (first === null || job.progress.iteration < first.iteration) {
        first = { at: now, iteration: job.progress.iteration };
      } else if (job.progress.iteration > first.iteration) {
        rate = ((job.progress.iteration - first.iteration) * 1000) / (now - first.at);
      }
    }
    const left = job.progress.iterations - job.progress.iteration;
    const own = { rate, etaMs: rate && !isTerminal(job) ? (left / rate) * 1000 : null };
    const speed = measured && !isTerminal(job) ? measured : own;
    show({ job, costs, ...speed, transport });
    if (isTerminal(job)) stop();
  }

  /** One read at a time; a request for another during a read makes one more after it. */
  function refresh(): void {
    if (stopped) return;
    if (reading) {
      again = true;
      return;
    }
    reading = read()
      .catch(onError)
      .finally(() => {
        reading = null;
        if (again) {
          again = false;
          setTimeout(refresh, READ_GAP_MS);
        }
      });
  }

  function poll(): void {
    transport = 'polling';
    const tick = () => {
      refresh();
      if (!stopped) pollTimer = setTimeout(tick, POLL_MS);
    };
    tick();
  }

  async function listen(): Promise<void> {
    let token: string;
    try {
      ({ token } = await call('POST', `/v1/jobs/${id}/events/token`, EventsToken));
    } catch (err) {
      if (!(err instanceof ApiFailure && err.routeMissing)) onError(err);
      poll();
      return;
    }
    if (stopped) return;
    transport = 'events';
    source = new EventSource(`/v1/jobs/${id}/events?token=${encodeURIComponent(token)}`);
    source.addEventListener('cost', refresh);
    source.addEventListener('status', refresh);
    source.addEventListener('progress', (event) => {
      const progress = parseEvent(JobProgressEvent, event);
      if (!progress) return refresh();
      measured = { rate: progress.iterationsPerSecond, etaMs: progress.etaMs };
      if (!last || isTerminal(last.job)) return;
      const { iteration, iterations, cost } = progress;
      show({ ...last, job: { ...last.job, progress: { iteration, iterations }, cost }, ...measured });
    });
    source.addEventListener('error', () => {
      // EventSource reconnects by itself (with Last-Event-ID) unless the stream is closed for
      // good: a terminal job's stream ends, and an expired token cannot reconnect. Either way,
      // polling takes over until the job is finished.
      if (source?.readyState === EventSource.CLOSED && !stopped) {
        source = null;
        poll();
      }
    });
    refresh();
  }

  function stop(): void {
    stopped = true;
    source?.close();
    clearTimeout(pollTimer);
  }

  void listen();
  return stop;
}

function parseEvent<S extends z.ZodType>(schema: S, event: Event): z.infer<S> | null {
  if (!(event instanceof MessageEvent) || typeof event.data !== 'string') return null;
  try {
    const parsed = schema.safeParse(JSON.parse(event.data));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
