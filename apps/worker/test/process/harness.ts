/**
 * The service for process-fault tests: the API in-process on its own database and queue prefix
 * (harness/api-context.ts), workers as child processes started the way the README says
 * (../processes.ts), real Postgres and Redis. Faults here hit worker processes and their threads
 * only: the machine's Postgres and Redis are shared with parallel test files and are never
 * stopped. `close()` kills every worker the stack started.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromRows, type LayerSpec, type Matrix, Network, type TrainOptions, train } from '@backprop/nn';
import type { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { type ApiContext, createApiContext } from '../../../../harness/api-context.ts';
import { uploadPlanar } from '../../../../harness/api-fixtures.ts';
import { eventually, type LogLine, startWorker, type WorkerProcess } from '../../../../harness/processes.ts';

/** The knobs of RELIABILITY.md section 3: short locks so that recoveries take seconds. */
export const FAST = {
  WORKER_CONCURRENCY: '1',
  LOCK_DURATION_MS: '4000',
  STALLED_INTERVAL_MS: '1000',
  PROGRESS_EVERY_MS: '100',
  CHECKPOINT_EVERY_MS: '300',
  RECONCILE_EVERY_MS: '1000',
  HEALTH_LOG_EVERY_MS: '1000',
} as const;

/**
 * How soon another worker takes over a job whose worker died or froze, under FAST: the lock
 * expires, a stalled check runs, and slack for scheduling, a stalled-check pass that marks before
 * the one that moves, the fetch and the claim.
 */
export const TAKEOVER_BOUND_MS = Number(FAST.LOCK_DURATION_MS) + Number(FAST.STALLED_INTERVAL_MS) + 4000;

export type JobView = {
  id: string;
  status: string;
  progress: { iteration: number; iterations: number };
  cost: number | null;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  error: { code: string; message: string } | null;
  modelId: string | null;
  training: Record<string, unknown>;
};

export interface Stack {
  readonly ctx: ApiContext;
  readonly queue: Queue;
  readonly workers: WorkerProcess[];
  /** The planar "flower" dataset of the course (400 samples, 2 features, binary). */
  readonly planarId: string;
  spawnWorker(extra?: Record<string, string>): WorkerProcess;
  get<T = Record<string, unknown>>(url: string): Promise<{ status: number; body: T }>;
  post<T = Record<string, unknown>>(url: string, payload?: unknown): Promise<{ status: number; body: T }>;
  job(jobId: string): Promise<JobView>;
  createNetwork(hidden: number, inputSize?: number): Promise<string>;
  startJob(training: Record<string, unknown>, networkId: string, datasetId?: string): Promise<string>;
  waitForStatus(jobId: string, statuses: string[], timeoutMs?: number): Promise<JobView>;
  /**
   * The job's BullMQ entry once it is in `state`, with its attempts. A row's terminal status is
   * written before the processor returns; BullMQ moves the entry (and counts the attempt) after.
   */
  queueEntryWhen(jobId: string, state: 'completed' | 'failed'): Promise<{ attemptsMade?: number }>;
  /** SIGKILLs every worker still running (stopped ones too), so one test's leftovers never take
   * the next test's jobs. */
  killAll(): Promise<void>;
  /** Kills every worker and drops the database. */
  close(): Promise<void>;
}

export async function createStack(
  baseEnv: Record<string, string> = {},
  apiOverrides: Record<string, string> = {},
): Promise<Stack> {
  // These tests poll as a client would (every 100 ms, for minutes under load): the per-key rate
  // limit, tested with the API, is set out of their way.
  const ctx = await createApiContext({ RATE_LIMIT_MAX: '1000000', ...apiOverrides });
  const queue = ctx.app.deps.queue;
  const workers: WorkerProcess[] = [];
  const planarId = await uploadPlanar(ctx.app);

  const get = async <T>(url: string) => {
    const r = await ctx.app.inject({ method: 'GET', url });
    return { status: r.statusCode, body: r.json() as T };
  };
  const post = async <T>(url: string, payload?: unknown) => {
    const r = await ctx.app.inject({
      method: 'POST',
      url,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    return { status: r.statusCode, body: r.json() as T };
  };
  const job = async (jobId: string) => (await get<JobView>(`/v1/jobs/${jobId}`)).body;
  const killAll = async () => {
    for (const w of workers) w.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
  };

  return {
    ctx,
    queue,
    workers,
    planarId,
    spawnWorker(extra = {}) {
      const w = startWorker({
        DATABASE_URL: ctx.database.url,
        QUEUE_PREFIX: ctx.prefix,
        ...FAST,
        ...baseEnv,
        ...extra,
      });
      workers.push(w);
      return w;
    },
    get,
    post,
    job,
    async createNetwork(hidden, inputSize = 2) {
      const r = await post<{ id: string }>('/v1/networks', networkBody(hidden, inputSize));
      expect(r.status).toBe(201);
      return r.body.id;
    },
    async startJob(training, networkId, datasetId = planarId) {
      const r = await post<{ id: string }>('/v1/jobs', { datasetId, networkId, training });
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      return r.body.id;
    },
    waitForStatus(jobId, statuses, timeoutMs = 90_000) {
      return eventually(
        () => job(jobId),
        (j) => statuses.includes(j.status),
        timeoutMs,
      );
    },
    queueEntryWhen(jobId, state) {
      return eventually(
        async () => {
          const entry = await queue.getJob(jobId);
          return { state: await entry?.getState(), attemptsMade: entry?.attemptsMade };
        },
        (e) => e.state === state,
        10_000,
      );
    },
    killAll,
    async close() {
      await killAll();
      await ctx.close();
    },
  };
}

/** The tests' networks: `hidden` tanh units, then one sigmoid output. */
export function tanhSigmoidLayers(hidden: number): LayerSpec[] {
  return [
    { units: hidden, activation: 'tanh' },
    { units: 1, activation: 'sigmoid' },
  ];
}

/**
 * The body of POST /v1/networks for such a network. Random init: a job's network is then
 * seeded by its training seed, as nn's `Network.create({ init: 'random', seed })` is.
 */
export function networkBody(hidden: number, inputSize = 2) {
  return { inputSize, layers: tanhSigmoidLayers(hidden), init: 'random' };
}

/** The network a job on `networkBody(hidden)` starts from when its training seed is `seed`. */
export function planarNetwork(hidden: number, seed: number): Network {
  return Network.create({ inputSize: 2, layers: tanhSigmoidLayers(hidden), init: 'random', seed });
}

/**
 * The job trained as nn trains in this process, never interrupted, on the planar data: the same
 * cost history and weights, bit for bit. `options` are the job's training options but
 * `normalize: 'none'` (nn trains on the raw data, as that job does); the network is
 * `networkBody(hidden)`.
 */
export async function expectTrainedAsNn(
  stack: Stack,
  job: JobView,
  hidden: number,
  options: TrainOptions & { readonly seed: number },
): Promise<void> {
  const { X, Y } = planarMatrices();
  const net = planarNetwork(hidden, options.seed);
  const direct = train(net, X, Y, options);
  expect((await stack.get<{ costs: number[] }>(`/v1/jobs/${job.id}/costs`)).body.costs).toEqual(direct.costs);
  expect((await stack.get(`/v1/models/${job.modelId}/parameters`)).body).toEqual(net.parameters());
}

/**
 * The worker among `candidates` whose log shows it starting the job (its attempt `attempt`, when
 * given).
 */
export async function holderOf(jobId: string, candidates: WorkerProcess[], attempt?: number) {
  const starts = (l: LogLine) =>
    jobLine(jobId, 'training starts')(l) && (attempt === undefined || l['attempt'] === attempt);
  const holder = await eventually(
    async () => candidates.find((w) => w.lines.some(starts)),
    (w) => w !== undefined,
    60_000,
  );
  if (!holder) throw new Error(`no worker started job ${jobId}`);
  return holder;
}

/** The planar data as nn matrices: X (2, 400), Y (1, 400). */
export function planarMatrices(): { X: Matrix; Y: Matrix; rows: number[][] } {
  const rows = readFileSync(new URL('../../../../data/planar_flower.csv', import.meta.url), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(',').map(Number));
  return { X: fromRows(rows.map((r) => r.slice(1))), Y: fromRows(rows.map((r) => [r[0]!])), rows };
}

/** A line of this job's worker log with this message. */
export const jobLine =
  (jobId: string, msg: string) =>
  (l: LogLine): boolean =>
    l.jobId === jobId && l.msg === msg;

/** The scheduler state of a process: 'T' when stopped (SIGSTOP), 'R'/'S' when running. */
export function processState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name is in parentheses and may hold spaces: the state follows the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

/** Resolves once the process is stopped (SIGSTOP delivered), or rejects after timeoutMs. */
export function waitUntilStopped(pid: number, timeoutMs = 30_000): Promise<string> {
  return eventually(
    async () => processState(pid),
    (s) => s === 'T',
    timeoutMs,
    20,
  );
}

/**
 * The usual life of a test file's stack: created before its tests (createStack's `workerEnv` and
 * `apiEnv`; handed to `created`), every worker killed after each test so that one test's leftovers
 * never take the next one's jobs, and after the last test the file's report written and the
 * stack closed. Returns the report.
 */
export function useStack(
  file: string,
  created: (stack: Stack) => void,
  env: { workerEnv?: Record<string, string>; apiEnv?: Record<string, string> } = {},
): Report {
  let stack: Stack | undefined;
  const report = createReport(file);
  beforeAll(async () => {
    stack = await createStack(env.workerEnv, env.apiEnv);
    created(stack);
  });
  afterEach(async () => {
    await stack?.killAll();
  });
  afterAll(async () => {
    report.flush();
    await stack?.close();
  });
  return report;
}

export interface Report {
  record(key: string, value: unknown): void;
  flush(): void;
}

/**
 * Measured numbers for docs/reliability/process-faults.md. Collected per test file and merged into
 * one JSON file (PROCESS_FAULTS_REPORT, default in the temp directory), so a run leaves its figures
 * behind without printing from the tests.
 */
export function createReport(file: string): Report {
  const values: Record<string, unknown> = {};
  const path = process.env['PROCESS_FAULTS_REPORT'] ?? join(tmpdir(), 'backprop-process-faults.json');
  return {
    record(key, value) {
      values[key] = value;
    },
    flush() {
      let all: Record<string, unknown> = {};
      try {
        all = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
      } catch {
        // First file of the run, or an unreadable leftover: start afresh.
      }
      all[file] = { ...values, at: new Date().toISOString() };
      writeFileSync(path, `${JSON.stringify(all, null, 2)}\n`);
    },
  };
}
