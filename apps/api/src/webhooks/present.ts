/** Webhook rows as the API shows them (never the secret). */
import { type Webhook, type WebhookDelivery, WebhookEventType } from '@backprop/contracts';
import type { WebhookEndpointSummary } from '@backprop/db';
import { z } from 'zod';

const StoredEvents = z.array(WebhookEventType);

export function toWebhook(row: WebhookEndpointSummary): Webhook {
  return {
    id: row.id,
    url: row.url,
    events: StoredEvents.parse(row.events),
    createdAt: row.createdAt.toISOString(),
    disabledAt: row.disabledAt?.toISOString() ?? null,
  };
}

interface DeliveryRow {
  id: string;
  event: string;
  jobId: string;
  status: WebhookDelivery['status'];
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: Date;
  lastAttemptAt: Date | null;
  nextAttemptAt: Date | null;
  finishedAt: Date | null;
}

export function toWebhookDelivery(row: DeliveryRow): WebhookDelivery {
  return {
    id: row.id,
    event: WebhookEventType.parse(row.event),
    jobId: row.jobId,
    status: row.status,
    attempts: row.attempts,
    lastStatusCode: row.lastStatusCode,
    lastError: row.lastError,
    createdAt: row.createdAt.toISOString(),
    lastAttemptAt: row.lastAttemptAt?.toISOString() ?? null,
    nextAttemptAt: row.nextAttemptAt?.toISOString() ?? null,
    finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}
