/** Liveness, readiness, the OpenAPI document, the docs page, unknown routes. */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext } from '../../../harness/api-context.ts';
import { createApi } from '../src/api.ts';
import { expectError, expectExactError } from './support.ts';

let ctx: ApiContext;
beforeAll(async () => {
  ctx = await createApiContext();
});
afterAll(async () => ctx?.close());

/** "METHOD /path/{param}" for every route the app serves under `prefix` (HEAD left out). */
function servedRoutes(app: FastifyInstance, prefix: string): string[] {
  const parents: string[] = [];
  const routes: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│├└─\s]*)(\S.*?) \(([^)]+)\)$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4 - 1;
    const path = (depth > 0 ? parents[depth - 1]! : '') + match[2]!;
    parents[depth] = path;
    if (!path.startsWith(prefix)) continue;
    for (const method of match[3]!.split(', ')) {
      if (method !== 'HEAD') routes.push(`${method} ${path.replace(/:(\w+)/g, '{$1}')}`);
    }
  }
  return routes.sort();
}

describe('health', () => {
  it('GET /healthz is 200 ok', async () => {
    const res = await ctx.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz is 200 with Postgres and Redis checked', async () => {
    const res = await ctx.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready', checks: { postgres: true, redis: true } });
  });
});

describe('Redis unreachable', () => {
  // The same app and database, but a queue whose Redis does not answer (nothing listens on port 1).
  let app: FastifyInstance;
  beforeAll(async () => {
    const unreachable = {
      ...ctx.env,
      REDIS_URL: 'redis://127.0.0.1:1',
      QUEUE_PREFIX: `bp-test-${randomBytes(6).toString('hex')}`,
    };
    app = await createApi(unreachable, { db: ctx.database.db });
  });
  afterAll(async () => app?.close());

  it('/readyz is 503 naming the failed check; /healthz stays 200', async () => {
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'unavailable', checks: { postgres: true, redis: false } });
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it('POST /v1/jobs is 503 at once and stores no job', async () => {
    const authorization = `Bearer ${ctx.apiKey}`;
    const dataset = await app.inject({
      method: 'POST',
      url: '/v1/datasets',
      headers: { 'content-type': 'text/csv', authorization },
      payload: 'label,a\n0,1\n1,2\n',
    });
    expect(dataset.statusCode).toBe(201);
    const network = await app.inject({
      method: 'POST',
      url: '/v1/networks',
      headers: { authorization },
      payload: { inputSize: 1, layers: [{ units: 1, activation: 'sigmoid' }] },
    });
    expect(network.statusCode).toBe(201);
    const before = await ctx.database.db.trainingJob.count();
    const started = Date.now();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: { authorization },
      payload: {
        datasetId: dataset.json().id,
        networkId: network.json().id,
        training: { learningRate: 0.1, iterations: 5 },
      },
    });
    expect(expectError(res, 503, 'BP_ERR_UNAVAILABLE').message).toContain('queue');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await ctx.database.db.trainingJob.count()).toBe(before);
  });
});

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3 document that lists every /v1 route the app serves', async () => {
    const res = await ctx.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(doc.info).toMatchObject({ title: 'backprop', version: expect.any(String) });

    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .filter(([path]) => path.startsWith('/v1/'))
      .flatMap(([path, operations]) => Object.keys(operations).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    const served = servedRoutes(ctx.app, '/v1/');
    expect(served).toEqual(
      [
        'POST /v1/datasets',
        'GET /v1/datasets',
        'GET /v1/datasets/{id}',
        'DELETE /v1/datasets/{id}',
        'POST /v1/networks',
        'GET /v1/networks',
        'GET /v1/networks/{id}',
        'DELETE /v1/networks/{id}',
        'POST /v1/jobs',
        'GET /v1/jobs',
        'GET /v1/jobs/{id}',
        'GET /v1/jobs/{id}/costs',
        'POST /v1/jobs/{id}/cancel',
        'DELETE /v1/jobs/{id}',
        'GET /v1/models/{id}',
        'GET /v1/models/{id}/parameters',
        'POST /v1/models/{id}/predictions',
        'DELETE /v1/models/{id}',
        'POST /v1/models/{id}/evaluations',
        'GET /v1/models/{id}/evaluations',
        'GET /v1/models/{id}/evaluations/{evaluationId}',
        'DELETE /v1/models/{id}/evaluations/{evaluationId}',
        'GET /v1/usage',
        'POST /v1/webhooks',
        'GET /v1/webhooks',
        'GET /v1/webhooks/{id}',
        'DELETE /v1/webhooks/{id}',
        'GET /v1/webhooks/{id}/deliveries',
        'GET /v1/jobs/{id}/events',
        'POST /v1/jobs/{id}/events/token',
        'POST /v1/jobs/dry-run',
        'POST /v1/jobs/{id}/reproduce',
        'GET /v1/models',
        'PATCH /v1/models/{id}',
        'GET /v1/models/{id}/export',
        'GET /v1/models/{id}/receipt',
        'GET /v1/registry/{name}',
        'PUT /v1/registry/{name}/aliases/{alias}',
        'DELETE /v1/registry/{name}/aliases/{alias}',
        'POST /v1/registry/{name}/aliases/{alias}/predictions',
      ].sort(),
    );
    expect(documented).toEqual(served);
  });

  it('documents request bodies, parameters and the error shape', async () => {
    const doc = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const createJob = doc.paths['/v1/jobs'].post;
    expect(createJob.requestBody.content['application/json'].schema).toBeDefined();
    expect(Object.keys(createJob.responses)).toEqual(expect.arrayContaining(['202', '400', '404', '422']));
    const getDataset = doc.paths['/v1/datasets/{id}'].get;
    expect(getDataset.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ in: 'path', name: 'id', required: true })]),
    );
    expect(doc.components.schemas.Error.required).toEqual(
      expect.arrayContaining(['statusCode', 'code', 'error', 'message']),
    );
    for (const name of ['Dataset', 'Network', 'Job', 'Model']) {
      expect(doc.components.schemas[name], name).toBeDefined();
    }
    // Request bodies are inline (openapi-typescript keeps their defaulted fields optional there).
    expect(createJob.requestBody.content['application/json'].schema.title).toBe('CreateJob');
    const predict = doc.paths['/v1/models/{id}/predictions'].post;
    expect(predict.requestBody.content['application/json'].schema.title).toBe('PredictRequest');
  });
});

describe('GET /openapi.json: dataset uploads', () => {
  it('documents both upload forms, JSON with its schema and CSV as text', async () => {
    const doc = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const content = doc.paths['/v1/datasets'].post.requestBody.content;
    expect(content['application/json'].schema.title).toBe('CreateDatasetJson');
    expect(content['application/json'].schema.required).toEqual(['features', 'labels']);
    expect(content['text/csv'].schema.type).toBe('string');
  });
});

describe('GET /docs', () => {
  it('serves the HTML documentation page', async () => {
    const res = await ctx.app.inject({ method: 'GET', url: '/docs' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toMatch(/<html/i);
    expect(res.body).toContain('Swagger UI');
  });
});

describe('unknown routes', () => {
  it('are 404 in the error shape, naming the method and path', async () => {
    const res = await ctx.app.inject({ method: 'GET', url: '/v1/nothing-here?x=1' });
    expectExactError(res, {
      statusCode: 404,
      code: 'BP_ERR_NOT_FOUND',
      error: 'Not Found',
      message: 'no route GET /v1/nothing-here',
    });
    const method = await ctx.app.inject({ method: 'PUT', url: '/v1/datasets' });
    expect(expectError(method, 404, 'BP_ERR_NOT_FOUND').message).toBe('no route PUT /v1/datasets');
    const post = await ctx.app.inject({ method: 'POST', url: '/v2/jobs', payload: { a: 1 } });
    expectError(post, 404, 'BP_ERR_NOT_FOUND');
  });
});
