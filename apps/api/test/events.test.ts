/**
 * GET /v1/jobs/:id/events over real HTTP, real Redis and Postgres: the API in-process (two of them
 * on one queue prefix, as two API processes behind a balancer would be), the events appended through
 * the contract's one write (contracts' appendJobEvents, which the worker's publisher calls too), so
 * each case controls exactly what was emitted. apps/worker/test/process/events.long.test.ts streams
 * a real worker's job.
 */
import { Writable } from 'node:stream';
import {
  appendJobEvents,
  type CostPoint,
  costEvent,
  type JobEvent,
  type JobEventRetention,
  jobEventKeys,
  type ProgressReport,
  progressEvent,
  type StatusChange,
  statusEvent,
} from '@backprop/contracts';
import { claimJob, recordProgress } from '@backprop/db';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext } from '../../../harness/api-context.ts';
import { queueSmallestJob, smallestJobInputs } from '../../../harness/api-fixtures.ts';
import { openSse, type SseMessage } from '../../../harness/sse.ts';
import { createApi } from '../src/api.ts';
import { createdId } from './support.ts';

const TOKEN_TTL_MS = 1500;
const MAX_STREAMS = 3;

let ctx: ApiContext;
let second: FastifyInstance;
let base: string;
let secondBase: string;
const logLines: string[] = [];
let datasetId: string;
let networkId: string;

const env = {
  EVENTS_HEARTBEAT_MS: '200',
  EVENTS_TOKEN_TTL_MS: String(TOKEN_TTL_MS),
  LIMIT_TENANT_EVENT_STREAMS: String(MAX_STREAMS),
  LIMIT_TENANT_ACTIVE_JOBS: '1000',
  RATE_LIMIT_MAX: '1000000',
};

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}`;
}

const newJob = () =>
  createdId(
    ctx,
    '/v1/jobs',
    { datasetId, networkId, training: { learningRate: 0.1, iterations: 100, costEvery: 10 } },
    202,
  );

const auth = () => ({ authorization: `Bearer ${ctx.apiKey}` });

/** Appends a job's events as a worker does, each call one append, awaited. */
function emitter(retention: JobEventRetention) {
  const append = (jobId: string, events: JobEvent[]) =>
    appendJobEvents(ctx.app.deps.redis, ctx.prefix, jobId, events, retention);
  return {
    status: (jobId: string, change: StatusChange) => append(jobId, [statusEvent(jobId, change)]),
    costs: (jobId: string, points: CostPoint[]) =>
      append(
        jobId,
        points.map((point) => costEvent(jobId, point)),
      ),
    progress: (jobId: string, report: ProgressReport) => append(jobId, [progressEvent(jobId, report)]),
  };
}
const publisher = emitter({ maxLen: 1000, idleTtlMs: 600_000, finishedTtlMs: 600_000 });

/** What a worker announces for a job: running, costs 0..n-1 (with progress), then `ending`. */
async function emitRun(jobId: string, costs: number, ending: 'succeeded' | 'none' = 'succeeded') {
  await publisher.status(jobId, { status: 'running' });
  for (let i = 0; i < costs; i++) {
    await publisher.costs(jobId, [
      { index: i, iteration: 10 * i, cost: 1 / (i + 1), validationCost: 2 / (i + 1) },
    ]);
    await publisher.progress(jobId, {
      iteration: 10 * i,
      iterations: 100,
      cost: 1 / (i + 1),
      iterationsPerSecond: 50,
      elapsedMs: 100 * i,
      etaMs: 1000,
    });
  }
  if (ending === 'succeeded') {
    await publisher.status(jobId, { status: 'succeeded', modelId: '00000000-0000-4000-8000-00000000abcd' });
  }
}

/** The events that are not progress (which is superseded, and replayed only as the latest). */
const lasting = (messages: SseMessage[]) =>
  messages
    .map((m) => m.data)
    .filter((e) => e.type !== 'progress')
    .map((e) => (e.type === 'cost' ? `cost ${e.index}` : `status ${e.status}`));

beforeAll(async () => {
  ctx = await createApiContext(env, {
    logStream: { write: (line: string) => logLines.push(line) },
  });
  // LOG_LEVEL is silent in the context; this app logs its requests for the redaction check.
  second = await createApi(
    { ...ctx.env, LOG_LEVEL: 'info' },
    {
      db: ctx.database.db,
      logStream: new Writable({
        write(chunk, _encoding, done) {
          logLines.push(String(chunk));
          done();
        },
      }),
    },
  );
  base = await listen(ctx.app);
  secondBase = await listen(second);
  ({ datasetId, networkId } = await smallestJobInputs(ctx.app));
});

afterAll(async () => {
  await second?.close();
  await ctx?.close();
});

describe('GET /v1/jobs/:id/events', () => {
  it('streams status, cost and progress events with ids, heartbeats while quiet, and ends after the terminal status', async () => {
    const jobId = await newJob();
    const stream = await openSse(`${base}/v1/jobs/${jobId}/events`, auth());
    expect(stream.status).toBe(200);
    expect(stream.headers.get('cache-control')).toBe('no-store');
    await stream.until((m) => m.some((e) => e.data.type === 'status' && e.data.status === 'queued'));
    // Quiet: heartbeats come, the stream stays open.
    await stream.until(() => stream.comments.includes('heartbeat'));

    await emitRun(jobId, 4);
    expect(await stream.ended).toBe(true);
    expect(lasting(stream.messages)).toEqual([
      'status queued',
      'status running',
      'cost 0',
      'cost 1',
      'cost 2',
      'cost 3',
      'status succeeded',
    ]);
    for (const m of stream.messages) {
      expect(m.id).toMatch(/^\d+-\d+$/);
      expect(m.event).toBe(m.data.type);
      expect(m.data.jobId).toBe(jobId);
    }
    const ids = stream.messages.map((m) => m.id!);
    expect(new Set(ids).size).toBe(ids.length);
    const cost = stream.messages.find((m) => m.data.type === 'cost')!.data;
    expect(cost).toEqual({ type: 'cost', jobId, index: 0, iteration: 0, cost: 1, validationCost: 2 });
    expect(stream.messages.at(-1)!.data).toMatchObject({
      type: 'status',
      status: 'succeeded',
      modelId: '00000000-0000-4000-8000-00000000abcd',
    });
  });

  it('a second API process on the same Redis prefix streams the same events with the same ids', async () => {
    const jobId = await newJob();
    const [a, b] = await Promise.all([
      openSse(`${base}/v1/jobs/${jobId}/events`, auth()),
      openSse(`${secondBase}/v1/jobs/${jobId}/events`, auth()),
    ]);
    await Promise.all([a, b].map((s) => s.until((m) => m.length >= 1)));
    await emitRun(jobId, 3);
    expect(await a.ended).toBe(true);
    expect(await b.ended).toBe(true);
    const lastingIds = (s: typeof a) =>
      s.messages.filter((m) => m.data.type !== 'progress').map((m) => `${m.id} ${m.data.type}`);
    expect(lasting(a.messages)).toHaveLength(6);
    expect(lastingIds(b)).toEqual(lastingIds(a));
  });

  it('a late subscriber gets the whole history of a finished job, and the stream ends', async () => {
    const jobId = await newJob();
    await emitRun(jobId, 5);
    const live = await openSse(`${base}/v1/jobs/${jobId}/events`, auth());
    expect(await live.ended).toBe(true);
    const late = await openSse(`${secondBase}/v1/jobs/${jobId}/events`, auth());
    expect(await late.ended).toBe(true);
    expect(lasting(late.messages)).toEqual([
      'status queued',
      'status running',
      ...[0, 1, 2, 3, 4].map((i) => `cost ${i}`),
      'status succeeded',
    ]);
    // Progress is superseded: only the latest is kept.
    expect(late.messages.filter((m) => m.data.type === 'progress')).toHaveLength(1);
  });

  it('reconnecting with Last-Event-ID (header or ?lastEventId=) gets exactly the events missed: none twice, none lost', async () => {
    const jobId = await newJob();
    await emitRun(jobId, 3, 'none');
    const first = await openSse(`${base}/v1/jobs/${jobId}/events`, auth());
    await first.until((m) => lasting(m).includes('cost 2'));
    const seen = [...first.messages];
    const lastId = seen.at(-1)!.id!;
    first.close();

    // Missed while away: more costs and the end.
    for (let i = 3; i < 6; i++) {
      await publisher.costs(jobId, [{ index: i, iteration: 10 * i, cost: 0.1, validationCost: null }]);
    }
    await publisher.status(jobId, { status: 'succeeded', modelId: null });

    const again = await openSse(`${secondBase}/v1/jobs/${jobId}/events`, {
      ...auth(),
      'last-event-id': lastId,
    });
    expect(await again.ended).toBe(true);
    expect(lasting(again.messages)).toEqual(['cost 3', 'cost 4', 'cost 5', 'status succeeded']);
    const all = [...seen, ...again.messages];
    expect(lasting(all)).toEqual([
      'status queued',
      'status running',
      ...[0, 1, 2, 3, 4, 5].map((i) => `cost ${i}`),
      'status succeeded',
    ]);

    // From any point of the history, as a query parameter too.
    const full = lasting(all);
    const fromStart = await openSse(`${base}/v1/jobs/${jobId}/events`, auth());
    expect(await fromStart.ended).toBe(true);
    for (let k = 0; k < fromStart.messages.length; k++) {
      const id = fromStart.messages[k]!.id!;
      const resumed = await openSse(`${base}/v1/jobs/${jobId}/events?lastEventId=${id}`, auth());
      expect(await resumed.ended).toBe(true);
      expect([...lasting(fromStart.messages.slice(0, k + 1)), ...lasting(resumed.messages)]).toEqual(full);
    }
  });

  it('a cost point recorded again by a resumed attempt is not sent again', async () => {
    const jobId = await newJob();
    const stream = await openSse(`${base}/v1/jobs/${jobId}/events`, auth());
    await emitRun(jobId, 3, 'none');
    // Attempt 2 resumes from a checkpoint at cost 1 and records 2 again, then 3.
    await publisher.status(jobId, { status: 'running' });
    await publisher.costs(jobId, [
      { index: 2, iteration: 20, cost: 1 / 3, validationCost: 2 / 3 },
      { index: 3, iteration: 30, cost: 0.25, validationCost: 0.5 },
    ]);
    await publisher.status(jobId, { status: 'succeeded', modelId: null });
    expect(await stream.ended).toBe(true);
    expect(lasting(stream.messages).filter((e) => e.startsWith('cost'))).toEqual([
      'cost 0',
      'cost 1',
      'cost 2',
      'cost 3',
    ]);
  });

  it("a subscriber arriving after the stream expired gets the job's row as events", async () => {
    const jobId = await newJob();
    await emitRun(jobId, 2, 'none');
    const cancel = await ctx.app.inject({ method: 'POST', url: `/v1/jobs/${jobId}/cancel` });
    expect(cancel.statusCode).toBe(200);
    const keys = jobEventKeys(ctx.prefix, jobId);
    // Expired (as the finished TTL makes it), or never written.
    await ctx.app.deps.redis.del(keys.stream, keys.meta);
    const late = await openSse(`${base}/v1/jobs/${jobId}/events`, auth());
    expect(await late.ended).toBe(true);
    // The row never heard of the emitted costs (no worker wrote them): its state is cancelled.
    expect(lasting(late.messages)).toEqual(['status cancelled']);
    expect(late.messages[0]!.id).toBe('0-0');
  });

  it('a stream trimmed to JOB_EVENTS_MAX_LEN serves new subscribers, and one resuming from before the trim, from the row, then live', async () => {
    const jobId = await newJob();
    const early = await openSse(`${base}/v1/jobs/${jobId}/events`, auth());
    const [queued] = await early.until((m) => m.length >= 1);
    early.close();
    const small = emitter({ maxLen: 10, idleTtlMs: 600_000, finishedTtlMs: 600_000 });
    // A worker's run: 15 cost points, in the row and in the stream (which keeps 10 entries).
    const db = ctx.database.db;
    const claimed = await claimJob(db, { jobId, workerId: 'test', leaseMs: 600_000 });
    const costs = Float64Array.from({ length: 15 }, (_, i) => 1 / (i + 1));
    expect(
      await recordProgress(db, {
        jobId,
        attempt: claimed!.attempt,
        iteration: 140,
        cost: costs[14]!,
        costs,
        leaseMs: 600_000,
      }),
    ).toBe(true);
    await small.status(jobId, { status: 'running' });
    await small.costs(
      jobId,
      Array.from(costs, (cost, index) => ({ index, iteration: 10 * index, cost, validationCost: null })),
    );
    const keys = jobEventKeys(ctx.prefix, jobId);
    const redis = ctx.app.deps.redis;
    for (let tries = 0; (await redis.hget(keys.meta, 'nextCost')) !== '15' && tries < 200; tries++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await redis.xlen(keys.stream)).toBe(10);

    const expected = ['status running', ...Array.from(costs, (_, i) => `cost ${i}`), 'status succeeded'];
    const fresh = await openSse(`${base}/v1/jobs/${jobId}/events`, auth());
    const resumed = await openSse(`${secondBase}/v1/jobs/${jobId}/events`, {
      ...auth(),
      'last-event-id': queued!.id!,
    });
    await Promise.all([fresh, resumed].map((s) => s.until((m) => lasting(m).includes('cost 14'))));
    await small.status(jobId, { status: 'succeeded', modelId: null });
    expect(await fresh.ended).toBe(true);
    expect(await resumed.ended).toBe(true);
    expect(lasting(fresh.messages)).toEqual(expected);
    expect(lasting(resumed.messages)).toEqual(expected);
  });

  it('ends with the row when the job finished but its final events never came (the worker could not write them)', async () => {
    const jobId = await newJob();
    const stream = await openSse(`${base}/v1/jobs/${jobId}/events`, auth());
    await stream.until((m) => m.length >= 1);
    // A cancel whose event write is lost: the row is cancelled, the stream hears nothing.
    await ctx.database.db.trainingJob.update({
      where: { id: jobId },
      data: { status: 'cancelled', finishedAt: new Date() },
    });
    expect(await stream.ended).toBe(true);
    expect(lasting(stream.messages)).toEqual(['status queued', 'status cancelled']);
  });

  it("is a 404 for another tenant's job and for a missing one, like the job itself", async () => {
    const jobId = await newJob();
    const other = await ctx.createTenantKey('events-other');
    const theirs = await openSse(`${base}/v1/jobs/${jobId}/events`, {
      authorization: `Bearer ${other.apiKey}`,
    });
    expect(theirs.status).toBe(404);
    expect(theirs.errorBody).toMatchObject({ code: 'BP_ERR_JOB_NOT_FOUND' });
    const missing = await openSse(`${base}/v1/jobs/00000000-0000-4000-8000-000000000000/events`, auth());
    expect(missing.status).toBe(404);
    const none = await openSse(`${base}/v1/jobs/${jobId}/events`);
    expect(none.status).toBe(401);
    const token = await ctx.app.inject({
      method: 'POST',
      url: `/v1/jobs/${jobId}/events/token`,
      headers: { authorization: `Bearer ${other.apiKey}` },
    });
    expect(token.statusCode).toBe(404);
  });

  it('refuses a malformed Last-Event-ID with a 400 naming it', async () => {
    const jobId = await newJob();
    const bad = await openSse(`${base}/v1/jobs/${jobId}/events`, { ...auth(), 'last-event-id': 'abc' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.errorBody)).toContain('last-event-id');
  });
});

describe('POST /v1/jobs/:id/events/token', () => {
  it("opens that job's stream without a key, not another job's, not after it expired, and never appears in the log", async () => {
    const jobId = await newJob();
    const otherJob = await newJob();
    const res = await ctx.app.inject({ method: 'POST', url: `/v1/jobs/${jobId}/events/token` });
    expect(res.statusCode, res.body).toBe(201);
    const { token, url, expiresAt } = res.json();
    expect(token).toMatch(/^bpev_[A-Za-z0-9_-]{40,}$/);
    expect(url).toBe(`/v1/jobs/${jobId}/events?token=${token}`);
    expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now());

    const opened = await openSse(`${secondBase}${url}`);
    expect(opened.status).toBe(200);
    await opened.until((m) => m.some((e) => e.data.type === 'status'));
    opened.close();

    const wrongJob = await openSse(`${secondBase}/v1/jobs/${otherJob}/events?token=${token}`);
    expect(wrongJob.status).toBe(401);
    // Only the stream takes it: anywhere else it is an unknown query parameter, and no key.
    const elsewhere = await fetch(`${secondBase}/v1/jobs/${jobId}?token=${token}`);
    expect([400, 401]).toContain(elsewhere.status);

    await new Promise((r) => setTimeout(r, TOKEN_TTL_MS + 500));
    const expired = await openSse(`${secondBase}${url}`);
    expect(expired.status).toBe(401);
    expect(expired.errorBody).toMatchObject({ code: 'BP_ERR_UNAUTHORIZED' });

    const log = logLines.join('');
    expect(log).toContain(`/v1/jobs/${jobId}/events?token=[REDACTED]`);
    expect(log).not.toContain(token);
    expect(log).not.toContain(token.slice(5));
  });
});

describe('LIMIT_TENANT_EVENT_STREAMS', () => {
  it('refuses one stream more than the limit with a 429 in the catalog shape, across API processes, and frees the place when one closes', async () => {
    // A tenant of its own, so that no other test's stream holds one of its places.
    const tenant = await ctx.createTenantKey('events-limit');
    const auth = () => ({ authorization: `Bearer ${tenant.apiKey}` });
    const jobId = await queueSmallestJob(ctx.app, auth());
    const open = [];
    for (let i = 0; i < MAX_STREAMS; i++) {
      const s = await openSse(`${i % 2 ? secondBase : base}/v1/jobs/${jobId}/events`, auth());
      expect(s.status).toBe(200);
      open.push(s);
    }
    const refused = await openSse(`${secondBase}/v1/jobs/${jobId}/events`, auth());
    expect(refused.status).toBe(429);
    expect(refused.errorBody).toEqual({
      statusCode: 429,
      code: 'BP_ERR_TOO_MANY_EVENT_STREAMS',
      error: 'Too Many Requests',
      message: expect.stringContaining('LIMIT_TENANT_EVENT_STREAMS'),
      details: { limit: 'LIMIT_TENANT_EVENT_STREAMS', actual: MAX_STREAMS + 1, max: MAX_STREAMS },
    });
    // Another tenant has places of its own.
    const others = await openSse(`${base}/v1/jobs/${await newJob()}/events`, {
      authorization: `Bearer ${ctx.apiKey}`,
    });
    expect(others.status).toBe(200);
    others.close();

    open[0]!.close();
    let again = await openSse(`${base}/v1/jobs/${jobId}/events`, auth());
    for (let tries = 0; again.status === 429 && tries < 100; tries++) {
      await new Promise((r) => setTimeout(r, 100));
      again = await openSse(`${base}/v1/jobs/${jobId}/events`, auth());
    }
    expect(again.status).toBe(200);
    again.close();
    for (const s of open) s.close();
  });
});
