/**
 * `npx tsx scripts/bench/events.ts [--subscribers 200] [--events 40]`: what live-event subscribers
 * cost with one Redis connection each (the API's design, ARCHITECTURE.md "Live events"). The API
 * runs in this process on its own database and queue prefix (harness/api-context.ts), listening
 * on a port; N subscribers open GET /v1/jobs/:id/events over real HTTP on one job; then cost events
 * are appended one every 50 ms through the same script the worker uses. Printed: the API process's
 * RSS and Redis's connected clients before and after the subscribers opened (per subscriber), the
 * time to open them all, and the delivery latency from append to each subscriber (p50, p99, max).
 */
import { parseArgs } from 'node:util';
import { appendJobEvents } from '@backprop/contracts';
import { createApiContext } from '../../harness/api-context.ts';
import { queueSmallestJob } from '../../harness/api-fixtures.ts';
import { openSse, type SseStream } from '../../harness/sse.ts';

export async function benchEvents(subscribers: number, events: number): Promise<Record<string, number>> {
  const ctx = await createApiContext({
    LIMIT_TENANT_EVENT_STREAMS: String(subscribers + 1),
    RATE_LIMIT_MAX: '1000000',
  });
  try {
    await ctx.app.listen({ host: '127.0.0.1', port: 0 });
    const address = ctx.app.server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const jobId = await queueSmallestJob(ctx.app);
    const redis = ctx.app.deps.redis;
    const clients = async () => Number(/connected_clients:(\d+)/.exec(await redis.info('clients'))?.[1]);
    global.gc?.();
    const before = { rss: process.memoryUsage().rss, clients: await clients() };
    const opening = performance.now();
    const streams: SseStream[] = [];
    for (let i = 0; i < subscribers; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, subscribers - i) }, () =>
          openSse(`http://127.0.0.1:${address.port}/v1/jobs/${jobId}/events`, {
            authorization: `Bearer ${ctx.apiKey}`,
          }),
        ),
      );
      streams.push(...batch);
    }
    await Promise.all(streams.map((s) => s.until((m) => m.length >= 1)));
    const openMs = performance.now() - opening;
    global.gc?.();
    const after = { rss: process.memoryUsage().rss, clients: await clients() };

    const sentAt: number[] = [];
    const arrivals = streams.map((s) =>
      s.until((m) => m.filter((e) => e.data.type === 'cost').length >= events, 120_000),
    );
    const retention = { maxLen: 10_000, idleTtlMs: 600_000, finishedTtlMs: 600_000 };
    for (let i = 0; i < events; i++) {
      sentAt[i] = performance.now();
      await appendJobEvents(
        redis,
        ctx.prefix,
        jobId,
        [{ type: 'cost', jobId, index: i, iteration: i, cost: 1 / (i + 1), validationCost: null }],
        retention,
      );
      await new Promise((r) => setTimeout(r, 50));
    }
    await Promise.all(arrivals);
    for (const s of streams) s.close();
    const latencies = streams
      .flatMap((s) =>
        s.messages.flatMap((m) => (m.data.type === 'cost' ? [m.receivedAt - sentAt[m.data.index]!] : [])),
      )
      .sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
    return {
      subscribers,
      openAllMs: Math.round(openMs),
      rssPerSubscriberKiB: Math.round((after.rss - before.rss) / subscribers / 1024),
      redisClientsAdded: after.clients - before.clients,
      latencyP50Ms: Math.round(at(0.5) * 10) / 10,
      latencyP99Ms: Math.round(at(0.99) * 10) / 10,
      latencyMaxMs: Math.round(latencies.at(-1)! * 10) / 10,
    };
  } finally {
    await ctx.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: { subscribers: { type: 'string', default: '200' }, events: { type: 'string', default: '40' } },
  });
  console.log(await benchEvents(Number(values.subscribers), Number(values.events)));
  process.exit(0);
}
