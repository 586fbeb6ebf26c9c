/**
 * A real worker process's job, watched live (GET /v1/jobs/:id/events over real HTTP): the events
 * the worker writes to Redis reach a subscriber of the in-process API, agree with what Postgres
 * holds (GET /v1/jobs/:id/costs), and the stream ends after `succeeded`. A subscriber that drops
 * mid-run and comes back with Last-Event-ID misses nothing and gets nothing twice.
 * The events themselves, case by case, are in apps/api/test/events.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { openSse, type SseMessage } from '../../../../harness/sse.ts';
import { type Stack, useStack } from './harness.ts';

let stack: Stack;
let base: string;
useStack('events.long.test.ts', (created) => {
  stack = created;
});

async function baseUrl(): Promise<string> {
  if (!base) {
    await stack.ctx.app.listen({ host: '127.0.0.1', port: 0 });
    const address = stack.ctx.app.server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    base = `http://127.0.0.1:${address.port}`;
  }
  return base;
}

const auth = () => ({ authorization: `Bearer ${stack.ctx.apiKey}` });
const lasting = (messages: SseMessage[]) =>
  messages.filter((m) => m.data.type !== 'progress').map((m) => `${m.data.type} ${m.id}`);

describe('a real job, watched live', () => {
  it('streams queued, running, every recorded cost (as /costs has them, with validation costs), progress, then succeeded, and ends', async () => {
    const url = await baseUrl();
    const jobId = await stack.startJob(
      { learningRate: 1.2, iterations: 6000, costEvery: 500, validationSplit: 0.2, seed: 3 },
      await stack.createNetwork(4),
    );
    const stream = await openSse(`${url}/v1/jobs/${jobId}/events`, auth());
    expect(stream.status).toBe(200);
    await stream.until((m) => m.length > 0);
    stack.spawnWorker();
    expect(await stream.ended).toBe(true);

    const events = stream.messages.map((m) => m.data);
    const statuses = events.flatMap((e) => (e.type === 'status' ? [e.status] : []));
    expect(statuses).toEqual(['queued', 'running', 'succeeded']);
    const costs = events.flatMap((e) => (e.type === 'cost' ? [e] : []));
    const stored = (await stack.get<{ costs: number[] }>(`/v1/jobs/${jobId}/costs`)).body.costs;
    expect(costs.length).toBeGreaterThanOrEqual(3);
    expect(costs.map((c) => c.index)).toEqual(stored.map((_, i) => i));
    expect(costs.map((c) => c.cost)).toEqual(stored);
    expect(costs.map((c) => c.iteration)).toEqual(stored.map((_, i) => Math.min(500 * i, 6000)));
    for (const c of costs) expect(c.validationCost).toEqual(expect.any(Number));

    const progress = events.flatMap((e) => (e.type === 'progress' ? [e] : []));
    expect(progress.length).toBeGreaterThanOrEqual(1);
    const last = progress.at(-1)!;
    expect(last).toMatchObject({ iteration: 6000, iterations: 6000, etaMs: 0 });
    expect(last.iterationsPerSecond).toBeGreaterThan(0);
    // The terminal status comes last and names the model.
    const job = await stack.job(jobId);
    expect(events.at(-1)).toMatchObject({ type: 'status', status: 'succeeded', modelId: job.modelId });
  });

  it('a subscriber that drops mid-run and reconnects with Last-Event-ID gets every missed event once', async () => {
    const url = await baseUrl();
    stack.spawnWorker();
    const jobId = await stack.startJob(
      { learningRate: 1.2, iterations: 20_000, costEvery: 1000 },
      await stack.createNetwork(4),
    );
    const first = await openSse(`${url}/v1/jobs/${jobId}/events`, auth());
    await first.until((m) => m.filter((e) => e.data.type === 'cost').length >= 2, 120_000);
    first.close();
    const seen = [...first.messages];
    // Away for a while: the worker goes on.
    await new Promise((r) => setTimeout(r, 500));
    const again = await openSse(`${url}/v1/jobs/${jobId}/events`, {
      ...auth(),
      'last-event-id': seen.at(-1)!.id!,
    });
    expect(await again.ended).toBe(true);

    const all = [...seen, ...again.messages];
    const ids = lasting(all);
    expect(new Set(ids).size).toBe(ids.length);
    const costs = all.flatMap((m) => (m.data.type === 'cost' ? [m.data] : []));
    const stored = (await stack.get<{ costs: number[] }>(`/v1/jobs/${jobId}/costs`)).body.costs;
    expect(costs.map((c) => c.index)).toEqual(stored.map((_, i) => i));
    expect(costs.map((c) => c.cost)).toEqual(stored);
    // And a fresh subscriber now gets the same lasting events with the same ids.
    const late = await openSse(`${url}/v1/jobs/${jobId}/events`, auth());
    expect(await late.ended).toBe(true);
    expect(lasting(late.messages)).toEqual(ids);
  });

  it('a job handed back by a stopping worker shows queued, then running again on the next worker, with every cost point once', async () => {
    const url = await baseUrl();
    const first = stack.spawnWorker();
    const jobId = await stack.startJob(
      { learningRate: 1.2, iterations: 20_000, costEvery: 1000 },
      await stack.createNetwork(4),
    );
    const stream = await openSse(`${url}/v1/jobs/${jobId}/events`, auth());
    await stream.until((m) => m.filter((e) => e.data.type === 'cost').length >= 2, 120_000);
    first.kill('SIGTERM');
    await stream.until((m) => m.filter((e) => e.data.type === 'status').length >= 3, 120_000);
    stack.spawnWorker();
    expect(await stream.ended).toBe(true);

    const events = stream.messages.map((m) => m.data);
    const statuses = events.flatMap((e) => (e.type === 'status' ? [e.status] : []));
    // Unless the job finished before the stop reached it (then: queued, running, succeeded).
    if (statuses.length > 3)
      expect(statuses).toEqual(['queued', 'running', 'queued', 'running', 'succeeded']);
    else expect(statuses).toEqual(['queued', 'running', 'succeeded']);
    const stored = (await stack.get<{ costs: number[] }>(`/v1/jobs/${jobId}/costs`)).body.costs;
    const costs = events.flatMap((e) => (e.type === 'cost' ? [e] : []));
    expect(costs.map((c) => c.index)).toEqual(stored.map((_, i) => i));
    expect(costs.map((c) => c.cost)).toEqual(stored);
  });

  it('a diverging job ends its stream with failed and the error; a cancelled one with cancelled', async () => {
    const url = await baseUrl();
    stack.spawnWorker();
    // Linear regression with a learning rate far above the stable limit: the cost overflows.
    const xs = Array.from({ length: 40 }, (_, i) => [i / 4]);
    const dataset = await stack.post<{ id: string }>('/v1/datasets', {
      features: xs,
      labels: xs.map(([x]) => 3 * x! + 0.5),
    });
    const linear = await stack.post<{ id: string }>('/v1/networks', {
      inputSize: 1,
      layers: [{ units: 1, activation: 'linear' }],
    });
    const diverging = await stack.startJob(
      { learningRate: 50, iterations: 10_000, costEvery: 1, normalize: 'none' },
      linear.body.id,
      dataset.body.id,
    );
    const failed = await openSse(`${url}/v1/jobs/${diverging}/events`, auth());
    expect(await failed.ended).toBe(true);
    expect(failed.messages.at(-1)!.data).toMatchObject({
      type: 'status',
      status: 'failed',
      error: { code: 'BP_ERR_DIVERGED' },
    });

    const long = await stack.startJob(
      { learningRate: 0.3, iterations: 500_000, costEvery: 1000 },
      await stack.createNetwork(8),
    );
    const cancelled = await openSse(`${url}/v1/jobs/${long}/events`, auth());
    await cancelled.until((m) => m.some((e) => e.data.type === 'cost'), 120_000);
    expect((await stack.post(`/v1/jobs/${long}/cancel`)).status).toBe(200);
    expect(await cancelled.ended).toBe(true);
    expect(cancelled.messages.at(-1)!.data).toMatchObject({ type: 'status', status: 'cancelled' });
  });
});
