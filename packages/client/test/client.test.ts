/**
 * @backprop/client against the real API (its own Postgres database and Redis prefix, listening
 * on a port, reached over real HTTP by the client's fetch). No worker runs: jobs stay queued,
 * which is enough for idempotency, events and cancellation.
 */
import { gzipSync } from 'node:zlib';
import type { JobEvent } from '@backprop/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext, planarCsv, XOR_DATASET } from '../../../harness/api-context.ts';
import { BackpropClient, BackpropError } from '../src/index.ts';

const MISSING = '00000000-0000-4000-8000-000000000000';
const NETWORK = {
  inputSize: 2,
  layers: [
    { units: 4, activation: 'tanh' as const },
    { units: 1, activation: 'sigmoid' as const },
  ],
};

async function listen(ctx: ApiContext): Promise<string> {
  return ctx.app.listen({ host: '127.0.0.1', port: 0 });
}

describe('@backprop/client against the real API', () => {
  let ctx: ApiContext;
  let client: BackpropClient;

  beforeAll(async () => {
    ctx = await createApiContext();
    client = new BackpropClient({ baseUrl: await listen(ctx), apiKey: ctx.apiKey });
  });
  afterAll(async () => ctx?.close());

  /** A job on the planar data; no worker runs, so it stays queued until cancelled. */
  async function createQueuedJob() {
    const dataset = await client.datasets.upload(await planarCsv());
    const network = await client.networks.create(NETWORK);
    return client.jobs.create({
      datasetId: dataset.id,
      networkId: network.id,
      training: { learningRate: 0.5, iterations: 10 },
    });
  }

  it('uploads CSV text and gzip bytes, creates a network and a job; a repeated Idempotency-Key answers the same job', async () => {
    const csv = await planarCsv();
    const dataset = await client.datasets.upload(csv, { name: 'planar' });
    const gzipped = await client.datasets.upload(gzipSync(Buffer.from(csv)), { name: 'planar-gz' });
    expect(gzipped.samples).toBe(dataset.samples);
    expect(dataset.samples).toBeGreaterThan(0);

    const network = await client.networks.create(NETWORK);
    const body = {
      datasetId: dataset.id,
      networkId: network.id,
      training: { learningRate: 0.5, iterations: 10 },
    };
    const first = await client.jobs.create(body, { idempotencyKey: 'client-test-key-1' });
    const again = await client.jobs.create(body, { idempotencyKey: 'client-test-key-1' });
    expect(first.status).toBe('queued');
    expect(again.id).toBe(first.id);

    // Without a key the client makes one per call: two calls are two jobs.
    const one = await client.jobs.create(body);
    const two = await client.jobs.create(body);
    expect(two.id).not.toBe(one.id);

    const listed = await client.jobs.list({ limit: 100 });
    expect(listed.items.map((job) => job.id).sort()).toEqual([first.id, one.id, two.id].sort());
    expect((await client.jobs.get(first.id)).id).toBe(first.id);
  });

  it('throws a BackpropError with the status, the code and the message of the API', async () => {
    const error = await client.jobs.get(MISSING).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(BackpropError);
    expect(error).toMatchObject({
      status: 404,
      code: 'BP_ERR_JOB_NOT_FOUND',
      message: expect.stringContaining(MISSING),
    });

    const invalid = await client.networks
      .create({ inputSize: 2, layers: [{ units: 0, activation: 'tanh' }] })
      .catch((err: unknown) => err);
    expect(invalid).toMatchObject({ status: 400 });
    expect(invalid).toBeInstanceOf(BackpropError);
  });

  it("iterates a job's events: queued, then cancelled, and ends after the terminal status", async () => {
    const job = await createQueuedJob();

    const seen: JobEvent[] = [];
    for await (const event of client.jobs.events(job.id)) {
      seen.push(event);
      if (event.type === 'status' && event.status === 'queued') await client.jobs.cancel(job.id);
    }
    const statuses = seen.flatMap((event) => (event.type === 'status' ? [event.status] : []));
    expect(statuses[0]).toBe('queued');
    expect(statuses.at(-1)).toBe('cancelled');
    expect((await client.jobs.get(job.id)).status).toBe('cancelled');

    // A finished job answers its history again, and the iterator ends by itself.
    const replay: string[] = [];
    for await (const event of client.jobs.events(job.id))
      if (event.type === 'status') replay.push(event.status);
    expect(replay).toEqual(statuses);
  });

  it('a stream cut after its first event is reopened with Last-Event-ID: nothing lost, nothing repeated', async () => {
    const job = await createQueuedJob();
    await client.jobs.cancel(job.id);
    const whole: JobEvent[] = [];
    for await (const event of client.jobs.events(job.id)) whole.push(event);
    expect(whole.length).toBeGreaterThanOrEqual(2);

    // The real fetch, whose first event stream is cut (the connection closed) after one event.
    const lastEventIds: (string | null)[] = [];
    const cutting: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      lastEventIds.push(new Headers(init?.headers).get('last-event-id'));
      if (lastEventIds.length > 1 || !response.body) return response;
      const reader = response.body.getReader();
      let text = '';
      while (!text.includes('\n\n')) {
        const chunk = await reader.read();
        if (chunk.done) break;
        text += new TextDecoder().decode(chunk.value);
      }
      await reader.cancel();
      const firstEvent = text.slice(0, text.indexOf('\n\n') + 2);
      return new Response(firstEvent, { status: 200, headers: response.headers });
    };
    const cut = new BackpropClient({ baseUrl: client.baseUrl, apiKey: ctx.apiKey, fetch: cutting });
    const resumed: JobEvent[] = [];
    for await (const event of cut.jobs.events(job.id, { reconnectDelayMs: 10 })) resumed.push(event);
    expect(resumed).toEqual(whole);
    expect(lastEventIds).toHaveLength(2);
    expect(lastEventIds[0]).toBeNull();
    expect(lastEventIds[1]).toMatch(/\S/);
  });

  it('an events stream of a missing job is a BackpropError, not a reconnection loop', async () => {
    const iterator = client.jobs.events(MISSING);
    await expect(iterator.next()).rejects.toMatchObject({ status: 404, code: 'BP_ERR_JOB_NOT_FOUND' });
  });
});

describe('every operation of the API has a client call', () => {
  let ctx: ApiContext;
  let client: BackpropClient;

  beforeAll(async () => {
    ctx = await createApiContext({ WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true' });
    client = new BackpropClient({ baseUrl: await listen(ctx), apiKey: ctx.apiKey });
  });
  afterAll(async () => ctx?.close());

  it("the client's calls are the OpenAPI document's operations, one for one", async () => {
    const byOperation: Record<string, unknown> = {
      getHealth: client.healthy,
      getReadiness: client.ready,
      createDataset: [client.datasets.upload, client.datasets.create, client.datasets.uploadIdx],
      listDatasets: client.datasets.list,
      getDataset: client.datasets.get,
      deleteDataset: client.datasets.delete,
      createNetwork: client.networks.create,
      listNetworks: client.networks.list,
      getNetwork: client.networks.get,
      deleteNetwork: client.networks.delete,
      createJob: client.jobs.create,
      dryRunJob: client.jobs.dryRun,
      listJobs: client.jobs.list,
      getJob: client.jobs.get,
      getJobCosts: client.jobs.costs,
      cancelJob: client.jobs.cancel,
      deleteJob: client.jobs.delete,
      reproduceJob: client.jobs.reproduce,
      createJobEventsToken: client.jobs.eventsToken,
      streamJobEvents: client.jobs.events,
      listModels: client.models.list,
      getModel: client.models.get,
      updateModel: client.models.update,
      deleteModel: client.models.delete,
      getModelParameters: client.models.parameters,
      getModelReceipt: client.models.receipt,
      predict: client.models.predict,
      exportModel: client.models.export,
      createEvaluation: client.evaluations.create,
      listEvaluations: client.evaluations.list,
      getEvaluation: client.evaluations.get,
      deleteEvaluation: client.evaluations.delete,
      getRegisteredModel: client.registry.get,
      setModelAlias: client.registry.setAlias,
      deleteModelAlias: client.registry.deleteAlias,
      predictWithAlias: client.registry.predict,
      createWebhook: client.webhooks.create,
      listWebhooks: client.webhooks.list,
      getWebhook: client.webhooks.get,
      deleteWebhook: client.webhooks.delete,
      listWebhookDeliveries: client.webhooks.deliveries,
      getUsage: client.usage,
    };
    const doc = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const operationIds = Object.values(doc.paths as Record<string, Record<string, { operationId: string }>>)
      .flatMap((operations) => Object.values(operations).map((operation) => operation.operationId))
      .sort();
    expect(Object.keys(byOperation).sort()).toEqual(operationIds);
    for (const calls of Object.values(byOperation)) {
      for (const call of [calls].flat()) expect(call).toBeTypeOf('function');
    }
  });

  it('health, dry run, events token, usage, deletes and webhooks answer through the client', async () => {
    expect(await client.healthy()).toBe(true);
    expect(await client.ready()).toBe(true);

    const dataset = await client.datasets.create(XOR_DATASET);
    const network = await client.networks.create(NETWORK);
    const body = {
      datasetId: dataset.id,
      networkId: network.id,
      training: { learningRate: 0.5, iterations: 10 },
    };
    const dryRun = await client.jobs.dryRun(body);
    expect(dryRun.parameterCount).toBe(4 * 2 + 4 + 4 + 1);
    expect((await client.jobs.list()).items).toHaveLength(0);

    const job = await client.jobs.create(body);
    expect((await client.jobs.eventsToken(job.id)).token).toEqual(expect.any(String));
    expect((await client.usage()).activeJobs.count).toBe(1);
    await client.jobs.cancel(job.id);
    await client.jobs.delete(job.id);
    await expect(client.jobs.get(job.id)).rejects.toMatchObject({ status: 404 });
    await client.networks.delete(network.id);
    await client.datasets.delete(dataset.id);
    await expect(client.datasets.get(dataset.id)).rejects.toMatchObject({ status: 404 });

    const webhook = await client.webhooks.create({
      url: 'http://127.0.0.1:9/hook',
      events: ['job.succeeded'],
    });
    expect(webhook.secret).toMatch(/^whsec_/);
    expect((await client.webhooks.get(webhook.id)).url).toBe('http://127.0.0.1:9/hook');
    expect((await client.webhooks.list()).items.map((w) => w.id)).toEqual([webhook.id]);
    expect((await client.webhooks.deliveries(webhook.id)).items).toEqual([]);
    await client.webhooks.delete(webhook.id);
    expect((await client.webhooks.list()).items).toEqual([]);
  });
});

describe('retries after Retry-After on 429', () => {
  let ctx: ApiContext;
  let baseUrl: string;

  beforeAll(async () => {
    ctx = await createApiContext({ RATE_LIMIT_MAX: '2', RATE_LIMIT_WINDOW_MS: '2000' });
    baseUrl = await listen(ctx);
  });
  afterAll(async () => ctx?.close());

  it('a rate-limited request is retried after the server’s Retry-After and then succeeds', async () => {
    // The real fetch, with each answer's status and Retry-After recorded to prove a 429 was met.
    const answers: { status: number; retryAfter: string | null }[] = [];
    const recording: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      answers.push({ status: response.status, retryAfter: response.headers.get('retry-after') });
      return response;
    };
    const client = new BackpropClient({
      baseUrl,
      apiKey: ctx.apiKey,
      fetch: recording,
      retry: { maxRetries: 20, maxDelayMs: 5000 },
    });
    // Six requests at once against a limit of two per window: some must be refused, then retried.
    const pages = await Promise.all(Array.from({ length: 6 }, () => client.jobs.list()));
    expect(pages.every((page) => Array.isArray(page.items))).toBe(true);
    const refused = answers.filter((answer) => answer.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((answer) => answer.retryAfter !== null && /^\d+$/.test(answer.retryAfter))).toBe(
      true,
    );
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(6);
  });

  it('without retries left, the 429 is a BackpropError', async () => {
    const client = new BackpropClient({ baseUrl, apiKey: ctx.apiKey, retry: { maxRetries: 0 } });
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => client.jobs.list()));
    const rejected = results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
    expect(rejected.length).toBeGreaterThan(0);
    for (const reason of rejected) {
      expect(reason).toBeInstanceOf(BackpropError);
      expect(reason).toMatchObject({ status: 429 });
    }
  });
});
