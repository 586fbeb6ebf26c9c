/**
 * Webhook deliveries end to end (issue 10): the API, worker processes started as the README says,
 * real Postgres and Redis, and a real HTTP receiver in this process. A succeeded job's delivery
 * verifies with an independent implementation (the `standardwebhooks` package and node:crypto
 * per the specification); failed attempts are retried on the schedule and logged; a worker
 * killed with SIGKILL between two attempts delivers after a restart; deliveries written while no
 * worker ran are sent once one does; redirects are not followed; private addresses are refused
 * at delivery time (after resolution) without WEBHOOK_ALLOW_PRIVATE_ADDRESSES; a receiver that
 * never answers times out; 410 Gone disables the endpoint.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventually, type WorkerProcess } from '../../../../harness/processes.ts';
import { createReport, createStack, type Stack } from '../process/harness.ts';
import { type Received, type Receiver, startReceiver } from './receiver.ts';

const SECRET_KEY = randomBytes(32).toString('base64');
const SHARED = { WEBHOOK_SECRET_KEY: SECRET_KEY, WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true' };
/** Short delays so that retries take moments (the default schedule spans days). */
const FAST_WEBHOOKS = {
  ...SHARED,
  WEBHOOK_DISPATCH_EVERY_MS: '100',
  WEBHOOK_RETRY_SCHEDULE_MS: '300,300',
  WEBHOOK_TIMEOUT_MS: '5000',
};

type Delivery = {
  id: string;
  event: string;
  jobId: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  finishedAt: string | null;
};

let stack: Stack;
const report = createReport('webhooks/delivery.long.test.ts');
let receiver: Receiver;
let networkId: string;

beforeAll(async () => {
  stack = await createStack(FAST_WEBHOOKS, { ...SHARED, RATE_LIMIT_MAX: '1000000' });
  receiver = await startReceiver();
  networkId = await stack.createNetwork(4);
});
afterAll(async () => {
  report.flush();
  await receiver?.close();
  await stack?.close();
});
beforeEach(async () => {
  // Every test starts with no endpoint (their pending deliveries go with them) and a fresh receiver log.
  await stack.ctx.database.db.webhookEndpoint.deleteMany({});
  receiver.received.length = 0;
  receiver.answer({ status: 200 });
});
afterEach(async () => {
  await stack.killAll();
});

async function startWorker(extra: Record<string, string> = {}): Promise<WorkerProcess> {
  const worker = stack.spawnWorker(extra);
  await worker.waitForLog((l) => l.msg === 'worker ready');
  return worker;
}

async function register(url: string, events: string[]): Promise<{ id: string; secret: string }> {
  const res = await stack.post<{ id: string; secret: string }>('/v1/webhooks', { url, events });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/** A job cancelled at once: its job.cancelled event is what these tests deliver. */
async function cancelledJob(): Promise<string> {
  const jobId = await stack.startJob({ learningRate: 0.1, iterations: 1_000_000 }, networkId);
  const res = await stack.post(`/v1/jobs/${jobId}/cancel`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return jobId;
}

async function log(endpointId: string): Promise<Delivery[]> {
  const res = await stack.get<{ items: Delivery[] }>(`/v1/webhooks/${endpointId}/deliveries`);
  expect(res.status).toBe(200);
  return res.body.items;
}

function waitForDelivery(endpointId: string, done: (d: Delivery) => boolean, timeoutMs = 60_000) {
  return eventually(
    async () => (await log(endpointId))[0],
    (d) => d !== undefined && done(d),
    timeoutMs,
    100,
  ) as Promise<Delivery>;
}

/** The endpoint's delivery once it has ended (no longer pending), checked against `expected`. */
async function endedDelivery(endpointId: string, expected: Partial<Delivery>): Promise<Delivery> {
  const delivery = await waitForDelivery(endpointId, (d) => d.status !== 'pending');
  expect(delivery).toMatchObject(expected);
  return delivery;
}

/** Delivered: the last attempt got a 200 and nothing is left to retry. */
const DELIVERED: Partial<Delivery> = { status: 'succeeded', lastStatusCode: 200, lastError: null };

/** One attempt that got no HTTP answer (refused before sending, or timed out), not retried. */
const UNANSWERED: Partial<Delivery> = { status: 'failed', attempts: 1, lastStatusCode: null };

/** The request's signature checked as the specification describes it, with node:crypto only. */
function verifiesWithNodeCrypto(request: Received, secret: string): boolean {
  const id = String(request.headers['webhook-id']);
  const timestamp = String(request.headers['webhook-timestamp']);
  const expected = createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64'))
    .update(`${id}.${timestamp}.${request.body}`)
    .digest();
  return String(request.headers['webhook-signature'])
    .split(' ')
    .some((sig) => {
      const [version, value] = sig.split(',');
      const given = Buffer.from(value ?? '', 'base64');
      return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
    });
}

function signatureHeaders(request: Received): Record<string, string> {
  return {
    'webhook-id': String(request.headers['webhook-id']),
    'webhook-timestamp': String(request.headers['webhook-timestamp']),
    'webhook-signature': String(request.headers['webhook-signature']),
  };
}

describe('webhook deliveries', () => {
  it('a succeeded job delivers one signed request that verifies independently; other events are not sent', async () => {
    await startWorker();
    const endpoint = await register(`${receiver.url}/hooks/succeeded`, ['job.succeeded']);
    const failedOnly = await register(`${receiver.url}/hooks/failed`, ['job.failed']);
    const jobId = await stack.startJob({ learningRate: 0.5, iterations: 200, seed: 3 }, networkId);
    const job = await stack.waitForStatus(jobId, ['succeeded', 'failed']);
    expect(job.status).toBe('succeeded');

    const delivery = await endedDelivery(endpoint.id, {
      ...DELIVERED,
      event: 'job.succeeded',
      jobId,
      attempts: 1,
      nextAttemptAt: null,
    });
    expect(receiver.received).toHaveLength(1);
    const [request] = receiver.received;
    expect(request!.path).toBe('/hooks/succeeded');
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['webhook-id']).toBe(delivery.id);
    const sentAt = Number(request!.headers['webhook-timestamp']);
    expect(Math.abs(sentAt - request!.at / 1000)).toBeLessThan(60);

    const expected = {
      type: 'job.succeeded',
      timestamp: job.finishedAt,
      data: { jobId, status: 'succeeded', modelId: job.modelId },
    };
    expect(new Webhook(endpoint.secret).verify(request!.body, signatureHeaders(request!))).toEqual(expected);
    expect(verifiesWithNodeCrypto(request!, endpoint.secret)).toBe(true);
    expect(Object.keys(JSON.parse(request!.body))).toEqual(['type', 'timestamp', 'data']);
    // A figure, not a bound: from the job's end to the request's arrival (dispatch every 100 ms here).
    report.record('succeededToDeliveredMs', request!.at - Date.parse(job.finishedAt!));
    // Another endpoint's secret does not verify it: secrets are per endpoint.
    expect(verifiesWithNodeCrypto(request!, failedOnly.secret)).toBe(false);
    expect(await log(failedOnly.id)).toEqual([]);
  });

  it('deliveries written while no worker runs are sent when one starts; 500, 500, 200 is three attempts on the schedule, one webhook-id', async () => {
    const endpoint = await register(`${receiver.url}/hooks/retry`, ['job.cancelled']);
    const jobId = await cancelledJob();
    // No worker yet: the delivery waits in Postgres (the outbox).
    const waiting = await log(endpoint.id);
    expect(waiting).toMatchObject([{ event: 'job.cancelled', jobId, status: 'pending', attempts: 0 }]);

    receiver.answer({ status: 500 }, { status: 500 }, { status: 200 });
    await startWorker();
    const delivery = await endedDelivery(endpoint.id, { ...DELIVERED, attempts: 3 });
    expect(receiver.received).toHaveLength(3);
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id']))).toEqual(new Set([delivery.id]));
    for (const request of receiver.received) {
      expect(new Webhook(endpoint.secret).verify(request.body, signatureHeaders(request))).toMatchObject({
        type: 'job.cancelled',
        data: { jobId, status: 'cancelled' },
      });
    }
    // The schedule (300 ms, then 300 ms, up to 10 % more) is a lower bound on the gaps.
    const [a, b, c] = receiver.received.map((r) => r.at);
    expect(b! - a!).toBeGreaterThanOrEqual(300 - 5);
    expect(c! - b!).toBeGreaterThanOrEqual(300 - 5);
  });

  it('a worker killed with SIGKILL between two attempts delivers after a restart', async () => {
    const slow = { WEBHOOK_RETRY_SCHEDULE_MS: Array.from({ length: 20 }, () => '1000').join(',') };
    const endpoint = await register(`${receiver.url}/hooks/kill`, ['job.cancelled']);
    receiver.answer({ status: 503 });
    const first = await startWorker(slow);
    await cancelledJob();
    const failing = await waitForDelivery(endpoint.id, (d) => d.attempts >= 1);
    expect(failing).toMatchObject({ status: 'pending', lastStatusCode: 503 });
    expect(failing.lastError).toMatch(/^answered 503/);
    expect(failing.nextAttemptAt).not.toBeNull();

    await first.killHard();
    const killedAt = Date.now();
    const attemptsBeforeKill = receiver.received.length;
    // From here on the receiver accepts: only an attempt made after the kill can succeed.
    receiver.answer({ status: 200 });
    await startWorker(slow);
    const delivered = await endedDelivery(endpoint.id, DELIVERED);
    expect(delivered.attempts).toBeGreaterThanOrEqual(attemptsBeforeKill + 1);
    const last = receiver.received.at(-1)!;
    expect(last.at).toBeGreaterThan(killedAt);
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id']))).toEqual(new Set([delivered.id]));
  });

  it('a redirect is a failed attempt, not followed; a 410 Gone disables the endpoint', async () => {
    await startWorker({ WEBHOOK_RETRY_SCHEDULE_MS: '' });
    const redirected = await register(`${receiver.url}/hooks/moved`, ['job.cancelled']);
    receiver.answer({ status: 302, headers: { location: `${receiver.url}/elsewhere` } });
    await cancelledJob();
    const delivery = await endedDelivery(redirected.id, {
      status: 'failed',
      attempts: 1,
      lastStatusCode: 302,
      nextAttemptAt: null,
    });
    expect(delivery.lastError).toContain('redirects are not followed');
    expect(receiver.received.map((r) => r.path)).toEqual(['/hooks/moved']);

    await stack.ctx.database.db.webhookEndpoint.deleteMany({});
    receiver.received.length = 0;
    const gone = await register(`${receiver.url}/hooks/gone`, ['job.cancelled']);
    receiver.answer({ status: 410 });
    await cancelledJob();
    await endedDelivery(gone.id, { status: 'failed', lastStatusCode: 410 });
    const endpoint = await stack.get<{ disabledAt: string | null }>(`/v1/webhooks/${gone.id}`);
    expect(endpoint.body.disabledAt).not.toBeNull();
    // A disabled endpoint gets nothing more: the next job's end writes no delivery for it (the
    // outbox rows are written by the cancel's own transaction, so this holds when it returns).
    await cancelledJob();
    expect(await log(gone.id)).toHaveLength(1);
    expect(receiver.received).toHaveLength(1);
  });

  it('without WEBHOOK_ALLOW_PRIVATE_ADDRESSES the worker refuses private addresses at delivery, by literal and after resolving a name', async () => {
    await startWorker({ WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'false', WEBHOOK_RETRY_SCHEDULE_MS: '' });
    // Registered while the API allowed them (or a name that resolved elsewhere then: DNS rebinding).
    const literal = await register(`${receiver.url}/hooks/literal`, ['job.cancelled']);
    const named = await register(`http://localhost:${receiver.port}/hooks/named`, ['job.cancelled']);
    await cancelledJob();
    const byLiteral = await endedDelivery(literal.id, UNANSWERED);
    expect(byLiteral.lastError).toBe('127.0.0.1 is a loopback address, which webhooks may not call');
    const byName = await endedDelivery(named.id, UNANSWERED);
    expect(byName.lastError).toMatch(/^localhost resolves to (127\.0\.0\.1|::1), a loopback address/);
    expect(receiver.received).toEqual([]);
  });

  it('a receiver that never answers times out (WEBHOOK_TIMEOUT_MS)', async () => {
    await startWorker({ WEBHOOK_RETRY_SCHEDULE_MS: '', WEBHOOK_TIMEOUT_MS: '500' });
    const endpoint = await register(`${receiver.url}/hooks/hang`, ['job.cancelled']);
    receiver.answer('hang');
    await cancelledJob();
    const delivery = await endedDelivery(endpoint.id, UNANSWERED);
    expect(delivery.lastError).toBe('no answer within WEBHOOK_TIMEOUT_MS = 500 ms');
    expect(receiver.received).toHaveLength(1);
  });
});
