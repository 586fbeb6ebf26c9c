/**
 * One subscriber of a job's events (GET /v1/jobs/:id/events), on its own Redis connection: what it
 * missed first, then what comes, as Server-Sent Events, until the job's terminal status.
 *
 * Where it starts:
 * - with a Last-Event-ID the stream still covers (nothing after it was trimmed): right after it,
 *   so a reconnecting client gets exactly what it missed;
 * - without one, from the stream's first entry if the stream is complete (written since the job
 *   was created and never trimmed);
 * - otherwise (the stream expired, was trimmed past the client, or predates the job's events) from
 *   the job's row in Postgres: its status, its whole cost history and its progress, as events
 *   that carry the id of the stream's newest entry, and then on from there. Cost events carry
 *   their `index` in the history: within a connection none is sent twice.
 *
 * Postgres stays the system of record: if the stream stays silent while the row is terminal for
 * two heartbeats (the worker could not write the final events), the row's ending is sent.
 */
import {
  isTerminalEvent,
  JobEvent,
  type JobStatus,
  jobEventKeys,
  TERMINAL_STATUSES,
} from '@backprop/contracts';
import { bytesToFloat64, type Db, getJob } from '@backprop/db';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { toJob } from '../jobs/present.ts';
import { StoredCostEvery } from '../stored.ts';

/** Stream entries are `<ms>-<seq>`; ids compare numerically, part by part. */
export const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1;
}

/** Where the events go: an SSE writer that resolves when the client took the bytes. */
export interface EventSink {
  event(id: string, event: JobEvent): Promise<void>;
  comment(text: string): Promise<void>;
}

export interface SubscriptionInput {
  db: Db;
  /** A connection of its own: XREAD BLOCK holds it. */
  redis: Redis;
  prefix: string;
  tenantId: string;
  jobId: string;
  lastEventId: string | null;
  heartbeatMs: number;
  sink: EventSink;
  log: FastifyBaseLogger;
  /** Called on every heartbeat (the tenant's stream slot is renewed there). */
  onHeartbeat(): Promise<void>;
  /** True once the client left or the API is closing. */
  closed(): boolean;
}

function parseEntry(fields: string[]): JobEvent | null {
  const at = fields.indexOf('event');
  const text = at >= 0 ? fields[at + 1] : undefined;
  if (text === undefined) return null;
  const parsed = JobEvent.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : null;
}

/** Runs until the job's terminal status was sent, the client left, or Redis failed (throws). */
export async function runSubscription(input: SubscriptionInput): Promise<void> {
  const { redis, sink, jobId } = input;
  const keys = jobEventKeys(input.prefix, jobId);
  /** The next cost index this client lacks; -1 while unknown (resumed before any cost). */
  let costsSent = -1;
  let lastStatus: JobStatus | null = null;
  let ended = false;

  const send = async (id: string, event: JobEvent) => {
    if (event.type === 'cost') {
      if (costsSent >= 0 && event.index < costsSent) return;
      costsSent = event.index + 1;
    }
    if (event.type === 'status') {
      if (event.status === lastStatus) return;
      lastStatus = event.status;
    }
    await sink.event(id, event);
    if (isTerminalEvent(event)) ended = true;
  };

  /** The row as events, with `id`; ends the stream if the job is finished (or gone). */
  const sendRow = async (id: string) => {
    const row = await getJob(input.db, input.tenantId, jobId);
    if (!row) {
      ended = true;
      return;
    }
    const job = toJob(row);
    const costs = bytesToFloat64(row.costs);
    const { costEvery } = StoredCostEvery.parse(row.training);
    const terminal = TERMINAL_STATUSES.includes(job.status);
    const status: JobEvent = {
      type: 'status',
      jobId,
      status: job.status,
      error: job.error,
      modelId: job.modelId,
      at: (row.finishedAt ?? row.updatedAt).toISOString(),
    };
    if (!terminal) await send(id, status);
    for (let index = Math.max(0, costsSent); index < costs.length; index++) {
      const last = index === costs.length - 1;
      const cost = costs[index]!;
      await send(id, {
        type: 'cost',
        jobId,
        index,
        // Recorded every costEvery updates, and the final cost where training ended.
        iteration: terminal && last ? row.iteration : Math.min(index * costEvery, row.iteration),
        cost: Number.isFinite(cost) ? cost : null,
        validationCost: null,
      });
    }
    if (terminal) {
      await send(id, status);
      return;
    }
    if (row.iteration > 0) {
      await sink.event(id, {
        type: 'progress',
        jobId,
        iteration: row.iteration,
        iterations: row.iterations,
        cost: job.cost,
        iterationsPerSecond: null,
        elapsedMs: row.startedAt ? Math.max(0, Date.now() - row.startedAt.getTime()) : 0,
        etaMs: null,
        at: row.updatedAt.toISOString(),
      });
    }
  };

  // ---- where to start ----
  const [firstEntries, [complete, finished], info] = await Promise.all([
    redis.xrange(keys.stream, '-', '+', 'COUNT', 1),
    redis.hmget(keys.meta, 'complete', 'finished'),
    redis.xrevrange(keys.stream, '+', '-', 'COUNT', 1),
  ]);
  const first = firstEntries[0]?.[0];
  const newest = info[0]?.[0] ?? '0-0';
  const resumeFrom = input.lastEventId && input.lastEventId !== '0-0' ? input.lastEventId : null;
  let cursor: string;
  if (resumeFrom && first !== undefined && (complete === '1' || compareIds(first, resumeFrom) <= 0)) {
    // Covered: everything after it is still there (trimming only takes the oldest entries).
    cursor = resumeFrom;
    // At or past the terminal status already: nothing more will come.
    if (finished === '1' && compareIds(cursor, newest) >= 0) return;
    costsSent = await costsUpTo(redis, keys.stream, resumeFrom, complete === '1');
  } else if (!resumeFrom && first !== undefined && complete === '1') {
    cursor = '0-0';
    costsSent = 0;
  } else {
    cursor = newest;
    await sendRow(newest);
  }

  // ---- live ----
  let silentTerminal = 0;
  while (!ended && !input.closed()) {
    const reply = await redis.xread('COUNT', 500, 'BLOCK', input.heartbeatMs, 'STREAMS', keys.stream, cursor);
    if (input.closed()) return;
    const entries = reply?.[0]?.[1] ?? [];
    if (entries.length === 0) {
      await sink.comment('heartbeat');
      await input.onHeartbeat();
      // The stream said nothing for a heartbeat: is the job over without its events?
      const row = await input.db.trainingJob.findFirst({
        where: { id: jobId, tenantId: input.tenantId },
        select: { status: true },
      });
      if (!row) return;
      silentTerminal = TERMINAL_STATUSES.includes(row.status) ? silentTerminal + 1 : 0;
      if (silentTerminal >= 2) {
        input.log.warn({ jobId }, 'job finished without its final events; sending its row');
        await sendRow(cursor);
      }
      continue;
    }
    for (const [id, fields] of entries) {
      const previous = cursor;
      cursor = id;
      const event = parseEntry(fields);
      if (!event) continue;
      if (event.type === 'cost' && costsSent >= 0 && event.index > costsSent) {
        // Points the stream lacks (an append was dropped while Redis was away): from the row.
        await sendRow(previous);
        if (ended) return;
      }
      await send(id, event);
      if (ended) return;
    }
  }
}

/**
 * How many cost points a client that saw everything up to `id` holds: the index after the last
 * cost event at or before it; 0 if a complete stream has none before it; -1 if unknown.
 */
async function costsUpTo(redis: Redis, stream: string, id: string, complete: boolean): Promise<number> {
  const page = 200;
  const before = await redis.xrevrange(stream, id, '-', 'COUNT', page);
  for (const [, fields] of before) {
    const event = parseEntry(fields);
    if (event?.type === 'cost') return event.index + 1;
  }
  return complete && before.length < page ? 0 : -1;
}
