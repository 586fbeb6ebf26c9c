/**
 * /v1/webhooks (issue 10): registration with its refusals (each a 4xx naming the field), the
 * SSRF policy at registration (loopback, private, link-local, unique-local, multicast,
 * unspecified, IPv4 and IPv6 and IPv4-mapped, by literal and by name), the secret shown once and
 * sealed at rest, tenant isolation, and the outbox: the transaction that ends a job writes one
 * delivery per subscribed endpoint, once. Deliveries themselves are sent by the worker
 * (apps/worker/test/webhooks.long.test.ts).
 */
import { randomBytes } from 'node:crypto';
import { cancelJob, failJob } from '@backprop/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext } from '../../../harness/api-context.ts';
import { smallestJobInputs } from '../../../harness/api-fixtures.ts';
import { claimByHand, completeByHand } from './by-hand.ts';
import { createdId, expectError } from './support.ts';

/** A public address literal: registration needs no DNS, and nothing here ever calls it. */
const PUBLIC_URL = 'http://93.184.216.34/hooks/backprop';
const SECRET_KEY = randomBytes(32).toString('base64');

let ctx: ApiContext;
beforeAll(async () => {
  ctx = await createApiContext({
    WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'false',
    WEBHOOK_SECRET_KEY: SECRET_KEY,
    WEBHOOK_MAX_ENDPOINTS_PER_TENANT: '4',
    WEBHOOK_URL_MAX_LENGTH: '100',
    RATE_LIMIT_MAX: '1000000',
  });
});
afterAll(async () => ctx?.close());

function register(payload: unknown, apiKey?: string) {
  return ctx.app.inject({
    method: 'POST',
    url: '/v1/webhooks',
    payload: payload as object,
    ...(apiKey ? { headers: { authorization: `Bearer ${apiKey}` } } : {}),
  });
}

async function clearEndpoints(): Promise<void> {
  await ctx.database.db.webhookEndpoint.deleteMany({});
}

describe('registration', () => {
  it('201 with id and secret (whsec_, 32 bytes), shown once: never in GET, lists or the row', async () => {
    await clearEndpoints();
    const res = await register({ url: PUBLIC_URL, events: ['job.succeeded', 'job.failed'] });
    expect(res.statusCode, res.body).toBe(201);
    const created = res.json();
    expect(created).toMatchObject({
      url: PUBLIC_URL,
      events: ['job.succeeded', 'job.failed'],
      disabledAt: null,
    });
    expect(res.headers.location).toBe(`/v1/webhooks/${created.id}`);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(created.secret.slice(6), 'base64')).toHaveLength(32);
    const secretPart = created.secret.slice(6);

    const one = await ctx.app.inject({ method: 'GET', url: `/v1/webhooks/${created.id}` });
    expect(one.statusCode).toBe(200);
    expect(Object.keys(one.json()).sort()).toEqual(['createdAt', 'disabledAt', 'events', 'id', 'url']);
    const list = await ctx.app.inject({ method: 'GET', url: '/v1/webhooks' });
    expect(list.json().items.map((w: { id: string }) => w.id)).toEqual([created.id]);
    for (const body of [one.body, list.body]) expect(body).not.toContain(secretPart);

    // At rest: sealed under WEBHOOK_SECRET_KEY, so the row alone does not reveal it.
    const row = await ctx.database.db.webhookEndpoint.findUniqueOrThrow({ where: { id: created.id } });
    expect(row.secret).toMatch(/^v1:[0-9a-f]{8}:/);
    expect(row.secret).not.toContain(secretPart);

    // Two endpoints never share a secret.
    const other = (await register({ url: PUBLIC_URL, events: ['job.failed'] })).json();
    expect(other.secret).not.toBe(created.secret);
  });

  it.each([
    [{ url: PUBLIC_URL, events: [] }, 'events'],
    [{ url: PUBLIC_URL, events: ['job.started'] }, 'events'],
    [{ url: PUBLIC_URL, events: ['job.failed', 'job.failed'] }, 'events'],
    [{ url: PUBLIC_URL }, 'events'],
    [{ events: ['job.failed'] }, 'url'],
    [{ url: PUBLIC_URL, events: ['job.failed'], secret: 'whsec_mine' }, 'secret'],
  ])('a bad body is a 400 naming the field: %j', async (payload, field) => {
    const body = expectError(await register(payload), 400, 'BP_ERR_VALIDATION');
    expect(body.message).toContain(field);
  });

  it.each([
    ['not a url', 'is not an absolute URL'],
    ['ftp://93.184.216.34/x', 'http or https'],
    ['file:///etc/passwd', 'http or https'],
    ['http://user:pw@93.184.216.34/x', 'credentials'],
  ])('url %s is a 400 naming url: %s', async (url, reason) => {
    const body = expectError(await register({ url, events: ['job.failed'] }), 400, 'BP_ERR_VALIDATION');
    expect(body.message).toMatch(/^url: /);
    expect(body.message).toContain(reason);
    expect(body.details).toMatchObject({ field: 'url' });
  });

  it('a URL longer than WEBHOOK_URL_MAX_LENGTH is a 422 naming the limit', async () => {
    const url = `${PUBLIC_URL}/${'a'.repeat(100)}`;
    const body = expectError(await register({ url, events: ['job.failed'] }), 422, 'BP_ERR_LIMIT_EXCEEDED');
    expect(body.details).toMatchObject({ limit: 'WEBHOOK_URL_MAX_LENGTH', max: 100, actual: url.length });
  });

  it('more than WEBHOOK_MAX_ENDPOINTS_PER_TENANT endpoints: 422, also when requested concurrently', async () => {
    await clearEndpoints();
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => register({ url: PUBLIC_URL, events: ['job.failed'] })),
    );
    expect(answers.filter((r) => r.statusCode === 201)).toHaveLength(4);
    for (const refused of answers.filter((r) => r.statusCode !== 201)) {
      const body = expectError(refused, 422, 'BP_ERR_LIMIT_EXCEEDED');
      expect(body.details).toMatchObject({ limit: 'WEBHOOK_MAX_ENDPOINTS_PER_TENANT', max: 4 });
    }
    expect(await ctx.database.db.webhookEndpoint.count()).toBe(4);
    await clearEndpoints();
  });
});

describe('SSRF: URLs that resolve to non-public addresses are refused at registration', () => {
  it.each([
    ['http://127.0.0.1/hook', 'loopback'],
    ['http://127.1.2.3:8080/hook', 'loopback'],
    ['http://localhost:3000/hook', 'loopback'],
    ['http://[::1]/hook', 'loopback'],
    ['http://[::ffff:127.0.0.1]/hook', 'loopback'],
    ['http://[::ffff:a00:1]/hook', 'private'],
    ['http://10.0.0.1/hook', 'private'],
    ['http://172.16.5.4/hook', 'private'],
    ['https://192.168.1.1/hook', 'private'],
    ['http://169.254.169.254/latest/meta-data/', 'linkLocal'],
    ['http://[fe80::1]/hook', 'linkLocal'],
    ['http://[fd00::1]/hook', 'uniqueLocal'],
    ['http://224.0.0.1/hook', 'multicast'],
    ['http://[ff02::1]/hook', 'multicast'],
    ['http://0.0.0.0/hook', 'unspecified'],
    ['http://[::]/hook', 'unspecified'],
    ['http://2130706433/hook', 'loopback'],
    ['http://0x7f000001/hook', 'loopback'],
  ])('%s → 400 naming url (%s)', async (url, range) => {
    const before = await ctx.database.db.webhookEndpoint.count();
    const body = expectError(await register({ url, events: ['job.failed'] }), 400, 'BP_ERR_VALIDATION');
    expect(body.message).toMatch(/^url: /);
    expect(body.message).toContain(`a ${range} address`);
    expect(body.details).toMatchObject({ field: 'url' });
    expect(await ctx.database.db.webhookEndpoint.count()).toBe(before);
  });

  it('a host that does not resolve is a 400 naming url', async () => {
    const body = expectError(
      await register({ url: 'http://no-such-host.invalid/hook', events: ['job.failed'] }),
      400,
      'BP_ERR_VALIDATION',
    );
    expect(body.message).toMatch(/^url: its host no-such-host\.invalid does not resolve/);
  });

  it('with WEBHOOK_ALLOW_PRIVATE_ADDRESSES=true the operator lets them through', async () => {
    const open = await createApiContext({ WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true' });
    try {
      const res = await open.app.inject({
        method: 'POST',
        url: '/v1/webhooks',
        payload: { url: 'http://127.0.0.1:9/hook', events: ['job.failed'] },
      });
      expect(res.statusCode, res.body).toBe(201);
      // No key configured: stored unsealed, and marked so.
      const row = await open.database.db.webhookEndpoint.findUniqueOrThrow({ where: { id: res.json().id } });
      expect(row.secret).toBe(`plain:${res.json().secret}`);
    } finally {
      await open.close();
    }
  });
});

describe('tenant isolation', () => {
  it("another tenant's endpoint is a 404 like a missing one, for GET, DELETE and the delivery log", async () => {
    await clearEndpoints();
    const mine = (await register({ url: PUBLIC_URL, events: ['job.failed'] })).json();
    const other = await ctx.createTenantKey(`webhook-other-${randomBytes(3).toString('hex')}`);
    const theirs = (await register({ url: PUBLIC_URL, events: ['job.failed'] }, other.apiKey)).json();
    const as = (apiKey: string) => ({ authorization: `Bearer ${apiKey}` });
    for (const [method, suffix] of [
      ['GET', ''],
      ['GET', '/deliveries'],
      ['DELETE', ''],
    ] as const) {
      const res = await ctx.app.inject({ method, url: `/v1/webhooks/${theirs.id}${suffix}` });
      const body = expectError(res, 404, 'BP_ERR_WEBHOOK_NOT_FOUND');
      expect(body.message).toBe(`webhook ${theirs.id} does not exist`);
    }
    const listed = await ctx.app.inject({ method: 'GET', url: '/v1/webhooks' });
    expect(listed.json().items.map((w: { id: string }) => w.id)).toEqual([mine.id]);
    const theirList = await ctx.app.inject({ method: 'GET', url: '/v1/webhooks', headers: as(other.apiKey) });
    expect(theirList.json().items.map((w: { id: string }) => w.id)).toEqual([theirs.id]);
    // Theirs is still there; mine deletes once.
    expect(await ctx.database.db.webhookEndpoint.count({ where: { id: theirs.id } })).toBe(1);
    expect((await ctx.app.inject({ method: 'DELETE', url: `/v1/webhooks/${mine.id}` })).statusCode).toBe(204);
    expectError(
      await ctx.app.inject({ method: 'GET', url: `/v1/webhooks/${mine.id}` }),
      404,
      'BP_ERR_WEBHOOK_NOT_FOUND',
    );
  });
});

describe('the outbox: deliveries written with the terminal transition', () => {
  let datasetId: string;
  let networkId: string;
  beforeAll(async () => {
    ({ datasetId, networkId } = await smallestJobInputs(ctx.app));
  });

  const newJob = () =>
    createdId(
      ctx,
      '/v1/jobs',
      { datasetId, networkId, training: { learningRate: 0.1, iterations: 10 } },
      202,
    );

  it('a cancel through the API writes one pending delivery per subscribed endpoint, listed in its log', async () => {
    await clearEndpoints();
    const cancelled = (await register({ url: PUBLIC_URL, events: ['job.cancelled'] })).json();
    const failedOnly = (await register({ url: PUBLIC_URL, events: ['job.failed'] })).json();
    const jobId = await newJob();
    const res = await ctx.app.inject({ method: 'POST', url: `/v1/jobs/${jobId}/cancel` });
    expect(res.statusCode, res.body).toBe(200);

    const log = await ctx.app.inject({ method: 'GET', url: `/v1/webhooks/${cancelled.id}/deliveries` });
    expect(log.statusCode).toBe(200);
    const [delivery, ...rest] = log.json().items;
    expect(rest).toEqual([]);
    expect(delivery).toMatchObject({
      event: 'job.cancelled',
      jobId,
      status: 'pending',
      attempts: 0,
      lastStatusCode: null,
      lastError: null,
      lastAttemptAt: null,
      finishedAt: null,
    });
    expect(delivery.nextAttemptAt).not.toBeNull();
    const row = await ctx.database.db.webhookDelivery.findUniqueOrThrow({ where: { id: delivery.id } });
    expect(row.data).toEqual({ jobId, status: 'cancelled' });
    const job = await ctx.database.db.trainingJob.findUniqueOrThrow({ where: { id: jobId } });
    expect(row.occurredAt).toEqual(job.finishedAt);

    const none = await ctx.app.inject({ method: 'GET', url: `/v1/webhooks/${failedOnly.id}/deliveries` });
    expect(none.json().items).toEqual([]);
  });

  it("a completion writes job.succeeded with the model's id in its own transaction (no queue involved)", async () => {
    await clearEndpoints();
    const endpoint = (await register({ url: PUBLIC_URL, events: ['job.succeeded'] })).json();
    const jobId = await newJob();
    const modelId = await completeByHand(ctx.database.db, jobId, {
      inputSize: 1,
      layers: [{ units: 1, activation: 'sigmoid' }],
      parameters: 0.1,
    });
    const rows = await ctx.database.db.webhookDelivery.findMany({ where: { jobId } });
    expect(rows.map((r) => [r.endpointId, r.event, r.status])).toEqual([
      [endpoint.id, 'job.succeeded', 'pending'],
    ]);
    expect(rows[0]!.data).toEqual({ jobId, status: 'succeeded', modelId });
  });

  it('a failure carries the error; replaying the transition adds nothing; endpoints registered later get nothing', async () => {
    await clearEndpoints();
    const endpoint = (await register({ url: PUBLIC_URL, events: ['job.failed'] })).json();
    const jobId = await newJob();
    const claim = await claimByHand(ctx.database.db, jobId);
    const failure = { code: 'BP_ERR_DIVERGED', message: 'the cost became NaN' };
    expect(await failJob(ctx.database.db, { jobId, attempt: claim.attempt, ...failure })).toBe(true);
    // The reconciler or BullMQ's handler failing it again, and a late cancel: no second delivery.
    expect(await failJob(ctx.database.db, { jobId, ...failure })).toBe(false);
    expect((await cancelJob(ctx.database.db, ctx.tenantId, jobId)).outcome).toBe('already_terminal');
    const late = (await register({ url: PUBLIC_URL, events: ['job.failed'] })).json();
    expect(await failJob(ctx.database.db, { jobId, ...failure })).toBe(false);

    const rows = await ctx.database.db.webhookDelivery.findMany({ where: { jobId } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ endpointId: endpoint.id, event: 'job.failed' });
    expect(rows[0]!.data).toEqual({ jobId, status: 'failed', error: failure });
    expect(await ctx.database.db.webhookDelivery.count({ where: { endpointId: late.id } })).toBe(0);
  });

  it('deleting an endpoint deletes its log', async () => {
    await clearEndpoints();
    const endpoint = (await register({ url: PUBLIC_URL, events: ['job.cancelled'] })).json();
    const jobId = await newJob();
    await ctx.app.inject({ method: 'POST', url: `/v1/jobs/${jobId}/cancel` });
    expect(await ctx.database.db.webhookDelivery.count({ where: { endpointId: endpoint.id } })).toBe(1);
    expect((await ctx.app.inject({ method: 'DELETE', url: `/v1/webhooks/${endpoint.id}` })).statusCode).toBe(
      204,
    );
    expect(await ctx.database.db.webhookDelivery.count({ where: { endpointId: endpoint.id } })).toBe(0);
  });
});

describe('the OpenAPI document', () => {
  it('describes what is sent to endpoints as OpenAPI 3.1 webhooks: one per event, the body schema and the signature headers', async () => {
    const doc = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(Object.keys(doc.webhooks).sort()).toEqual(['job.cancelled', 'job.failed', 'job.succeeded']);
    const post = doc.webhooks['job.succeeded'].post;
    expect(post.parameters.map((p: { name: string }) => p.name)).toEqual([
      'webhook-id',
      'webhook-timestamp',
      'webhook-signature',
    ]);
    const schema = post.requestBody.content['application/json'].schema;
    expect(schema.required).toEqual(['type', 'timestamp', 'data']);
    expect(schema.properties.data.required).toEqual(['jobId', 'status']);
    expect(Object.keys(schema.properties.data.properties)).toEqual(['jobId', 'status', 'modelId', 'error']);
  });
});
