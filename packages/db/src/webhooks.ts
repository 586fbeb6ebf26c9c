// Webhook endpoints and their deliveries. A delivery row is the outbox: recordJobEvents writes
// one per subscribed endpoint in the transaction that ends the job, so a job that ends always
// has its deliveries, whatever happens to Redis or the process next. The worker's dispatcher
// hands new rows to the webhooks queue; each attempt is recorded here, fenced by the attempt
// count, so a duplicate delivery of the queue job changes nothing.
import { randomUUID } from 'node:crypto';
import type { Db } from './client.ts';
import type { Prisma, WebhookDelivery, WebhookEndpoint } from './generated/prisma/client.ts';
import { assertCount, type DbOrTx, isUuid } from './internal.ts';
import { findPage, type Page, type PageOptions } from './page.ts';
import { tenantLookup } from './tenant-lookup.ts';
import { withTenantLock } from './usage.ts';

/** An endpoint as tenants see it: never its secret. */
export type WebhookEndpointSummary = Omit<WebhookEndpoint, 'secret'>;
const withoutSecret = { secret: true } as const;

export type CreateWebhookEndpointResult =
  | { created: true; endpoint: WebhookEndpointSummary }
  | { created: false; count: number };

/**
 * Registers an endpoint unless the tenant has `maxPerTenant` already (counted under the tenant
 * lock, so concurrent requests cannot overshoot). The id is chosen here so that `seal` can bind
 * the secret to it.
 */
export async function createWebhookEndpoint(
  db: Db,
  input: {
    tenantId: string;
    url: string;
    events: string[];
    maxPerTenant: number;
    /** the secret as stored, sealed for this endpoint id */
    seal: (endpointId: string) => string;
  },
): Promise<CreateWebhookEndpointResult> {
  assertCount(input.maxPerTenant, 'maxPerTenant');
  return withTenantLock(db, input.tenantId, async (tx) => {
    const count = await tx.webhookEndpoint.count({ where: { tenantId: input.tenantId } });
    if (count >= input.maxPerTenant) return { created: false, count } as const;
    const id = randomUUID();
    const endpoint = await tx.webhookEndpoint.create({
      data: { id, tenantId: input.tenantId, url: input.url, events: input.events, secret: input.seal(id) },
      omit: withoutSecret,
    });
    return { created: true, endpoint } as const;
  });
}

export async function listWebhookEndpoints(
  db: DbOrTx,
  tenantId: string,
  options: PageOptions = {},
): Promise<Page<WebhookEndpointSummary>> {
  return findPage(options, { tenantId }, (page) =>
    db.webhookEndpoint.findMany({ ...page, omit: withoutSecret }),
  );
}

/** The endpoint, or null if missing or another tenant's. */
export const getWebhookEndpoint = tenantLookup<WebhookEndpointSummary>((db, key) =>
  db.webhookEndpoint.findFirst({ where: key, omit: withoutSecret }),
);

/** Deletes the endpoint and its delivery log (pending deliveries are dropped). False if missing. */
export async function deleteWebhookEndpoint(db: DbOrTx, tenantId: string, id: string): Promise<boolean> {
  if (!isUuid(id)) return false;
  const { count } = await db.webhookEndpoint.deleteMany({ where: { id, tenantId } });
  return count === 1;
}

/** The endpoint's deliveries, newest first; null if the endpoint is missing or another tenant's. */
export async function listWebhookDeliveries(
  db: DbOrTx,
  tenantId: string,
  endpointId: string,
  options: PageOptions = {},
): Promise<Page<WebhookDelivery> | null> {
  if ((await getWebhookEndpoint(db, tenantId, endpointId)) === null) return null;
  return findPage(options, { endpointId }, (page) => db.webhookDelivery.findMany(page));
}

// ---- the worker's side -------------------------------------------------------------------------

/** Pending deliveries no worker has handed to the queue yet, oldest first. */
export async function findUndispatchedDeliveries(
  db: DbOrTx,
  limit: number,
): Promise<{ id: string; nextAttemptAt: Date | null }[]> {
  assertCount(limit, 'limit', { min: 1 });
  return db.webhookDelivery.findMany({
    where: { status: 'pending', enqueuedAt: null },
    orderBy: { createdAt: 'asc' },
    take: limit,
    select: { id: true, nextAttemptAt: true },
  });
}

/** Pending deliveries already handed to the queue (the reconciler checks that it still holds them). */
export async function findDispatchedDeliveries(
  db: DbOrTx,
  input: { enqueuedBeforeMs: number; limit: number },
): Promise<{ id: string; nextAttemptAt: Date | null }[]> {
  assertCount(input.limit, 'limit', { min: 1 });
  return db.webhookDelivery.findMany({
    where: { status: 'pending', enqueuedAt: { lt: new Date(Date.now() - input.enqueuedBeforeMs) } },
    orderBy: { enqueuedAt: 'asc' },
    take: input.limit,
    select: { id: true, nextAttemptAt: true },
  });
}

export async function markDeliveriesEnqueued(db: DbOrTx, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.webhookDelivery.updateMany({ where: { id: { in: ids } }, data: { enqueuedAt: new Date() } });
}

export interface DeliveryToSend {
  id: string;
  event: string;
  data: Prisma.JsonValue;
  occurredAt: Date;
  attempts: number;
  nextAttemptAt: Date | null;
  endpoint: { id: string; url: string; secret: string; disabledAt: Date | null };
}

/** A pending delivery with its endpoint (secret as stored), or null if it ended or is gone. */
export async function getDeliveryToSend(db: DbOrTx, id: string): Promise<DeliveryToSend | null> {
  if (!isUuid(id)) return null;
  return db.webhookDelivery.findFirst({
    where: { id, status: 'pending' },
    select: {
      id: true,
      event: true,
      data: true,
      occurredAt: true,
      attempts: true,
      nextAttemptAt: true,
      endpoint: { select: { id: true, url: true, secret: true, disabledAt: true } },
    },
  });
}

export interface DeliveryAttempt {
  id: string;
  /** this attempt's number: the row must hold attempt - 1 */
  attempt: number;
  at: Date;
  statusCode: number | null;
  error: string | null;
  /** succeeded (2xx), retry (at nextAttemptAt) or failed (no more attempts) */
  outcome: 'succeeded' | 'retry' | 'failed';
  nextAttemptAt?: Date;
  /** the receiver answered 410 Gone: disable the endpoint too */
  disableEndpoint?: boolean;
}

/**
 * Records an attempt. Returns false and changes nothing unless the delivery is pending with
 * attempt - 1 attempts: another holder of the same queue job recorded this attempt already.
 */
export async function recordDeliveryAttempt(db: Db, input: DeliveryAttempt): Promise<boolean> {
  assertCount(input.attempt, 'attempt', { min: 1 });
  if (input.outcome === 'retry' && input.nextAttemptAt === undefined) {
    throw new RangeError('a retry needs nextAttemptAt');
  }
  const finished = input.outcome !== 'retry';
  const update = db.webhookDelivery.updateMany({
    where: { id: input.id, status: 'pending', attempts: input.attempt - 1 },
    data: {
      attempts: input.attempt,
      status: input.outcome === 'retry' ? 'pending' : input.outcome,
      lastStatusCode: input.statusCode,
      lastError: input.error,
      lastAttemptAt: input.at,
      nextAttemptAt: finished ? null : (input.nextAttemptAt ?? null),
      finishedAt: finished ? input.at : null,
    },
  });
  if (!input.disableEndpoint) return (await update).count === 1;
  const [updated] = await db.$transaction([
    update,
    db.$executeRaw`
      UPDATE "WebhookEndpoint" SET "disabledAt" = now()
      WHERE "id" = (SELECT "endpointId" FROM "WebhookDelivery" WHERE "id" = ${input.id}::uuid)
        AND "disabledAt" IS NULL`,
  ]);
  return updated.count === 1;
}

/** Ends a pending delivery without an attempt (its endpoint was disabled: it would never be sent). */
export async function abandonDelivery(db: DbOrTx, deliveryId: string, reason: string): Promise<void> {
  await db.webhookDelivery.updateMany({
    where: { id: deliveryId, status: 'pending' },
    data: { status: 'failed', lastError: reason, nextAttemptAt: null, finishedAt: new Date() },
  });
}

/** Deletes deliveries that ended more than `olderThanMs` ago (the log's retention). */
export async function deleteFinishedDeliveries(db: DbOrTx, olderThanMs: number): Promise<number> {
  assertCount(olderThanMs, 'olderThanMs');
  const { count } = await db.webhookDelivery.deleteMany({
    where: { finishedAt: { lt: new Date(Date.now() - olderThanMs) } },
  });
  return count;
}
