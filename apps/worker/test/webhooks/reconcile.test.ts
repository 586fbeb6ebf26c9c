/**
 * The webhook reconciler in-process against a real Postgres and Redis: a pending delivery that
 * was handed to the queue and is no longer there (Redis lost it) is added back; one the queue
 * still holds, or handed over only just now, is left alone; a finished one past its retention goes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { WEBHOOK_JOB_NAME, WEBHOOK_QUEUE } from '@backprop/contracts';
import { createTenant, createWebhookEndpoint } from '@backprop/db';
import { createTestDatabase, type TestDatabase } from '@backprop/db/testing';
import { Queue } from 'bullmq';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcileDeliveries } from '../../src/webhooks/dispatch.ts';

const HOUR_MS = 3600 * 1000;
let database: TestDatabase;
let queue: Queue;
let endpointId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  queue = new Queue(WEBHOOK_QUEUE, {
    connection: { url: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379' },
    prefix: `bp-test-${randomBytes(6).toString('hex')}`,
  });
  const tenant = await createTenant(database.db, { name: 'reconcile-test' });
  const created = await createWebhookEndpoint(database.db, {
    tenantId: tenant.id,
    url: 'https://example.com/hook',
    events: ['job.succeeded'],
    maxPerTenant: 10,
    seal: () => 'not-a-real-secret',
  });
  if (!created.created) throw new Error('the endpoint was not created');
  endpointId = created.endpoint.id;
});

afterAll(async () => {
  await queue?.obliterate({ force: true }).catch(() => undefined);
  await queue?.close();
  await database?.drop();
});

async function delivery(fields: {
  enqueuedAt: Date | null;
  finishedAt?: Date;
  status?: 'pending' | 'succeeded';
}) {
  const row = await database.db.webhookDelivery.create({
    data: {
      endpointId,
      jobId: randomUUID(),
      event: 'job.succeeded',
      data: {},
      occurredAt: new Date(),
      status: fields.status ?? 'pending',
      enqueuedAt: fields.enqueuedAt,
      ...(fields.finishedAt ? { finishedAt: fields.finishedAt, nextAttemptAt: null } : {}),
    },
  });
  return row.id;
}

describe('reconcileDeliveries', () => {
  it('adds back exactly the handed-over pending deliveries the queue lost, and applies the retention', async () => {
    const anHourAgo = new Date(Date.now() - HOUR_MS);
    const held = await delivery({ enqueuedAt: anHourAgo });
    const lost = await delivery({ enqueuedAt: anHourAgo });
    const justHandedOver = await delivery({ enqueuedAt: new Date() });
    const expired = await delivery({
      enqueuedAt: anHourAgo,
      status: 'succeeded',
      finishedAt: new Date(Date.now() - 40 * 24 * HOUR_MS),
    });
    await queue.add(WEBHOOK_JOB_NAME, { deliveryId: held }, { jobId: held, delay: HOUR_MS });
    const heldAddedAt = (await queue.getJob(held))?.timestamp;

    const added = await reconcileDeliveries(database.db, queue, pino({ level: 'silent' }), {
      handedOverBeforeMs: 60_000,
      retentionDays: 30,
    });

    expect(added).toBe(1);
    expect((await queue.getJob(lost))?.data).toEqual({ deliveryId: lost });
    expect((await queue.getJob(held))?.timestamp).toBe(heldAddedAt);
    expect(await queue.getJob(justHandedOver)).toBeUndefined();
    expect(await database.db.webhookDelivery.findUnique({ where: { id: expired } })).toBeNull();
    // A second round finds nothing more to do.
    expect(
      await reconcileDeliveries(database.db, queue, pino({ level: 'silent' }), {
        handedOverBeforeMs: 60_000,
        retentionDays: 30,
      }),
    ).toBe(0);
  });
});
