/**
 * Postgres faults (RELIABILITY.md scenarios 10-12) against a PRIVATE Postgres started by this file:
 * connections killed under load, Postgres down for 30 s while a job finishes, the pool exhausted.
 * The API runs as its own process (real sockets, and a crash would show as an exit).
 */
import { createDb, isDatabaseUnavailable } from '@backprop/db';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { checkInvariants, countBy, percentile } from '../../../../harness/checks.ts';
import { eventually } from '../../../../harness/processes.ts';
import { usePrivateServers } from './file-servers.ts';

const servers = usePrivateServers();

/** A space with the fixtures, its API process and a worker, ready. */
async function readyService(hidden: number) {
  const s = await servers.space();
  const { datasetId, networkId } = await s.fixtures(hidden);
  const api = await s.startApi();
  const worker = s.startWorker();
  await worker.waitForLog((l) => l.msg === 'worker ready', 60_000);
  return { s, datasetId, networkId, api, worker };
}

/** An error answer must be in the error shape and carry no stack or driver detail. */
function expectCleanError(status: number, body: unknown) {
  expect(body).toMatchObject({ statusCode: status, code: expect.any(String), message: expect.any(String) });
  const text = JSON.stringify(body);
  expect(text).not.toMatch(/\bat .+\.(ts|js):\d+|stack|prisma|ECONNREFUSED|pg_|SQLSTATE/i);
}

async function admin(database = 'postgres'): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: servers.pg.url(database),
    application_name: 'infra-admin',
  });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

const terminal = ['succeeded', 'failed', 'cancelled'];

describe('Postgres faults', () => {
  it('10: connections terminated every 2 s under load and during completions: no crash, clean 503s, then success; every job lands once', async () => {
    const { s, datasetId, networkId, api, worker } = await readyService(8);

    // A model to predict with, trained before the faults.
    const first = await s.fetch(api, 'POST', '/v1/jobs', {
      datasetId,
      networkId,
      training: { learningRate: 1, iterations: 500 },
    });
    expect(first.status).toBe(202);
    const done = await eventually(
      () => s.fetch(api, 'GET', `/v1/jobs/${(first.body as { id: string }).id}`),
      (r) => terminal.includes((r.body as { status: string }).status),
      60_000,
      200,
    );
    const modelId = (done.body as { modelId: string }).modelId;

    // Jobs that complete while connections are being killed.
    const jobs: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await s.fetch(api, 'POST', '/v1/jobs', {
        datasetId,
        networkId,
        training: { learningRate: 1, iterations: 6000, seed: i },
      });
      expect(res.status).toBe(202);
      jobs.push((res.body as { id: string }).id);
    }

    const answers: { status: number; ms: number; body: unknown }[] = [];
    let loading = true;
    const client = async (n: number) => {
      for (let i = 0; loading; i++) {
        const kind = (i + n) % 3;
        const res = await (kind === 0
          ? s.fetch(api, 'GET', `/v1/jobs/${jobs[i % jobs.length]}`)
          : kind === 1
            ? s.fetch(api, 'POST', `/v1/models/${modelId}/predictions`, { samples: [[0.5, -1]] })
            : s.fetch(api, 'GET', '/v1/jobs?limit=5')
        ).catch((err: Error) => ({ status: 0, ms: 0, body: err.message }));
        answers.push(res);
      }
    };
    const clients = [0, 1, 2, 3].map(client);

    const killer = await admin();
    const database = new URL(s.databaseUrl).pathname.slice(1);
    let terminated = 0;
    for (let round = 0; round < 8; round++) {
      await new Promise((r) => setTimeout(r, 2000));
      const res = await killer.query(
        'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [database],
      );
      terminated += res.rows[0].n;
    }
    await killer.end();
    loading = false;
    await Promise.all(clients);

    const statuses = await eventually(
      () => s.db.trainingJob.findMany({ where: { id: { in: jobs } }, select: { status: true } }),
      (rows) => rows.every((r) => terminal.includes(r.status)),
      180_000,
      500,
    );
    for (const r of statuses) expect(r.status).toBe('succeeded');
    expect(await s.db.model.count({ where: { jobId: { in: jobs } } })).toBe(jobs.length);

    const byStatus = countBy(answers.map((a) => a.status));
    for (const a of answers) {
      expect([200, 503]).toContain(a.status);
      if (a.status !== 200) expectCleanError(a.status, a.body);
    }
    // Afterwards everything answers again.
    for (let i = 0; i < 10; i++) {
      expect((await s.fetch(api, 'GET', `/v1/jobs/${jobs[0]}`)).status).toBe(200);
      expect(
        (await s.fetch(api, 'POST', `/v1/models/${modelId}/predictions`, { samples: [[1, 1]] })).status,
      ).toBe(200);
    }
    expect(api.running).toBe(true);
    expect(worker.running).toBe(true);
    expect(await checkInvariants(s.db, { allTerminal: true })).toEqual([]);
    const retriedSaves = worker.lines.filter((l) => l.msg === 'saving the result failed; retrying').length;
    const delayed = worker.lines.filter(
      (l) => l.msg === 'postgres unavailable; the job goes back to the queue',
    ).length;
    console.log(
      `[10] ${terminated} backends terminated in 8 rounds; ${answers.length} requests: ${JSON.stringify(byStatus)}; ` +
        `${jobs.length} jobs succeeded with one model each; result saves retried ${retriedSaves}×, jobs delayed ${delayed}×`,
    );
  });

  it('11: Postgres down 30 s while a job finishes training: /readyz false, requests fail fast, the result is saved when Postgres returns; one model', async () => {
    const { s, datasetId, networkId, api, worker } = await readyService(16);

    const res = await s.fetch(api, 'POST', '/v1/jobs', {
      datasetId,
      networkId,
      training: { learningRate: 0.5, iterations: 30_000, costEvery: 500, seed: 3 },
    });
    expect(res.status).toBe(202);
    const jobId = (res.body as { id: string }).id;
    await eventually(
      () => s.db.trainingJob.findUnique({ where: { id: jobId } }),
      (j) => j?.status === 'running' && j.iteration > 0,
      60_000,
    );

    const downAt = Date.now();
    await servers.pg.stop('fast');
    const during: { path: string; status: number; ms: number; body: unknown }[] = [];
    let finishedWhileDown = false;
    while (Date.now() - downAt < 30_000) {
      for (const path of ['/readyz', `/v1/jobs/${jobId}`]) {
        const r = await s.fetch(api, 'GET', path, undefined, { timeoutMs: 15_000 });
        during.push({ path, ...r });
      }
      if (worker.lines.some((l) => l.msg === 'saving the result failed; retrying' && l.jobId === jobId))
        finishedWhileDown = true;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const upAt = Date.now();
    await servers.pg.start();

    const job = await eventually(
      () => s.fetch(api, 'GET', `/v1/jobs/${jobId}`),
      (r) => r.status === 200 && terminal.includes((r.body as { status: string }).status),
      120_000,
      500,
    );
    const savedAfterMs = Date.now() - upAt;
    expect((job.body as { status: string }).status).toBe('succeeded');
    expect(finishedWhileDown).toBe(true);
    expect(await s.db.model.count({ where: { jobId } })).toBe(1);
    // The result computed during the outage was kept: no second training.
    const row = await s.db.trainingJob.findUniqueOrThrow({ where: { id: jobId } });
    expect(row.attempt).toBe(1);

    for (const d of during) {
      expect(d.status).toBe(503);
      if (d.path !== '/readyz') expectCleanError(d.status, d.body);
      // pg's connectionTimeoutMillis is 5 s; a refused connection fails at once.
      expect(d.ms).toBeLessThan(6000);
    }
    const ready = during.filter((d) => d.path === '/readyz');
    for (const d of ready)
      expect((d.body as { checks: unknown }).checks).toEqual({ postgres: false, redis: true });
    expect((await s.fetch(api, 'GET', '/readyz')).status).toBe(200);
    expect(api.running).toBe(true);
    expect(worker.running).toBe(true);
    expect(await checkInvariants(s.db, { allTerminal: true })).toEqual([]);
    const ms = during.map((d) => d.ms);
    console.log(
      `[11] Postgres down ${upAt - downAt} ms: ${during.length} requests all 503 (p50 ${percentile(ms, 50).toFixed(0)} ms, ` +
        `max ${Math.max(...ms).toFixed(0)} ms); the job finished training during the outage and its result landed ` +
        `${savedAfterMs} ms after Postgres returned, attempt 1, one model`,
    );
  });

  it('12: pool exhaustion (DB_POOL_MAX=2): excess requests get 503 within the acquire timeout, health stays responsive, no connection leaks', async () => {
    const s = await servers.space();
    await s.fixtures(4);
    const job = await s.db.trainingJob.findFirst();
    const api = await s.startApi({ DB_POOL_MAX: '2' });
    const dbName = new URL(s.databaseUrl).pathname.slice(1);
    // Count the API's connections only: the assertion client goes away, this one is named apart.
    await s.db.$disconnect();
    const watcher = await admin(dbName);
    const apiConnections = async () =>
      (
        await watcher.query(
          `SELECT state, count(*)::int AS n FROM pg_stat_activity
           WHERE datname = $1 AND application_name = 'backprop' GROUP BY state`,
          [dbName],
        )
      ).rows as { state: string; n: number }[];
    const jobId = job?.id ?? '00000000-0000-4000-8000-000000000000';
    expect((await s.fetch(api, 'GET', `/v1/jobs/${jobId}`)).status).toBeLessThan(500);
    const baseline = (await apiConnections()).reduce((a, r) => a + r.n, 0);

    // Every query on the job table now waits: two requests hold both pooled connections.
    const locker = await admin(dbName);
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE "TrainingJob" IN ACCESS EXCLUSIVE MODE');
    const burst = Array.from({ length: 30 }, () =>
      s.fetch(api, 'GET', `/v1/jobs/${jobId}`, undefined, { timeoutMs: 60_000 }),
    );
    await new Promise((r) => setTimeout(r, 500));
    const health: number[] = [];
    for (let i = 0; i < 10; i++) {
      const h = await s.fetch(api, 'GET', '/healthz');
      expect(h.status).toBe(200);
      health.push(h.ms);
      await new Promise((r) => setTimeout(r, 300));
    }
    const readyz = await s.fetch(api, 'GET', '/readyz', undefined, { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 4000));
    await locker.query('COMMIT');
    const answers = await Promise.all(burst);
    await locker.end();

    const rejected = answers.filter((a) => a.status === 503);
    const served = answers.filter((a) => a.status === 200 || a.status === 404);
    expect(rejected.length + served.length).toBe(answers.length);
    expect(rejected.length).toBeGreaterThanOrEqual(answers.length - 2 - 2);
    for (const r of rejected) {
      expectCleanError(503, r.body);
      // connectionTimeoutMillis (5 s) plus scheduling slack: waiting for the pool is bounded.
      expect(r.ms).toBeLessThan(9000);
    }
    expect(served.length).toBeGreaterThanOrEqual(1);
    // Liveness does not queue for the pool: a /healthz that did would wait its 5 s
    // (connectionTimeoutMillis); half that leaves a loaded machine room.
    expect(percentile(health, 99)).toBeLessThan(2500);
    expect(readyz.ms).toBeLessThan(4000);

    // No leaks: nothing left checked out or in a transaction; idle ones close after idleTimeout (10 s).
    const after = await eventually(
      apiConnections,
      (rows) =>
        rows.every((r) => r.state === 'idle') && rows.reduce((a, r) => a + r.n, 0) <= Math.max(baseline, 2),
      20_000,
      500,
    );
    expect((await s.fetch(api, 'GET', `/v1/jobs/${jobId}`)).status).toBeLessThan(500);
    expect(api.running).toBe(true);
    await watcher.end();
    console.log(
      `[12] pool of 2, 30 concurrent requests on a locked table: ${rejected.length} × 503 in ` +
        `${Math.min(...rejected.map((r) => r.ms)).toFixed(0)}-${Math.max(...rejected.map((r) => r.ms)).toFixed(0)} ms, ` +
        `${served.length} served after the lock; /healthz p99 ${percentile(health, 99).toFixed(0)} ms, /readyz ${readyz.status} in ` +
        `${readyz.ms.toFixed(0)} ms; API connections ${baseline} before, ${JSON.stringify(after)} after`,
    );
  });
});

describe('a frozen Postgres', () => {
  it('P14: a query on an open connection to a frozen (SIGSTOPped) server fails after statement_timeout + 2 s as "unavailable", and the pool recovers when it thaws', async () => {
    const s = await servers.space();
    const db = createDb({ databaseUrl: s.databaseUrl, poolMax: 2, statementTimeoutMillis: 2000 });
    try {
      await db.$queryRaw`SELECT 1`;
      await servers.pg.freeze();
      const started = Date.now();
      const error = await db.$queryRaw`SELECT 1`.then(
        () => null,
        (err: unknown) => err,
      );
      const failedAfterMs = Date.now() - started;
      await servers.pg.freeze(false);
      expect(error).not.toBeNull();
      expect(isDatabaseUnavailable(error)).toBe(true);
      expect(failedAfterMs).toBeGreaterThanOrEqual(3500);
      expect(failedAfterMs).toBeLessThan(10_000);
      expect(await db.$queryRaw<{ one: number }[]>`SELECT 1 AS one`).toEqual([{ one: 1 }]);
      console.log(
        `[P14] frozen Postgres: the query failed after ${failedAfterMs} ms; the pool recovered after the thaw`,
      );
    } finally {
      await servers.pg.freeze(false);
      await db.$disconnect();
    }
  });
});
