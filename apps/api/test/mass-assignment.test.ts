/**
 * RELIABILITY.md scenario 19, mass assignment (OWASP API3): a body or query that tries to set
 * what only the service sets (status, tenantId, id, weights, costs, attempts, createdAt, modelId,
 * ...) or to poison prototypes (`__proto__`, `constructor`) is a 400 naming the field, on every
 * write route, and changes no row and no queue entry; responses carry only allow-listed fields.
 */
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext } from '../../../harness/api-context.ts';
import { completeByHand } from './by-hand.ts';
import { expectError, fingerprint } from './support.ts';

let ctx: ApiContext;
let other: { tenantId: string; apiKey: string };
let ids: { datasetId: string; networkId: string; jobId: string; modelId: string; queuedJobId: string };

const LAYERS = [
  { units: 2, activation: 'tanh' },
  { units: 1, activation: 'sigmoid' },
];

beforeAll(async () => {
  ctx = await createApiContext({ RATE_LIMIT_MAX: '100000' });
  other = await ctx.createTenantKey('someone-else');
  const post = async (url: string, payload: object) => {
    const res = await ctx.app.inject({ method: 'POST', url, payload });
    expect(res.statusCode, res.body).toBeLessThan(300);
    return res.json().id as string;
  };
  const datasetId = await post('/v1/datasets', { features: [[1], [2], [3], [4]], labels: [0, 1, 0, 1] });
  const networkId = await post('/v1/networks', { inputSize: 1, layers: LAYERS });
  const job = { datasetId, networkId, training: { learningRate: 0.1, iterations: 3 } };
  const jobId = await post('/v1/jobs', job);
  const queuedJobId = await post('/v1/jobs', job);
  const modelId = await completeByHand(ctx.database.db, jobId, {
    inputSize: 1,
    layers: LAYERS,
    parameters: 0.25,
  });
  ids = { datasetId, networkId, jobId, modelId, queuedJobId };
});
afterAll(async () => ctx?.close());

/** What a client may try to set. The values look plausible, so only strictness stops them. */
const FORBIDDEN: Record<string, () => unknown> = {
  status: () => 'succeeded',
  tenantId: () => other.tenantId,
  id: () => '00000000-0000-4000-8000-00000000beef',
  weights: () => [[1, 2]],
  parameters: () => ({ W1: [[1]] }),
  costs: () => [0.1],
  costHistory: () => [0.1],
  attempts: () => 0,
  attempt: () => 0,
  createdAt: () => '2000-01-01T00:00:00.000Z',
  finishedAt: () => '2000-01-01T00:00:00.000Z',
  modelId: () => '00000000-0000-4000-8000-00000000beef',
  byteSize: () => 1,
  parameterCount: () => 1,
  workerId: () => 'me',
  apiKeyId: () => other.tenantId,
  constructor: () => 1,
};

interface WriteRoute {
  name: string;
  request: (body: unknown) => InjectOptions;
  /** where in the body a field can be slipped in: the top level, and nested objects */
  body: () => Record<string, unknown>;
  nested: ((body: Record<string, unknown>) => Record<string, unknown>)[];
  /** the query string this route accepts, if any */
  query?: string;
}

const json = (method: 'POST' | 'DELETE', url: () => string) => (body: unknown) =>
  ({
    method,
    url: url(),
    headers: { 'content-type': 'application/json' },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  }) as InjectOptions;

const ROUTES: WriteRoute[] = [
  {
    name: 'POST /v1/datasets (JSON)',
    request: json('POST', () => '/v1/datasets'),
    body: () => ({ features: [[1], [2]], labels: [0, 1] }),
    nested: [],
    query: '?name=ok',
  },
  {
    name: 'POST /v1/networks',
    request: json('POST', () => '/v1/networks'),
    body: () => ({ inputSize: 1, layers: structuredClone(LAYERS) }),
    nested: [(b) => (b.layers as Record<string, unknown>[])[0]!],
  },
  {
    name: 'POST /v1/jobs',
    request: json('POST', () => '/v1/jobs'),
    body: () => ({
      datasetId: ids.datasetId,
      networkId: ids.networkId,
      training: { learningRate: 0.1, iterations: 3, earlyStopping: { patience: 2 }, validationSplit: 0.5 },
    }),
    nested: [
      (b) => b.training as Record<string, unknown>,
      (b) => (b.training as { earlyStopping: Record<string, unknown> }).earlyStopping,
    ],
  },
  {
    name: 'POST /v1/jobs/:id/cancel',
    request: json('POST', () => `/v1/jobs/${ids.queuedJobId}/cancel`),
    body: () => ({}),
    nested: [],
  },
  {
    name: 'DELETE /v1/datasets/:id',
    request: json('DELETE', () => `/v1/datasets/${ids.datasetId}`),
    body: () => ({}),
    nested: [],
  },
  {
    name: 'POST /v1/models/:id/predictions',
    request: json('POST', () => `/v1/models/${ids.modelId}/predictions`),
    body: () => ({ samples: [[1]] }),
    nested: [],
  },
];

async function expectRefusedUnchanged(options: InjectOptions, field: string, where: string) {
  const before = await fingerprint(ctx.database.db, ctx.app);
  const res = await ctx.app.inject(options);
  const body = expectError(res, 400, 'BP_ERR_VALIDATION', where);
  expect(body.message, where).toContain(field);
  expect(await fingerprint(ctx.database.db, ctx.app), where).toEqual(before);
}

describe('forbidden fields on every write route', () => {
  it('each valid body is accepted as is (so the 400s below are about the added field)', async () => {
    // Only the side-effect-free ones: a dry run of the others would consume the fixtures.
    const predict = ROUTES.find((r) => r.name.includes('predictions'))!;
    expect((await ctx.app.inject(predict.request(predict.body()))).statusCode).toBe(200);
    const network = ROUTES.find((r) => r.name.includes('networks'))!;
    expect((await ctx.app.inject(network.request(network.body()))).statusCode).toBe(201);
  });

  for (const route of ROUTES) {
    it(`${route.name}: every forbidden field, at every level, is a 400 naming it and changes nothing`, async () => {
      for (const [field, value] of Object.entries(FORBIDDEN)) {
        const top = route.body();
        top[field] = value();
        await expectRefusedUnchanged(route.request(top), field, `${route.name} body.${field}`);
        for (const [level, pick] of route.nested.entries()) {
          const body = route.body();
          pick(body)[field] = value();
          await expectRefusedUnchanged(route.request(body), field, `${route.name} nested ${level} .${field}`);
        }
      }
    });

    it(`${route.name}: __proto__ and constructor.prototype keys, also \\u-escaped, are a 400`, async () => {
      const base = JSON.stringify(route.body());
      const inject = (extra: string) => (base === '{}' ? `{${extra}}` : `${base.slice(0, -1)},${extra}}`);
      for (const [extra, field] of [
        ['"__proto__":{"status":"succeeded"}', '__proto__'],
        ['"\\u005f_proto__":{"tenantId":"x"}', '__proto__'],
        ['"constructor":{"prototype":{"status":"succeeded"}}', 'constructor'],
        ['"a":[{"b":{"__proto__":{"isAdmin":true}}}]', '__proto__'],
      ] as const) {
        await expectRefusedUnchanged(route.request(inject(extra)), field, `${route.name} ${extra}`);
      }
      expect(({} as Record<string, unknown>)['status']).toBeUndefined(); // no prototype was polluted
    });

    it(`${route.name}: forbidden query parameters are a 400 too`, async () => {
      for (const field of ['status', 'tenantId', 'id']) {
        const options = route.request(route.body());
        const sep = route.query ? '&' : '?';
        options.url = `${options.url}${route.query ?? ''}${sep}${field}=x`;
        await expectRefusedUnchanged(options, field, `${route.name} ?${field}`);
      }
    });
  }

  it('a CSV upload refuses forbidden query parameters', async () => {
    for (const field of ['status', 'tenantId', 'byteSize']) {
      await expectRefusedUnchanged(
        {
          method: 'POST',
          url: `/v1/datasets?${field}=1`,
          headers: { 'content-type': 'text/csv' },
          payload: 'label,a\n0,1\n1,2\n',
        },
        field,
        `CSV ?${field}`,
      );
    }
  });

  it('the fixtures the refused requests aimed at are untouched', async () => {
    const job = (await ctx.app.inject({ method: 'GET', url: `/v1/jobs/${ids.queuedJobId}` })).json();
    expect(job.status).toBe('queued');
    expect(job.attempts).toBe(0);
    expect((await ctx.app.inject({ method: 'GET', url: `/v1/datasets/${ids.datasetId}` })).statusCode).toBe(
      200,
    );
    const mine = await ctx.database.db.dataset.count({ where: { tenantId: ctx.tenantId } });
    expect(await ctx.database.db.dataset.count({ where: { tenantId: other.tenantId } })).toBe(0);
    expect(mine).toBe(1);
  });
});

describe('responses carry only allow-listed fields', () => {
  const ALLOWED = {
    dataset: [
      'id',
      'name',
      'samples',
      'features',
      'task',
      'labelName',
      'classes',
      'featureStats',
      'byteSize',
      'createdAt',
      'deletedAt',
    ],
    network: ['id', 'name', 'inputSize', 'layers', 'init', 'parameterCount', 'createdAt', 'deletedAt'],
    job: [
      'id',
      'status',
      'datasetId',
      'networkId',
      'training',
      'progress',
      'cost',
      'attempts',
      'createdAt',
      'startedAt',
      'finishedAt',
      'error',
      'modelId',
      'worker',
    ],
    model: [
      'id',
      'jobId',
      'inputSize',
      'layers',
      'task',
      'classes',
      'metrics',
      'normalization',
      'training',
      'createdAt',
      'name',
      'version',
      'tags',
    ],
  };
  const TRAINING = [
    'learningRate',
    'iterations',
    'epochs',
    'batchSize',
    'optimizer',
    'l2',
    'seed',
    'validationSplit',
    'earlyStopping',
    'normalize',
    'costEvery',
    'initialParameters',
    'threads',
    'dtype',
  ];
  const get = async (url: string) => {
    const res = await ctx.app.inject({ method: 'GET', url });
    expect(res.statusCode, url).toBe(200);
    return res;
  };

  it('single resources and list items have exactly the documented keys', async () => {
    const checks: [string, string[]][] = [
      [`/v1/datasets/${ids.datasetId}`, ALLOWED.dataset],
      [`/v1/networks/${ids.networkId}`, ALLOWED.network],
      [`/v1/jobs/${ids.jobId}`, ALLOWED.job],
      [`/v1/models/${ids.modelId}`, ALLOWED.model],
    ];
    for (const [url, allowed] of checks) {
      const body = (await get(url)).json();
      expect(Object.keys(body).sort(), url).toEqual(allowed.filter((k) => k in body).sort());
      expect(
        Object.keys(body).every((k) => allowed.includes(k)),
        url,
      ).toBe(true);
    }
    for (const [url, allowed] of [
      ['/v1/datasets', ALLOWED.dataset],
      ['/v1/networks', ALLOWED.network],
      ['/v1/jobs', ALLOWED.job],
    ] as const) {
      const page = (await get(url)).json();
      expect(Object.keys(page).sort()).toEqual(['items', 'nextCursor']);
      for (const item of page.items)
        expect(
          Object.keys(item).every((k) => allowed.includes(k)),
          url,
        ).toBe(true);
    }
    const job = (await get(`/v1/jobs/${ids.jobId}`)).json();
    expect(Object.keys(job.training).every((k) => TRAINING.includes(k))).toBe(true);
    expect(Object.keys(job.progress).sort()).toEqual(['iteration', 'iterations']);
    expect(Object.keys((await get(`/v1/jobs/${ids.jobId}/costs`)).json()).sort()).toEqual([
      'costEvery',
      'costs',
    ]);
    expect(Object.keys((await get(`/v1/models/${ids.modelId}/parameters`)).json()).sort()).toEqual([
      'W1',
      'W2',
      'b1',
      'b2',
    ]);
  });

  it('no response shows the tenant id, the key id or stored internals', async () => {
    const key = await ctx.database.db.apiKey.findFirstOrThrow({ where: { tenantId: ctx.tenantId } });
    const urls = [
      '/v1/datasets',
      `/v1/datasets/${ids.datasetId}`,
      '/v1/networks',
      `/v1/networks/${ids.networkId}`,
      '/v1/jobs',
      `/v1/jobs/${ids.jobId}`,
      `/v1/jobs/${ids.jobId}/costs`,
      `/v1/models/${ids.modelId}`,
      `/v1/models/${ids.modelId}/parameters`,
      '/v1/usage',
    ];
    for (const url of urls) {
      const text = (await get(url)).body;
      expect(text, url).not.toContain(ctx.tenantId);
      expect(text, url).not.toContain(key.id);
      expect(text, url).not.toContain(key.hash);
      expect(text, url).not.toMatch(
        /"(tenantId|x|y|hash|workerId|leaseExpiresAt|idempotencyKey|requestHash|attempt|errorCode)"/,
      );
    }
  });
});
