/**
 * Webhooks: endpoints a tenant registers to be told when its jobs end, the delivery log, and the
 * event each delivery carries (Standard Webhooks: `{ type, timestamp, data }`, signed).
 */
import { z } from 'zod';
import { Id, PageQuery, page, StoredText, Timestamp } from './common.ts';

export const WEBHOOK_QUEUE = 'webhooks';
export const WEBHOOK_JOB_NAME = 'deliver';

export const WebhookEventType = z
  .enum(['job.succeeded', 'job.failed', 'job.cancelled'])
  .describe('job.succeeded, job.failed or job.cancelled: a job reached that terminal status');
export type WebhookEventType = z.infer<typeof WebhookEventType>;

/** Absolute ceiling of a URL's length in a request; WEBHOOK_URL_MAX_LENGTH (lower) is the limit. */
export const WEBHOOK_URL_CEILING = 65_536;

export const CreateWebhook = z.strictObject({
  url: StoredText.min(1)
    .max(WEBHOOK_URL_CEILING)
    .describe(
      'An http or https URL, at most WEBHOOK_URL_MAX_LENGTH characters, without credentials, whose host resolves to public addresses only',
    ),
  events: z
    .array(WebhookEventType)
    .min(1)
    .max(WebhookEventType.options.length)
    .refine((events) => new Set(events).size === events.length, { message: 'must not repeat an event' })
    .describe('The events to deliver'),
});
export type CreateWebhook = z.infer<typeof CreateWebhook>;

export const Webhook = z
  .object({
    id: Id,
    url: z.string(),
    events: z.array(WebhookEventType),
    createdAt: Timestamp,
    disabledAt: Timestamp.nullable().describe(
      'Set when the receiver answered 410 Gone: nothing more is delivered to it',
    ),
  })
  .meta({ id: 'Webhook' });
export type Webhook = z.infer<typeof Webhook>;

export const CreatedWebhook = Webhook.extend({
  secret: z
    .string()
    .describe(
      'The signing secret (`whsec_` + base64), shown only in this answer: verify deliveries with it as the Standard Webhooks specification says',
    ),
}).meta({ id: 'CreatedWebhook' });
export type CreatedWebhook = z.infer<typeof CreatedWebhook>;

export const WebhookPage = page(Webhook);
export const ListWebhooksQuery = PageQuery;

export const WebhookDeliveryStatus = z
  .enum(['pending', 'succeeded', 'failed'])
  .describe('pending (being tried, or waiting for its next attempt), succeeded (a 2xx), failed (gave up)');

export const WebhookDelivery = z
  .object({
    id: Id.describe('Also the `webhook-id` header of every attempt: the receiver can de-duplicate on it'),
    event: WebhookEventType,
    jobId: Id,
    status: WebhookDeliveryStatus,
    attempts: z.number().int().describe('Attempts made so far'),
    lastStatusCode: z
      .number()
      .int()
      .nullable()
      .describe("The last attempt's HTTP status, null if none came back"),
    lastError: z
      .string()
      .nullable()
      .describe('Why the last attempt failed (timeout, refused address, 3xx, ...)'),
    createdAt: Timestamp,
    lastAttemptAt: Timestamp.nullable(),
    nextAttemptAt: Timestamp.nullable().describe(
      'When the next attempt is due; null once the delivery ended',
    ),
    finishedAt: Timestamp.nullable(),
  })
  .meta({ id: 'WebhookDelivery' });
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;

export const WebhookDeliveryPage = page(WebhookDelivery);

/** What a delivery's body carries in `data`, as stored when the job ended. */
export const WebhookEventData = z.object({
  jobId: Id,
  status: z.enum(['succeeded', 'failed', 'cancelled']),
  modelId: Id.optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type WebhookEventData = z.infer<typeof WebhookEventData>;

/** The body of a delivery. */
export const WebhookEvent = z.object({
  type: WebhookEventType,
  timestamp: Timestamp.describe('When the job ended'),
  data: WebhookEventData,
});
export type WebhookEvent = z.infer<typeof WebhookEvent>;

/** The queue payload: the delivery's id (Postgres holds the rest). */
export const WebhookJobPayload = z.strictObject({ deliveryId: Id });
export type WebhookJobPayload = z.infer<typeof WebhookJobPayload>;
