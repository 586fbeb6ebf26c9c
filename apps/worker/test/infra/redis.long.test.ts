/**
 * Redis faults (RELIABILITY.md scenarios 6-9) against a PRIVATE Redis and Postgres started by this
 * file: the job is lost between the database and the queue, Redis restarts gracefully, Redis
 * crashes (and loses its data), Redis runs out of memory or evicts. Postgres is the system of
 * record; these tests show that Redis faults delay jobs but never lose, duplicate or hang them.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { checkInvariants, countBy } from '../../../../harness/checks.ts';
import { eventually } from '../../../../harness/processes.ts';
import type { PrivateRedis } from '../../../../harness/services.ts';
import {
  createFixtures,
  FAST_WORKER_ENV,
  type InProcessApi,
  type Space,
  Submitter,
} from '../../../../harness/stack.ts';
import { usePrivateServers } from './file-servers.ts';

const servers = usePrivateServers();

const QUEUED_AFTER_MS = Number(FAST_WORKER_ENV['RECONCILE_QUEUED_AFTER_MS']);
const RECONCILE_EVERY_MS = Number(FAST_WORKER_ENV['RECONCILE_EVERY_MS']);

/** A space (on `onRedis`) with its in-process API, the fixtures and `workerCount` workers, all ready. */
async function readySpace(workerCount: number, options: { hidden?: number; onRedis?: PrivateRedis } = {}) {
  const s = await servers.space(options.onRedis);
  const api = await s.inProcessApi();
  const { datasetId, networkId } = await createFixtures(api, options.hidden);
  const workers = Array.from({ length: workerCount }, () => s.startWorker());
  await Promise.all(workers.map((w) => w.waitForLog((l) => l.msg === 'worker ready', 60_000)));
  return { s, api, datasetId, networkId, workers };
}

function submitJob(api: InProcessApi, body: object, key?: string) {
  return api.inject({
    method: 'POST',
    url: '/v1/jobs',
    payload: body,
    ...(key ? { headers: { 'idempotency-key': key } } : {}),
  });
}

/**
 * Submits a short job on the fixtures every `everyMs` (keys `keyPrefix`-n), retrying a key until
 * it is accepted, as a careful client does.
 */
function submitShortJobs(
  api: InProcessApi,
  fixtures: { datasetId: string; networkId: string },
  everyMs: number,
  keyPrefix: string,
): Submitter {
  const training = { learningRate: 1, iterations: 1500 };
  return new Submitter(
    async (key) => {
      const res = await submitJob(api, { ...fixtures, training }, key);
      return { status: res.statusCode, body: res.json() };
    },
    everyMs,
    keyPrefix,
  ).start();
}

async function jobStatus(s: Space, jobId: string): Promise<string> {
  const row = await s.db.trainingJob.findUnique({ where: { id: jobId }, select: { status: true } });
  return row?.status ?? 'missing';
}

/** Waits until every job is terminal; returns the statuses. */
async function allTerminal(s: Space, jobIds: string[], timeoutMs: number): Promise<Map<string, string>> {
  const rows = await eventually(
    () => s.db.trainingJob.findMany({ where: { id: { in: jobIds } }, select: { id: true, status: true } }),
    (r) =>
      r.length === jobIds.length && r.every((j) => ['succeeded', 'failed', 'cancelled'].includes(j.status)),
    timeoutMs,
    250,
  );
  return new Map(rows.map((r) => [r.id, r.status]));
}

const count = (lines: { msg: string; jobId?: unknown }[], msg: string, jobId: string) =>
  lines.filter((l) => l.msg === msg && l.jobId === jobId).length;

describe('Redis faults', () => {
  it('6: the API commits the row, then Redis dies before queue.add: the job is accepted, re-enqueued by the reconciler and trained exactly once', async () => {
    const { s, api, datasetId, networkId, workers } = await readySpace(1);
    const worker = workers[0]!;

    // Hold the INSERT of the job row behind a table lock: the request has passed its "is Redis
    // up" check and waits inside the insert. Then Redis dies, then the insert commits, so the
    // enqueue that follows fails. This is the crash window between the two writes, made exact.
    const locker = new pg.Client({ connectionString: s.databaseUrl });
    locker.on('error', () => undefined);
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE "TrainingJob" IN SHARE MODE');
    const submitted = submitJob(api, {
      datasetId,
      networkId,
      training: { learningRate: 1, iterations: 2000 },
    });
    // Watched from another session: within the locker's transaction pg_stat_activity is a snapshot.
    await eventually(
      () =>
        s.db.$queryRaw<{ n: number }[]>`
          SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO%TrainingJob%'`,
      (r) => r[0]?.n === 1,
      20_000,
    );
    await servers.redis.kill();
    await locker.query('COMMIT');
    await locker.end();
    const res = await submitted;
    expect(res.statusCode).toBe(202);
    const jobId = res.json().id as string;
    expect(await jobStatus(s, jobId)).toBe('queued');

    const restartedAt = Date.now();
    await servers.redis.start();
    const queue = new Queue('training', { connection: { port: servers.redis.port }, prefix: s.prefix });
    expect(await queue.getJob(jobId)).toBeUndefined(); // Redis never heard of it
    await queue.close();

    await eventually(
      () => jobStatus(s, jobId),
      (st) => st === 'succeeded',
      60_000,
      200,
    );
    const recoveredMs = Date.now() - restartedAt;
    expect(count(worker.lines, 'reconciler enqueued a job the queue did not hold', jobId)).toBe(1);
    expect(count(worker.lines, 'training starts', jobId)).toBe(1);
    const row = await s.db.trainingJob.findUniqueOrThrow({ where: { id: jobId } });
    expect(row.attempt).toBe(1);
    expect(await s.db.model.count({ where: { jobId } })).toBe(1);
    expect(await checkInvariants(s.db, { allTerminal: true })).toEqual([]);
    console.log(`[6] lost enqueue: re-enqueued and succeeded ${recoveredMs} ms after Redis returned`);
  });

  it('7: a graceful Redis restart during training and submits: 503s fast while down, the worker reconnects and takes new jobs, every accepted job terminates once', async () => {
    const { s, api, datasetId, networkId, workers } = await readySpace(1);
    const worker = workers[0]!;

    const long = await submitJob(api, {
      datasetId,
      networkId,
      training: { learningRate: 0.5, iterations: 60_000, costEvery: 1000, seed: 1 },
    });
    expect(long.statusCode).toBe(202);
    const longId = long.json().id as string;
    await eventually(
      () => s.db.trainingJob.findUnique({ where: { id: longId } }),
      (j) => j?.status === 'running' && j.iteration > 0,
      60_000,
    );

    const submitter = submitShortJobs(api, { datasetId, networkId }, 250, 's7');
    await new Promise((r) => setTimeout(r, 1500));

    const downAt = Date.now();
    await servers.redis.shutdown();
    // Postgres still answers reads while Redis is down.
    await new Promise((r) => setTimeout(r, 1000));
    const poll = await api.inject({ method: 'GET', url: `/v1/jobs/${longId}` });
    expect(poll.statusCode).toBe(200);
    const ready = await api.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().checks).toEqual({ postgres: true, redis: false });
    await new Promise((r) => setTimeout(r, 7000));
    const upAt = Date.now();
    await servers.redis.start();
    await new Promise((r) => setTimeout(r, 4000));
    await submitter.stop();

    const whileDown = submitter.results.filter((r) => r.at > downAt + 500 && r.at < upAt);
    expect(whileDown.length).toBeGreaterThan(5);
    for (const r of whileDown) {
      expect(r.status).toBe(503);
      expect(r.code).toBe('BP_ERR_UNAVAILABLE');
    }
    const slowest503 = Math.max(...whileDown.map((r) => r.ms));
    expect(slowest503).toBeLessThan(2000);
    expect(new Set(submitter.results.map((r) => r.status))).toEqual(new Set([202, 503]));

    // A job submitted after Redis returned is fetched: the worker's loop survived the restart.
    const afterRestart = submitter.results.filter((r) => r.jobId && r.at > upAt).map((r) => r.jobId!);
    expect(afterRestart.length).toBeGreaterThan(0);
    const accepted = [...submitter.accepted.values(), longId];
    const statuses = await allTerminal(s, accepted, 180_000);
    for (const [id, status] of statuses) expect(status, id).toBe('succeeded');
    for (const id of afterRestart)
      expect(count(worker.lines, 'training starts', id)).toBeGreaterThanOrEqual(1);

    // The liveness heartbeat saw Redis go and come back, and the loop kept running.
    const beats = worker.lines.filter((l) => l.msg === 'heartbeat');
    expect(beats.some((b) => b.time > downAt && b.time < upAt && b['redis'] !== 'ready')).toBe(true);
    expect(beats.some((b) => b.time > upAt && b['redis'] === 'ready' && b['running'] === true)).toBe(true);
    expect(worker.running).toBe(true);
    expect(await checkInvariants(s.db, { allTerminal: true })).toEqual([]);
    console.log(
      `[7] Redis down ${upAt - downAt} ms: ${whileDown.length} submits answered 503 (slowest ${slowest503.toFixed(0)} ms); ` +
        `${accepted.length} accepted jobs all succeeded once, ${afterRestart.length} of them submitted after the restart`,
    );
  });

  it('8: Redis killed under submit load (AOF everysec), then killed again and restarted empty: every accepted job is re-enqueued from Postgres and trained once', async () => {
    const { s, api, datasetId, networkId, workers } = await readySpace(2, { hidden: 4 });
    const queue = new Queue('training', {
      connection: { port: servers.redis.port, maxRetriesPerRequest: 1, enableOfflineQueue: false },
      prefix: s.prefix,
    });
    queue.on('error', () => undefined);

    const submitter = submitShortJobs(api, { datasetId, networkId }, 100, 's8');

    // The longest time a queued row went without the queue holding it, sampled every 500 ms.
    const orphanSince = new Map<string, number>();
    let worstOrphanMs = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const queued = await s.db.trainingJob
          .findMany({ where: { status: 'queued' }, select: { id: true } })
          .catch(() => []);
        const now = Date.now();
        const held = new Set<string>();
        if (servers.redis.running) {
          for (const q of queued) {
            const state = await queue.getJobState(q.id).catch(() => 'error');
            if (state !== 'unknown' && state !== 'error') held.add(q.id);
            else if (state === 'error') held.add(q.id); // cannot tell while Redis is away: not counted
          }
        } else for (const q of queued) held.add(q.id);
        for (const q of queued) {
          if (held.has(q.id)) orphanSince.delete(q.id);
          else {
            const since = orphanSince.get(q.id) ?? now;
            orphanSince.set(q.id, since);
            worstOrphanMs = Math.max(worstOrphanMs, now - since);
          }
        }
        for (const id of [...orphanSince.keys()])
          if (!queued.some((q) => q.id === id)) orphanSince.delete(id);
        await new Promise((r) => setTimeout(r, 500));
      }
    })();

    await new Promise((r) => setTimeout(r, 3000));
    await servers.redis.kill(); // kill -9: the AOF has what was written before (everysec)
    await new Promise((r) => setTimeout(r, 2000));
    await servers.redis.start();
    await new Promise((r) => setTimeout(r, 3000));
    // Now lose everything Redis had: a crash that takes the disk, or a failover to an empty replica.
    const acceptedBeforeLoss = submitter.accepted.size;
    await servers.redis.kill();
    rmSync(join(servers.redis.dir, 'appendonlydir'), { recursive: true, force: true });
    await new Promise((r) => setTimeout(r, 1000));
    const emptyAt = Date.now();
    await servers.redis.start();
    await new Promise((r) => setTimeout(r, 3000));
    await submitter.stop();

    const accepted = [...submitter.accepted.values()];
    const statuses = await allTerminal(s, accepted, 240_000);
    sampling = false;
    await sampler;
    await queue.close();

    for (const [id, status] of statuses) expect(status, id).toBe('succeeded');
    const reEnqueued = new Set(
      workers.flatMap((w) =>
        w.lines
          .filter((l) => l.msg === 'reconciler enqueued a job the queue did not hold')
          .map((l) => l.jobId),
      ),
    );
    // Lost with the data: at least the jobs still waiting when Redis came back empty.
    expect(reEnqueued.size).toBeGreaterThan(0);
    // Bound: re-enqueued within RECONCILE_QUEUED_AFTER_MS (age of the row) + one round + sampling slack.
    expect(worstOrphanMs).toBeLessThanOrEqual(QUEUED_AFTER_MS + RECONCILE_EVERY_MS + 3000);
    const models = await s.db.model.count({ where: { jobId: { in: accepted } } });
    expect(models).toBe(accepted.length);
    expect(await checkInvariants(s.db, { allTerminal: true })).toEqual([]);
    expect(new Set(submitter.results.map((r) => r.status)).has(500)).toBe(false);
    for (const w of workers) expect(w.running).toBe(true);
    console.log(
      `[8] ${accepted.length} jobs accepted (${acceptedBeforeLoss} before the data loss at ${new Date(emptyAt).toISOString()}); ` +
        `${reEnqueued.size} re-enqueued from Postgres; longest a queued row was missing from the queue: ${worstOrphanMs} ms; ` +
        `models = ${models}; answers: ${JSON.stringify(countBy(submitter.results.map((r) => r.status)))}`,
    );
  });
});

describe('Redis memory', () => {
  it('9a: Redis full under noeviction: submits answer 503 fast and leave no row; after memory frees, jobs are accepted and run', async () => {
    const small = await servers.extraRedis({ maxmemory: '64mb' });
    const { s, api, datasetId, networkId, workers } = await readySpace(1, { hidden: 4, onRedis: small });
    const worker = workers[0]!;

    // Fill Redis with our own keys, then set maxmemory below what is used: every write is refused
    // from now on (noeviction), while reads go on. Filling up to the limit alone leaves Redis
    // hovering at the boundary, where small writes sometimes fit.
    const keys = 8;
    for (let i = 0; i < keys; i++) await small.command('SET', `filler:${i}`, 'x'.repeat(256 * 1024));
    const used = Number(/used_memory:(\d+)/.exec(await small.command('INFO', 'memory'))![1]);
    await small.command('CONFIG', 'SET', 'maxmemory', String(used - 512 * 1024));
    expect(await small.command('SET', 'probe', 'x')).toMatch(/^-OOM/);
    const before = await s.db.trainingJob.count();
    const answers: { status: number; ms: number; code: string }[] = [];
    for (let i = 0; i < 10; i++) {
      const started = performance.now();
      const res = await submitJob(api, {
        datasetId,
        networkId,
        training: { learningRate: 1, iterations: 500 },
      });
      answers.push({ status: res.statusCode, ms: performance.now() - started, code: res.json().code });
    }
    for (const a of answers) {
      expect(a.status).toBe(503);
      expect(a.code).toBe('BP_ERR_UNAVAILABLE');
      expect(a.ms).toBeLessThan(2000);
    }
    // Nothing accepted, nothing half-done: no new row at all, none running.
    expect(await s.db.trainingJob.count()).toBe(before);
    expect(await s.db.trainingJob.count({ where: { status: { in: ['queued', 'running'] } } })).toBe(0);
    // Existing keys were not evicted.
    expect(await small.command('EXISTS', 'filler:0')).toBe(':1\r\n');

    for (let i = 0; i < keys; i++) await small.command('DEL', `filler:${i}`);
    await small.command('CONFIG', 'SET', 'maxmemory', '64mb');
    const res = await submitJob(api, {
      datasetId,
      networkId,
      training: { learningRate: 1, iterations: 500 },
    });
    expect(res.statusCode).toBe(202);
    await eventually(
      () => jobStatus(s, res.json().id),
      (st) => st === 'succeeded',
      60_000,
      200,
    );
    expect(worker.running).toBe(true);
    expect(await checkInvariants(s.db, { allTerminal: true })).toEqual([]);
    console.log(
      `[9] Redis over maxmemory (noeviction): 10 submits → 503 in ≤ ${Math.max(...answers.map((a) => a.ms)).toFixed(0)} ms, no row left; after freeing memory a job ran`,
    );
  });

  it('9b: the worker and the API refuse to run against a Redis that may evict keys (allkeys-lru)', async () => {
    const lru = await servers.extraRedis({ maxmemoryPolicy: 'allkeys-lru' });
    const s = await servers.space(lru);
    const worker = s.startWorker();
    const fatal = await worker.waitForLog((l) => l.level === 60, 60_000);
    expect(fatal.msg).toMatch(/maxmemory-policy must be noeviction/);
    expect(fatal['policy']).toBe('allkeys-lru');
    expect((await worker.exited).code).toBe(1);

    const api = await s.startApi().then(
      (a) => a,
      () => null,
    );
    // The API may get to listen before its Redis check answers; either way it must stop.
    const exit = await Promise.race([
      (api ?? s.processes.at(-1)!).exited,
      new Promise<null>((r) => setTimeout(() => r(null), 30_000)),
    ]);
    expect(exit?.code).toBe(1);
    const apiProcess = s.processes.at(-1)!;
    expect(apiProcess.lines.some((l) => l.level === 60 && /noeviction/.test(l.msg))).toBe(true);
  });
});
