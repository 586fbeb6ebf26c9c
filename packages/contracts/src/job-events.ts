/**
 * A job's live events (GET /v1/jobs/:id/events): what they say, and how they travel. Whoever
 * changes a job (the worker, or the API for the transitions it makes itself) appends them to a
 * Redis Stream per job; every API process reads that stream, so a subscriber on any process sees
 * the same events with the same ids (the stream entry id is the Server-Sent Events `id`).
 *
 * The stream holds `status` and `cost` events, each cost point once (by its index in the cost
 * history, so a resumed attempt that records a point again adds nothing), and only the latest
 * `progress` event (each new one deletes the one before: progress is superseded, costs are not).
 * It is bounded (maxLen entries), expires once idle, and expires soon after a terminal status,
 * after which nothing more is appended. Postgres stays the system of record: a subscriber the
 * stream cannot serve (expired, trimmed past its position) gets the job's row as events.
 */
import { z } from 'zod';
import { Id, Timestamp } from './common.ts';
import { JobError, JobStatus, TERMINAL_STATUSES } from './jobs.ts';

const Count = z.number().int().min(0);

export const JobStatusEvent = z.object({
  type: z.literal('status'),
  jobId: Id,
  status: JobStatus,
  error: JobError.nullable().describe('Why the job failed (status failed only)'),
  modelId: Id.nullable().describe('The model the job produced (status succeeded only)'),
  at: Timestamp,
});

export const JobCostEvent = z.object({
  type: z.literal('cost'),
  jobId: Id,
  index: Count.describe('Position in the cost history (GET /v1/jobs/:id/costs): 0 is J_0'),
  iteration: Count.describe('The updates made when this cost was recorded'),
  cost: z.number().nullable().describe('J at that iteration; null if it was not finite'),
  validationCost: z
    .number()
    .nullable()
    .describe('The cost on the held-out samples at that iteration (with a validationSplit), else null'),
});

export const JobProgressEvent = z.object({
  type: z.literal('progress'),
  jobId: Id,
  iteration: Count,
  iterations: Count.describe('The updates planned'),
  cost: z.number().nullable().describe('The latest recorded cost'),
  iterationsPerSecond: z
    .number()
    .nullable()
    .describe('Updates per second, a moving average over recent progress reports (null until measured)'),
  elapsedMs: Count.describe('Since the job first started (startedAt)'),
  etaMs: Count.nullable().describe('Estimated time to the last update at the current speed'),
  at: Timestamp,
});

export const JobEvent = z.discriminatedUnion('type', [JobStatusEvent, JobCostEvent, JobProgressEvent]);
export type JobEvent = z.infer<typeof JobEvent>;
export type JobStatusEvent = z.infer<typeof JobStatusEvent>;
export type JobCostEvent = z.infer<typeof JobCostEvent>;
export type JobProgressEvent = z.infer<typeof JobProgressEvent>;

/** POST /v1/jobs/:id/events/token: a short-lived credential for one job's event stream. */
export const EventsToken = z.object({
  token: z.string().describe("Opens this job's event stream as `?token=` (EventSource cannot send headers)"),
  expiresAt: Timestamp.describe('After this the token opens nothing; a stream opened with it stays open'),
  url: z.string().describe('The stream URL with the token, relative to the API'),
});

/** GET /v1/jobs/:id/events: where to resume, and the token when there is no Authorization header. */
export const JobEventsQuery = z.strictObject({
  token: z.string().max(200).optional().describe('A token from POST /v1/jobs/{id}/events/token'),
  lastEventId: z
    .string()
    .regex(/^\d{1,20}-\d{1,20}$/, 'must be an event id (<ms>-<seq>)')
    .optional()
    .describe('Resume after this event (as the Last-Event-ID header does; for clients that cannot set it)'),
});

export const JobEventsHeaders = z.object({
  'last-event-id': z
    .string()
    .regex(/^\d{1,20}-\d{1,20}$/, 'must be an event id (<ms>-<seq>)')
    .optional(),
});

/** A status transition as whoever makes it announces it (the worker, or the API for its own). */
export interface StatusChange {
  status: JobStatus;
  error?: JobStatusEvent['error'];
  modelId?: string | null;
}

/** One recorded cost: its place in the history, the iteration, and the held-out cost if any. */
export interface CostPoint {
  index: number;
  iteration: number;
  cost: number;
  validationCost: number | null;
}

/** A progress report: JobProgressEvent without its type, job and time. */
export type ProgressReport = Omit<JobProgressEvent, 'type' | 'jobId' | 'at'>;

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

export function statusEvent(jobId: string, change: StatusChange): JobStatusEvent {
  return {
    type: 'status',
    jobId,
    status: change.status,
    error: change.error ?? null,
    modelId: change.modelId ?? null,
    at: new Date().toISOString(),
  };
}

/** A cost that is not finite (a diverging run) travels as null: JSON has no NaN. */
export function costEvent(jobId: string, point: CostPoint): JobCostEvent {
  return {
    type: 'cost',
    jobId,
    index: point.index,
    iteration: point.iteration,
    cost: finiteOrNull(point.cost),
    validationCost: point.validationCost === null ? null : finiteOrNull(point.validationCost),
  };
}

export function progressEvent(jobId: string, report: ProgressReport): JobProgressEvent {
  return { type: 'progress', jobId, ...report, at: new Date().toISOString() };
}

export function isTerminalEvent(event: JobEvent): boolean {
  return event.type === 'status' && TERMINAL_STATUSES.includes(event.status);
}

/** The Redis keys of a job's events; the braces keep both in one Redis Cluster slot. */
export function jobEventKeys(prefix: string, jobId: string): { stream: string; meta: string } {
  const base = `${prefix}:job-events:{${jobId}}`;
  return { stream: base, meta: `${base}:meta` };
}

/** How a job's event stream is bounded in Redis. */
export interface JobEventRetention {
  /** Entries the stream keeps at most (the oldest go first). */
  maxLen: number;
  /** A stream nothing is appended to for this long expires. */
  idleTtlMs: number;
  /** A stream expires this long after its terminal status. */
  finishedTtlMs: number;
}

/**
 * The one write: appends events in order, atomically (a Lua script). Meta fields: `complete` (the
 * stream holds every event since the job was created: set by the creation event, cleared by a
 * trim), `nextCost` (cost points below it are in already), `progressId` (the entry of the latest
 * progress event), `finished` (a terminal status is in: append nothing more).
 */
const APPEND_SCRIPT = `
local stream, meta = KEYS[1], KEYS[2]
local maxLen, ttl, creation = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
if redis.call('HGET', meta, 'finished') == '1' then return {} end
if creation == '1' and redis.call('EXISTS', stream) == 0 then redis.call('HSET', meta, 'complete', '1') end
local ids = {}
for i = 4, #ARGV, 3 do
  local kind, data, costIndex = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local append = true
  if kind == 'cost' then
    local nextCost = tonumber(redis.call('HGET', meta, 'nextCost') or '0')
    if costIndex < nextCost then append = false else redis.call('HSET', meta, 'nextCost', costIndex + 1) end
  end
  if append then
    local id = redis.call('XADD', stream, '*', 'event', data)
    ids[#ids + 1] = id
    if kind == 'progress' then
      local previous = redis.call('HGET', meta, 'progressId')
      if previous then redis.call('XDEL', stream, previous) end
      redis.call('HSET', meta, 'progressId', id)
    elseif kind == 'terminal' then
      redis.call('HSET', meta, 'finished', '1')
      break
    end
  end
end
if redis.call('XLEN', stream) > maxLen then
  redis.call('XTRIM', stream, 'MAXLEN', maxLen)
  redis.call('HSET', meta, 'complete', '0')
end
redis.call('PEXPIRE', stream, ttl)
redis.call('PEXPIRE', meta, ttl)
return ids
`;

/** What the append needs of a Redis client (ioredis's `eval`); contracts import no client. */
export interface ScriptRunner {
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

/**
 * Appends `events` to the job's stream, in order, and returns the ids of the entries added (a cost
 * point already in, and anything after a terminal status, add none). `created`: this is the
 * job's first event, written as the row is created, so the stream is known to be complete.
 */
export async function appendJobEvents(
  redis: ScriptRunner,
  prefix: string,
  jobId: string,
  events: readonly JobEvent[],
  retention: JobEventRetention,
  options: { created?: boolean } = {},
): Promise<string[]> {
  if (events.length === 0) return [];
  const { stream, meta } = jobEventKeys(prefix, jobId);
  const terminal = events.some(isTerminalEvent);
  const args: (string | number)[] = [
    retention.maxLen,
    terminal ? retention.finishedTtlMs : retention.idleTtlMs,
    options.created ? '1' : '0',
  ];
  for (const event of events) {
    const kind = isTerminalEvent(event) ? 'terminal' : event.type;
    args.push(kind, JSON.stringify(event), event.type === 'cost' ? event.index : -1);
  }
  const ids = await redis.eval(APPEND_SCRIPT, 2, stream, meta, ...args);
  return z.array(z.string()).parse(ids);
}
