/**
 * The whole service on private servers: a `Space` is one database and one queue prefix on a
 * private Postgres and Redis (services.ts), with a tenant and its API key, and the API and worker
 * processes started against them. Fault tests stop, kill and fill those servers without touching
 * the machine's shared ones. `close()` ends every process the space started.
 */
import { randomBytes } from 'node:crypto';
import { createApiKey, createDb, createTenant, type Db, migrate } from '@backprop/db';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { createApi } from '../apps/api/src/api.ts';
import { loadApiEnv } from '../apps/api/src/env.ts';
import { uploadPlanar } from './api-fixtures.ts';
import { type ServiceProcess, startService } from './processes.ts';
import { freePort, PrivatePostgres, PrivateRedis, type PrivateRedisOptions, waitUntil } from './services.ts';

/** An API process listening on a free loopback port. */
export interface ApiProcess extends ServiceProcess {
  readonly url: string;
}

/** Knobs that make faults show up within seconds instead of minutes (the defaults suit production). */
export const FAST_WORKER_ENV: Record<string, string> = {
  WORKER_CONCURRENCY: '1',
  LOCK_DURATION_MS: '4000',
  STALLED_INTERVAL_MS: '1000',
  PROGRESS_EVERY_MS: '100',
  CHECKPOINT_EVERY_MS: '300',
  LEASE_MS: '10000',
  RECONCILE_EVERY_MS: '1000',
  RECONCILE_QUEUED_AFTER_MS: '3000',
  HEARTBEAT_EVERY_MS: '1000',
  SHUTDOWN_TIMEOUT_MS: '10000',
};

export interface InProcessApi {
  app: FastifyInstance;
  /** inject with the space's API key */
  inject(options: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export class Space {
  readonly processes: ServiceProcess[] = [];
  private readonly apps: InProcessApi[] = [];

  private constructor(
    readonly pg: PrivatePostgres,
    readonly redis: PrivateRedis,
    readonly databaseUrl: string,
    readonly prefix: string,
    /** for assertions and fault injection; a small pool of its own */
    readonly db: Db,
    readonly tenantId: string,
    readonly apiKey: string,
  ) {}

  /** A new database (migrated) and queue prefix on the given servers, with a tenant and key. */
  static async create(pg: PrivatePostgres, redis: PrivateRedis): Promise<Space> {
    const suffix = randomBytes(5).toString('hex');
    const databaseUrl = pg.url(`bp_infra_${suffix}`);
    await migrate(databaseUrl);
    const db = createDb({ databaseUrl, poolMax: 3, connectionTimeoutMillis: 3000 });
    const tenant = await createTenant(db, { name: `infra-${suffix}` });
    const { key } = await createApiKey(db, { tenantId: tenant.id, name: 'infra test key' });
    return new Space(pg, redis, databaseUrl, `bp-infra-${suffix}`, db, tenant.id, key);
  }

  /** The environment both services read: this space's database, Redis and prefix. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      DATABASE_URL: this.databaseUrl,
      REDIS_URL: this.redis.url,
      QUEUE_PREFIX: this.prefix,
      JOB_ATTEMPTS: '3',
      // These tests are about faults, not quotas: submit bursts must not meet the tenant limits.
      LIMIT_TENANT_ACTIVE_JOBS: '100000',
      RATE_LIMIT_MAX: '1000000',
      ...extra,
    };
  }

  startWorker(extra: Record<string, string> = {}): ServiceProcess {
    const worker = startService(
      `worker${this.processes.length}`,
      'start:worker',
      this.env({ LOG_LEVEL: 'debug', ...FAST_WORKER_ENV, ...extra }),
    );
    this.processes.push(worker);
    return worker;
  }

  /** The API as its own process (`npm run start:api`) on a free port; resolves once it answers. */
  async startApi(extra: Record<string, string> = {}, port?: number): Promise<ApiProcess> {
    port ??= await freePort();
    const service = startService(
      `api${this.processes.length}`,
      'start:api',
      this.env({ HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'info', ...extra }),
    );
    this.processes.push(service);
    const url = `http://127.0.0.1:${port}`;
    // Polled rather than read from the log, so any LOG_LEVEL works; an early exit ends the wait.
    await Promise.race([
      waitUntil(
        `${service.name} answers /healthz`,
        async () => {
          const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
          return res.status === 200;
        },
        60_000,
        200,
      ),
      service.exited.then((e) => {
        throw new Error(`the API exited (${e.signal ?? e.code}) before listening`);
      }),
    ]).catch((err: Error) => {
      throw new Error(`${err.message}\n${service.stderr()}`);
    });
    return Object.assign(service, { url });
  }

  /** The API built in-process (Fastify inject: real parsing, no sockets) against this space. */
  async inProcessApi(extra: Record<string, string> = {}): Promise<InProcessApi> {
    const env = loadApiEnv({ ...process.env, LOG_LEVEL: 'silent', ...this.env(extra) });
    const app = await createApi(env);
    await waitUntil('the API queue connection is ready', () => app.deps.redis.status === 'ready', 30_000);
    const headers = { authorization: `Bearer ${this.apiKey}` };
    const api: InProcessApi = {
      app,
      // light-my-request sends a request only when its chain is awaited: start it now, so a
      // test can fire a request and do something else while it is in flight.
      inject: (options) =>
        Promise.resolve(app.inject({ ...options, headers: { ...headers, ...options.headers } })),
      close: () => app.close(),
    };
    this.apps.push(api);
    return api;
  }

  /** The fixtures (createFixtures) made through an in-process API that is closed afterwards. */
  async fixtures(hidden?: number): Promise<{ datasetId: string; networkId: string }> {
    const setup = await this.inProcessApi();
    try {
      return await createFixtures(setup, hidden);
    } finally {
      await setup.close();
    }
  }

  /** HTTP to a listening API with this space's key, bounded by timeoutMs. */
  async fetch(
    api: { url: string },
    method: string,
    path: string,
    body?: unknown,
    options: { headers?: Record<string, string>; timeoutMs?: number } = {},
  ): Promise<{ status: number; body: unknown; ms: number }> {
    const started = performance.now();
    const res = await fetch(`${api.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.apiKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed, ms: performance.now() - started };
  }

  /** Ends every process of this space (SIGKILL) and in-process API, and the assertion client. */
  async close(): Promise<void> {
    await Promise.allSettled(this.processes.map((p) => p.killHard()));
    await Promise.allSettled(this.apps.map((a) => a.close()));
    await this.db.$disconnect().catch(() => undefined);
  }
}

/** Servers for one test file: private Postgres and Redis. */
export async function startServers(
  redisOptions: PrivateRedisOptions = {},
): Promise<{ pg: PrivatePostgres; redis: PrivateRedis }> {
  const [pg, redis] = await Promise.all([PrivatePostgres.start(), PrivateRedis.start(redisOptions)]);
  return { pg, redis };
}

/** The whole service as its own processes, as `npm start` runs it, on private servers of its own. */
export interface PrivateService {
  readonly space: Space;
  readonly api: ApiProcess;
  readonly worker: ServiceProcess;
  /** Ends the processes, then the servers. */
  close(): Promise<void>;
}

/**
 * Private servers, a space on them, its API and one worker, resolved once the worker logs
 * 'worker ready' (so `workerEnv` needs LOG_LEVEL info or lower). A failure on the way ends what
 * was started.
 */
export async function startPrivateService(
  env: { api?: Record<string, string>; worker?: Record<string, string> },
  readyWithinMs: number,
): Promise<PrivateService> {
  const { pg, redis } = await startServers();
  let space: Space | undefined;
  const close = async () => {
    await space?.close();
    await Promise.allSettled([pg.destroy(), redis.destroy()]);
  };
  try {
    space = await Space.create(pg, redis);
    const api = await space.startApi(env.api);
    const worker = space.startWorker(env.worker);
    await worker.waitForLog((line) => line.msg === 'worker ready', readyWithinMs);
    return { space, api, worker, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The planar dataset and a 2-hidden-1 network, through the API; returns their ids. */
export async function createFixtures(
  api: InProcessApi,
  hidden = 16,
): Promise<{ datasetId: string; networkId: string }> {
  const datasetId = await uploadPlanar(api);
  const network = await api.inject({
    method: 'POST',
    url: '/v1/networks',
    payload: {
      inputSize: 2,
      layers: [
        { units: hidden, activation: 'tanh' },
        { units: 1, activation: 'sigmoid' },
      ],
    },
  });
  if (network.statusCode !== 201) throw new Error(`network: ${network.statusCode} ${network.body}`);
  return { datasetId, networkId: network.json().id };
}

export interface SubmitResult {
  key: string;
  status: number;
  ms: number;
  /** when the answer came (Date.now()) */
  at: number;
  jobId?: string;
  code?: string;
}

/**
 * A client that submits a job every `everyMs` with an Idempotency-Key and, like a careful client,
 * retries the same key after any error until it is accepted (202). Every answer is recorded.
 */
export class Submitter {
  readonly results: SubmitResult[] = [];
  /** key → job id of the accepted ones */
  readonly accepted = new Map<string, string>();
  private stopped = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly send: (key: string) => Promise<{ status: number; body: unknown }>,
    private readonly everyMs: number,
    private readonly keyPrefix: string,
  ) {}

  start(): this {
    this.loop = (async () => {
      let n = 0;
      let key = `${this.keyPrefix}-${n}`;
      while (!this.stopped) {
        const started = performance.now();
        let result: SubmitResult;
        try {
          const res = await this.send(key);
          const body = res.body as { id?: string; code?: string };
          result = { key, status: res.status, ms: performance.now() - started, at: Date.now() };
          if (res.status === 202 && body.id) result.jobId = body.id;
          if (body.code) result.code = body.code;
        } catch (err) {
          result = {
            key,
            status: 0,
            ms: performance.now() - started,
            at: Date.now(),
            code: (err as Error).name,
          };
        }
        this.results.push(result);
        if (result.jobId) {
          this.accepted.set(key, result.jobId);
          key = `${this.keyPrefix}-${++n}`;
        }
        await new Promise((r) => setTimeout(r, this.everyMs));
      }
    })();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}
