/**
 * The API's own transitions as live events: a job created (queued: the first entry of a complete
 * stream) and a job cancelled. The worker announces the rest (apps/worker/src/events.ts). An
 * append that fails is logged and the request goes on: events are a view of the row, and
 * subscribers fall back to the row.
 */
import { appendJobEvents, type JobEventRetention, type JobStatus, statusEvent } from '@backprop/contracts';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import type { ApiEnv } from '../env.ts';

export function eventRetention(env: ApiEnv): JobEventRetention {
  return {
    maxLen: env.JOB_EVENTS_MAX_LEN,
    idleTtlMs: env.JOB_EVENTS_IDLE_TTL_MS,
    finishedTtlMs: env.JOB_EVENTS_FINISHED_TTL_MS,
  };
}

export async function publishStatus(
  deps: { env: ApiEnv; redis: Redis },
  log: FastifyBaseLogger,
  jobId: string,
  status: Extract<JobStatus, 'queued' | 'cancelled'>,
  options: { created?: boolean } = {},
): Promise<void> {
  await appendJobEvents(
    deps.redis,
    deps.env.QUEUE_PREFIX,
    jobId,
    [statusEvent(jobId, { status })],
    eventRetention(deps.env),
    options,
  ).catch((err: unknown) =>
    log.warn({ err, jobId, status }, 'could not write the job event; subscribers read the row'),
  );
}
