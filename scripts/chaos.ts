/**
 * `npm run chaos -- --rounds N --seed S [--jobs K]`: a bounded, seeded chaos run (RELIABILITY.md
 * scenario 25). On a PRIVATE Postgres and Redis (never the machine's shared ones) it runs the API
 * and two workers, and while a client submits K jobs with idempotency keys (retrying on every
 * error), each round kill -9s one of {API, worker, Redis, Postgres} and restarts it 1-5 s later.
 * After a quiet period it checks in SQL that:
 *
 *   - every idempotency key maps to at most one job, and to the job the client was told;
 *   - every accepted job reached exactly one terminal state;
 *   - #models = #succeeded jobs (one model per succeeded job, none for the others);
 *   - no job is running without a live lease.
 *
 * It exits 1 on a violation (or if the run does not settle in time), 0 otherwise, and prints the
 * schedule so a failing seed can be replayed. Everything it started is stopped on the way out.
 */

import { parseCommandLine, usageError } from '@backprop/db/cli';
import { Rng } from '@backprop/nn';
import { checkInvariants } from '../harness/checks.ts';
import type { ServiceProcess } from '../harness/processes.ts';
import { freePort, type PrivatePostgres, type PrivateRedis } from '../harness/services.ts';
import { type ApiProcess, createFixtures, Space, startServers } from '../harness/stack.ts';

const USAGE = `usage: npm run chaos -- [--rounds N] [--seed S] [--jobs K] [--settle-ms MS]

A bounded, seeded chaos run on a private Postgres and Redis (started and removed by the run; the
machine's own are never touched): the API and two workers serve a client that submits K jobs
with idempotency keys while each round kill -9s one of API, worker, Redis or Postgres and
restarts it 1-5 s later. Then it checks the invariants in SQL and exits 0 (all hold) or 1.

options:
  --rounds N       fault rounds (default 10)
  --seed S         seeds the schedule; a failing run prints it for replay (default: from the clock)
  --jobs K         jobs the client submits (default 20)
  --settle-ms MS   how long accepted jobs get to finish after the faults (default 180000)
  -h, --help       this help`;

const { values, positionals } = parseCommandLine(USAGE, {
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '10' },
    seed: { type: 'string', default: String(Date.now() % 100_000) },
    jobs: { type: 'string', default: '20' },
    'settle-ms': { type: 'string', default: '180000' },
  },
});
if (positionals.length > 0) usageError(USAGE, `unexpected argument ${positionals[0]}`);
/** A non-negative integer option, or a usage error naming it. */
const count = (name: 'rounds' | 'seed' | 'jobs' | 'settle-ms'): number => {
  const text = values[name];
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
    usageError(USAGE, `--${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
  }
  return value;
};
const rounds = count('rounds');
const seed = count('seed');
const jobCount = count('jobs');
const settleMs = count('settle-ms');

// nn's seeded generator (the one training uses), so a seed replays the same schedule.
const rng = new Rng(seed);
const random = () => rng.uniform();
const between = (lo: number, hi: number) => Math.round(lo + random() * (hi - lo));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const started = Date.now();
const log = (event: string, data: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ t: Date.now() - started, event, ...data })}\n`);

type Victim = 'api' | 'worker' | 'redis' | 'postgres';
const VICTIMS: Victim[] = ['api', 'worker', 'redis', 'postgres'];

let pg: PrivatePostgres | undefined;
let redis: PrivateRedis | undefined;
let space: Space | undefined;

async function cleanup(): Promise<void> {
  await space?.close().catch(() => undefined);
  await Promise.allSettled([pg?.destroy(), redis?.destroy()]);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void cleanup().finally(() => process.exit(130));
  });
}

async function main(): Promise<number> {
  log('start', { rounds, seed, jobs: jobCount });
  ({ pg, redis } = await startServers());
  space = await Space.create(pg, redis);
  const s = space;
  const setup = await s.inProcessApi();
  const { datasetId, networkId } = await createFixtures(setup, 8);
  await setup.close();

  const apiPort = await freePort();
  let api: ApiProcess = await s.startApi({ LOG_LEVEL: 'warn' }, apiPort);
  const workers: ServiceProcess[] = [
    s.startWorker({ LOG_LEVEL: 'info' }),
    s.startWorker({ LOG_LEVEL: 'info' }),
  ];

  // The client: one key after another, each retried on any error until it is accepted.
  const accepted = new Map<string, string>(); // key → job id as the client was told
  const answers: Record<string, number> = {};
  let clientDone = false;
  const clientDeadline = Date.now() + rounds * 8_000 + 120_000;
  const client = (async () => {
    const spacing = Math.max(200, Math.floor((rounds * 5_000) / Math.max(1, jobCount)));
    for (let i = 0; i < jobCount; i++) {
      const key = `chaos-${seed}-${i}`;
      const body = {
        datasetId,
        networkId,
        training: { learningRate: 1, iterations: 2000 + 500 * (i % 4), seed: i },
      };
      for (let attempt = 0; Date.now() < clientDeadline; attempt++) {
        const res = await s
          .fetch({ url: `http://127.0.0.1:${apiPort}` }, 'POST', '/v1/jobs', body, {
            headers: { 'idempotency-key': key },
            timeoutMs: 10_000,
          })
          .catch((err: Error) => ({ status: 0, body: err.name, ms: 0 }));
        answers[res.status] = (answers[res.status] ?? 0) + 1;
        const id = (res.body as { id?: string }).id;
        if (res.status === 202 && id) {
          const before = accepted.get(key);
          if (before && before !== id) log('violation', { key, before, now: id });
          accepted.set(key, id);
          break;
        }
        await sleep(Math.min(250 * 2 ** Math.min(attempt, 4), 3000));
      }
      await sleep(spacing);
    }
    clientDone = true;
  })();

  const schedule: { round: number; victim: Victim; downMs: number }[] = [];
  for (let round = 1; round <= rounds; round++) {
    await sleep(between(1000, 3000));
    const victim = VICTIMS[Math.floor(random() * VICTIMS.length)]!;
    const downMs = between(1000, 5000);
    schedule.push({ round, victim, downMs });
    log('kill', { round, victim, downMs });
    switch (victim) {
      case 'api':
        await api.killHard();
        await sleep(downMs);
        api = await s.startApi({ LOG_LEVEL: 'warn' }, apiPort);
        break;
      case 'worker': {
        const index = Math.floor(random() * workers.length);
        await workers[index]!.killHard();
        await sleep(downMs);
        workers[index] = s.startWorker({ LOG_LEVEL: 'info' });
        break;
      }
      case 'redis':
        await redis.kill();
        await sleep(downMs);
        await redis.start();
        break;
      case 'postgres':
        await pg.kill();
        await sleep(downMs);
        await pg.start();
        break;
    }
    log('restarted', { round, victim });
  }
  log('faults over; waiting for the client and a quiet period');
  await client;

  // Quiet period: every accepted job must settle.
  const ids = [...accepted.values()];
  const settleDeadline = Date.now() + settleMs;
  let live = ids.length;
  while (Date.now() < settleDeadline) {
    live = await s.db.trainingJob
      .count({ where: { id: { in: ids }, status: { in: ['queued', 'running'] } } })
      .catch(() => -1);
    if (live === 0) break;
    await sleep(1000);
  }

  const violations = await checkInvariants(s.db, { allTerminal: true });
  if (!clientDone || accepted.size !== jobCount)
    violations.push(`the client got ${accepted.size} of ${jobCount} jobs accepted before its deadline`);
  for (const [key, id] of accepted) {
    const rows = await s.db.trainingJob.findMany({ where: { idempotencyKey: key }, select: { id: true } });
    if (rows.length !== 1 || rows[0]!.id !== id)
      violations.push(`key ${key}: the client was told ${id}, the database has ${JSON.stringify(rows)}`);
  }
  const byStatus = await s.db.trainingJob.groupBy({ by: ['status'], _count: true });
  const models = await s.db.model.count();
  const crashed = [api, ...workers].filter((p) => !p.running).map((p) => p.name);
  if (crashed.length > 0) violations.push(`processes that died on their own: ${crashed.join(', ')}`);
  const summary = {
    seed,
    rounds,
    schedule,
    accepted: accepted.size,
    answers,
    statuses: Object.fromEntries(byStatus.map((b) => [b.status, b._count])),
    models,
    seconds: Math.round((Date.now() - started) / 1000),
    violations,
  };
  log('summary', summary);
  return violations.length === 0 ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  log('error', { message: (err as Error).stack ?? String(err) });
} finally {
  await cleanup();
}
process.exit(code);
