/**
 * RELIABILITY.md scenario 18, tenant isolation (OWASP API1, BOLA), proved with a model: random
 * sequences of operations by two tenants (create, get, list, delete, cancel, predict, usage, and
 * jobs completed by a "worker" through the db package), with ids drawn from both tenants' rows
 * and from ids that never existed. Every response must be what a model of ownership predicts:
 * a tenant sees and touches only its own rows, and another tenant's id is a 404 exactly like a
 * missing one (same status, code and message but for the id). Fixed seed, bounded runs.
 */
import { randomUUID } from 'node:crypto';
import { claimJob, storedModelBytes } from '@backprop/db';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, assert, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext, XOR_DATASET } from '../../../harness/api-context.ts';
import { completeClaimed } from './by-hand.ts';
import { expectError, SMALL_NETWORK } from './support.ts';

const SEED = 20261126;
const RUNS = 50;
const MAX_COMMANDS = 30;
const ACTIVE_JOBS = 2;

let ctx: ApiContext;
beforeAll(async () => {
  ctx = await createApiContext({ LIMIT_TENANT_ACTIVE_JOBS: String(ACTIVE_JOBS), RATE_LIMIT_MAX: '1000000' });
});
afterAll(async () => ctx?.close());

type Tenant = 0 | 1;
type Kind = 'dataset' | 'network' | 'job' | 'model';
type Status = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

const PARAMETERS = 2 * 3 + 3 + 3 + 1;
/** A model's stored bytes: nn's binary network format (header, layer table, float64 values). */
const MODEL_BYTES = storedModelBytes(SMALL_NETWORK.layers.length, PARAMETERS);
const NOT_FOUND: Record<Kind, string> = {
  dataset: 'BP_ERR_DATASET_NOT_FOUND',
  network: 'BP_ERR_NETWORK_NOT_FOUND',
  job: 'BP_ERR_JOB_NOT_FOUND',
  model: 'BP_ERR_MODEL_NOT_FOUND',
};

/** What the service should hold: every id ever handed out, its owner, and the jobs' states. */
class World {
  readonly ids: Record<Kind, string[]> = { dataset: [], network: [], job: [], model: [] };
  readonly owner = new Map<string, Tenant>();
  readonly deleted = new Set<string>();
  /** datasets deleted while finished jobs referred to them: values gone, row kept (deletedAt) */
  readonly emptied = new Set<string>();
  readonly status = new Map<string, Status>();
  readonly jobDataset = new Map<string, string>();
  readonly jobModel = new Map<string, string>();
  /** ids that never existed, one per kind, so pools always hold a "missing" candidate */
  readonly missing: Record<Kind, string> = {
    dataset: randomUUID(),
    network: randomUUID(),
    job: randomUUID(),
    model: randomUUID(),
  };

  add(kind: Kind, id: string, tenant: Tenant) {
    this.ids[kind].push(id);
    this.owner.set(id, tenant);
  }
  /**
   * The id a pick designates. Half the picks take one of the acting tenant's live rows (so that
   * valid requests happen), four in ten any row of either tenant, deleted ones included, and one
   * in ten an id that never existed. Without an acting tenant (the worker), any row.
   */
  pick(kind: Kind, pick: number, tenant?: Tenant): string {
    const mode = pick % 10;
    const n = Math.floor(pick / 10);
    const own = tenant === undefined ? [] : this.owned(tenant, kind);
    if (mode < 5 && own.length > 0) return own[n % own.length]!;
    if (mode < 9 && this.ids[kind].length > 0) return this.ids[kind][n % this.ids[kind].length]!;
    return this.missing[kind];
  }
  owns(tenant: Tenant, id: string): boolean {
    return this.owner.get(id) === tenant && !this.deleted.has(id);
  }
  owned(tenant: Tenant, kind: Kind): string[] {
    return this.ids[kind].filter((id) => this.owns(tenant, id));
  }
  /** What lists and usage show: owned rows, deleted-but-kept datasets left out. */
  listed(tenant: Tenant, kind: Kind): string[] {
    return this.owned(tenant, kind).filter((id) => !this.emptied.has(id));
  }
  active(tenant: Tenant): number {
    return this.owned(tenant, 'job').filter((id) => ['queued', 'running'].includes(this.status.get(id)!))
      .length;
  }
}

interface Real {
  keys: [string, string];
}

type Method = 'GET' | 'POST' | 'DELETE';

const call = (real: Real, tenant: Tenant, method: Method, url: string, payload?: unknown) =>
  ctx.anonymous({
    method,
    url,
    headers: { authorization: `Bearer ${real.keys[tenant]}` },
    ...(payload === undefined ? {} : { payload: payload as object }),
  });

const path: Record<Kind, string> = { dataset: 'datasets', network: 'networks', job: 'jobs', model: 'models' };

/** A request on one row: what the outcomes count it as, the row's kind, and how it is sent. */
interface RowRequest {
  /** get, delete, cancel, predict */
  action: string;
  kind: Kind;
  method: Method;
  /** the path after the row's own: '' or e.g. /cancel */
  suffix: string;
  payload?: unknown;
}

/**
 * A 404 for someone else's row must be indistinguishable from the 404 for a row that never
 * existed: same status and code, and the same message once the id itself is blanked out.
 */
async function expectSameAsMissing(
  real: Real,
  tenant: Tenant,
  res: LightMyRequestResponse,
  { kind, method, suffix, payload }: RowRequest,
  id: string,
) {
  const body = expectError(res, 404, NOT_FOUND[kind], `${method} ${kind} ${id}${suffix}`);
  const fresh = randomUUID();
  const missing = await call(real, tenant, method, `/v1/${path[kind]}/${fresh}${suffix}`, payload);
  expect(missing.statusCode).toBe(404);
  expect(JSON.stringify(body).replaceAll(id, '<id>')).toBe(missing.body.replaceAll(fresh, '<id>'));
}

/** How often each interesting outcome happened, to show the runs were not vacuous. */
const outcomes = new Map<string, number>();
function saw(outcome: string) {
  outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
}
/** "own", "foreign" (the other tenant's), "gone" (deleted) or "missing" (never existed). */
function relation(m: World, tenant: Tenant, id: string): string {
  if (!m.owner.has(id)) return 'missing';
  if (m.deleted.has(id)) return 'gone';
  return m.owner.get(id) === tenant ? 'own' : 'foreign';
}

type Cmd = fc.AsyncCommand<World, Real>;
const always = () => true;

const CREATED = { dataset: XOR_DATASET, network: SMALL_NETWORK };

class Create implements Cmd {
  constructor(
    readonly tenant: Tenant,
    readonly kind: keyof typeof CREATED,
  ) {}
  check = always;
  async run(m: World, r: Real) {
    const res = await call(r, this.tenant, 'POST', `/v1/${path[this.kind]}`, CREATED[this.kind]);
    expect(res.statusCode, res.body).toBe(201);
    m.add(this.kind, res.json().id, this.tenant);
  }
  toString = () => `Create(${this.tenant}, ${this.kind})`;
}

class CreateJob implements Cmd {
  constructor(
    readonly tenant: Tenant,
    readonly datasetPick: number,
    readonly networkPick: number,
  ) {}
  check = always;
  async run(m: World, r: Real) {
    const datasetId = m.pick('dataset', this.datasetPick, this.tenant);
    const networkId = m.pick('network', this.networkPick, this.tenant);
    saw(`job:dataset-${relation(m, this.tenant, datasetId)}`);
    saw(`job:network-${relation(m, this.tenant, networkId)}`);
    const res = await call(r, this.tenant, 'POST', '/v1/jobs', {
      datasetId,
      networkId,
      training: { learningRate: 0.5, iterations: 3 },
    });
    if (!m.owns(this.tenant, datasetId)) {
      expect(expectError(res, 404, 'BP_ERR_DATASET_NOT_FOUND').message).toContain(datasetId);
    } else if (!m.owns(this.tenant, networkId)) {
      expect(expectError(res, 404, 'BP_ERR_NETWORK_NOT_FOUND').message).toContain(networkId);
    } else if (m.emptied.has(datasetId)) {
      expect(expectError(res, 409, 'BP_ERR_DATASET_DELETED').message).toContain(datasetId);
      saw('job:dataset-emptied');
    } else if (m.active(this.tenant) >= ACTIVE_JOBS) {
      expectError(res, 429, 'BP_ERR_TOO_MANY_ACTIVE_JOBS');
      saw('job:429');
    } else {
      expect(res.statusCode, res.body).toBe(202);
      const job = res.json();
      expect(job).toMatchObject({ status: 'queued', datasetId, networkId });
      m.add('job', job.id, this.tenant);
      m.status.set(job.id, 'queued');
      m.jobDataset.set(job.id, datasetId);
    }
  }
  toString = () => `CreateJob(${this.tenant}, d${this.datasetPick}, n${this.networkPick})`;
}

/** A worker takes a job (running) and, if `finish`, completes it with a model. Not a tenant's call. */
class WorkOnJob implements Cmd {
  constructor(
    readonly jobPick: number,
    readonly finish: boolean,
  ) {}
  check = always;
  async run(m: World, _r: Real) {
    const jobId = m.pick('job', this.jobPick);
    const status = m.status.get(jobId);
    const claimed = await claimJob(ctx.database.db, { jobId, workerId: 'model-test', leaseMs: 60_000 });
    if (status !== 'queued' && status !== 'running') {
      expect(claimed).toBeNull(); // terminal or missing: nothing to do
      return;
    }
    assert.isNotNull(claimed);
    m.status.set(jobId, 'running');
    if (!this.finish) return;
    const modelId = await completeClaimed(ctx.database.db, claimed, { ...SMALL_NETWORK, parameters: 0.1 });
    m.status.set(jobId, 'succeeded');
    m.add('model', modelId, m.owner.get(jobId)!);
    m.jobModel.set(jobId, modelId);
  }
  toString = () => `WorkOnJob(j${this.jobPick}, ${this.finish ? 'complete' : 'claim'})`;
}

const READS: Record<Kind, string[]> = {
  dataset: [''],
  network: [''],
  job: ['', '/costs'],
  model: ['', '/parameters'],
};

/**
 * A tenant's request on one picked row (its own, another tenant's, a deleted or a missing one):
 * on a row it does not own the answer must be the one for a missing row; on its own row,
 * `expectOwned` checks the answer against the model.
 */
abstract class OnPickedRow implements Cmd {
  abstract readonly request: RowRequest;
  constructor(
    readonly tenant: Tenant,
    readonly pick: number,
  ) {}
  check = always;
  async run(m: World, r: Real) {
    const { action, kind, method, suffix, payload } = this.request;
    const id = m.pick(kind, this.pick, this.tenant);
    saw(`${action}:${relation(m, this.tenant, id)}`);
    const res = await call(r, this.tenant, method, `/v1/${path[kind]}/${id}${suffix}`, payload);
    if (!m.owns(this.tenant, id)) return expectSameAsMissing(r, this.tenant, res, this.request, id);
    this.expectOwned(m, id, res);
  }
  abstract expectOwned(m: World, id: string, res: LightMyRequestResponse): void;
  toString = () => `${this.constructor.name}(${this.tenant}, ${this.pick})`;
}

class Get extends OnPickedRow {
  readonly request: RowRequest;
  constructor(
    tenant: Tenant,
    readonly kind: Kind,
    pick: number,
    readonly variant: number,
  ) {
    super(tenant, pick);
    const suffix = READS[kind][variant % READS[kind].length]!;
    this.request = { action: 'get', kind, method: 'GET', suffix };
  }
  expectOwned(m: World, id: string, res: LightMyRequestResponse) {
    const whole = this.request.suffix === '';
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    if (whole) expect(body.id).toBe(id);
    if (this.kind === 'dataset') expect(body.deletedAt !== null).toBe(m.emptied.has(id));
    if (this.kind === 'job' && whole) {
      expect(body.status).toBe(m.status.get(id));
      expect(body.modelId).toBe(m.jobModel.get(id) ?? null);
    }
  }
  override toString = () => `Get(${this.tenant}, ${this.kind}, ${this.pick}, ${this.variant})`;
}

class List implements Cmd {
  constructor(
    readonly tenant: Tenant,
    readonly kind: 'dataset' | 'network' | 'job',
  ) {}
  check = always;
  async run(m: World, r: Real) {
    const res = await call(r, this.tenant, 'GET', `/v1/${path[this.kind]}?limit=100`);
    expect(res.statusCode).toBe(200);
    if (m.owned(this.tenant === 0 ? 1 : 0, this.kind).length > 0) saw('list:with-foreign-rows');
    const listed = (res.json().items as { id: string }[]).map((i) => i.id).sort();
    expect(listed).toEqual(m.listed(this.tenant, this.kind).sort());
    if (this.kind === 'job') {
      const queued = await call(r, this.tenant, 'GET', '/v1/jobs?status=queued&limit=100');
      const expected = m.owned(this.tenant, 'job').filter((id) => m.status.get(id) === 'queued');
      expect((queued.json().items as { id: string }[]).map((i) => i.id).sort()).toEqual(expected.sort());
    }
  }
  toString = () => `List(${this.tenant}, ${this.kind})`;
}

class DeleteDataset extends OnPickedRow {
  readonly request: RowRequest = { action: 'delete', kind: 'dataset', method: 'DELETE', suffix: '' };
  expectOwned(m: World, id: string, res: LightMyRequestResponse) {
    const jobs = [...m.jobDataset].filter(([, d]) => d === id).map(([j]) => m.status.get(j)!);
    if (jobs.length === 0) {
      expect(res.statusCode, res.body).toBe(204);
      m.deleted.add(id);
      return;
    }
    if (jobs.some((s) => s === 'queued' || s === 'running')) {
      expect(expectError(res, 409, 'BP_ERR_DATASET_IN_USE').details).toEqual({ reason: 'in_use' });
      return;
    }
    // Only finished jobs refer to it: its values go, its row stays (again: no change).
    expect(res.statusCode, res.body).toBe(204);
    saw(m.emptied.has(id) ? 'delete:emptied-again' : 'delete:emptied');
    m.emptied.add(id);
  }
}

class Cancel extends OnPickedRow {
  readonly request: RowRequest = { action: 'cancel', kind: 'job', method: 'POST', suffix: '/cancel' };
  expectOwned(m: World, id: string, res: LightMyRequestResponse) {
    const status = m.status.get(id)!;
    if (status === 'queued' || status === 'running') {
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().status).toBe('cancelled');
      m.status.set(id, 'cancelled');
    } else {
      expect(expectError(res, 409, 'BP_ERR_JOB_FINISHED').details).toEqual({ status });
    }
  }
}

class Predict extends OnPickedRow {
  readonly request: RowRequest = {
    action: 'predict',
    kind: 'model',
    method: 'POST',
    suffix: '/predictions',
    payload: { samples: [[0.5, -0.5]] },
  };
  expectOwned(_m: World, id: string, res: LightMyRequestResponse) {
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().modelId).toBe(id);
    expect(res.json().predictions).toHaveLength(1);
  }
}

class Usage implements Cmd {
  constructor(readonly tenant: Tenant) {}
  check = always;
  async run(m: World, r: Real) {
    const res = await call(r, this.tenant, 'GET', '/v1/usage');
    expect(res.statusCode).toBe(200);
    const usage = res.json();
    const jobs = m.owned(this.tenant, 'job');
    const count = (s: Status) => jobs.filter((id) => m.status.get(id) === s).length;
    expect(usage).toMatchObject({
      datasets: m.listed(this.tenant, 'dataset').length,
      networks: m.owned(this.tenant, 'network').length,
      models: m.owned(this.tenant, 'model').length,
      jobs: {
        queued: count('queued'),
        running: count('running'),
        succeeded: count('succeeded'),
        failed: count('failed'),
        cancelled: count('cancelled'),
      },
      activeJobs: { count: m.active(this.tenant), limit: ACTIVE_JOBS },
      storedBytes: {
        // 4 × 2 features of 0/1 stored as bytes, 4 labels as float64
        datasets: m.listed(this.tenant, 'dataset').length * (4 * 2 * 1 + 4 * 8),
        models: m.owned(this.tenant, 'model').length * MODEL_BYTES,
        reserved: m.active(this.tenant) * MODEL_BYTES,
      },
    });
  }
  toString = () => `Usage(${this.tenant})`;
}

const tenant = fc.constantFrom<Tenant>(0, 1);
const pick = fc.nat({ max: 1000 });
const commands = fc.commands<World, Real, false>(
  [
    tenant.map((t) => new Create(t, 'dataset')),
    tenant.map((t) => new Create(t, 'dataset')), // twice as likely: datasets are what DELETE needs
    tenant.map((t) => new Create(t, 'network')),
    fc.tuple(tenant, pick, pick).map(([t, d, n]) => new CreateJob(t, d, n)),
    fc.tuple(pick, fc.boolean()).map(([j, finish]) => new WorkOnJob(j, finish)),
    fc
      .tuple(tenant, fc.constantFrom<Kind>('dataset', 'network', 'job', 'model'), pick, fc.nat(1))
      .map(([t, k, p, v]) => new Get(t, k, p, v)),
    fc
      .tuple(tenant, fc.constantFrom<Kind>('dataset', 'network', 'job', 'model'), pick, fc.nat(1))
      .map(([t, k, p, v]) => new Get(t, k, p, v)),
    fc
      .tuple(tenant, fc.constantFrom('dataset' as const, 'network' as const, 'job' as const))
      .map(([t, k]) => new List(t, k)),
    fc.tuple(tenant, pick).map(([t, p]) => new DeleteDataset(t, p)),
    fc.tuple(tenant, pick).map(([t, p]) => new DeleteDataset(t, p)),
    fc.tuple(tenant, pick).map(([t, p]) => new Cancel(t, p)),
    fc.tuple(tenant, pick).map(([t, p]) => new Predict(t, p)),
    tenant.map((t) => new Usage(t)),
  ],
  { maxCommands: MAX_COMMANDS, size: 'max' },
);

describe('tenant isolation, model-based', () => {
  it(`${RUNS} random two-tenant sequences of up to ${MAX_COMMANDS} operations match the model of ownership`, async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(commands, async (cmds) => {
        // Fresh tenants per run: the model starts empty, whatever earlier runs created.
        run++;
        const [a, b] = await Promise.all([
          ctx.createTenantKey(`iso-${run}-a-${randomUUID()}`),
          ctx.createTenantKey(`iso-${run}-b-${randomUUID()}`),
        ]);
        const world = new World();
        const real: Real = { keys: [a.apiKey, b.apiKey] };
        // Each tenant starts with a dataset, a network and a queued job, so that picks find rows.
        for (const t of [0, 1] as const) {
          await new Create(t, 'dataset').run(world, real);
          await new Create(t, 'network').run(world, real);
          await new CreateJob(t, 0, 0).run(world, real);
        }
        await fc.asyncModelRun(() => ({ model: world, real }), cmds);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    // The runs reached what they are about: another tenant's rows in every kind of request.
    const counts = Object.fromEntries([...outcomes].sort());
    for (const outcome of [
      'get:own',
      'get:foreign',
      'get:missing',
      'job:dataset-foreign',
      'job:network-foreign',
      'job:429',
      'delete:own',
      'delete:foreign',
      'delete:emptied',
      'job:dataset-emptied',
      'cancel:own',
      'cancel:foreign',
      'predict:own',
      'predict:foreign',
      'list:with-foreign-rows',
    ]) {
      expect(counts[outcome] ?? 0, `${outcome} in ${JSON.stringify(counts)}`).toBeGreaterThan(0);
    }
    // ... and a deleted dataset's id was used again (get, delete or a job referring to it).
    const gone = Object.entries(counts).filter(([k]) => /[:-]gone$/.test(k));
    expect(gone.length, JSON.stringify(counts)).toBeGreaterThan(0);
    // A fixed amount of work (~20 s quiet, 55 s seen at load 15-30): the unit project's 60 s
    // default would make a busy machine's slowness a failure.
  }, 180_000);
});
