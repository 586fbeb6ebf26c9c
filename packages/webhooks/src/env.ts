/**
 * The webhook settings of the API and the worker (each merges them into its own environment
 * schema): the ones both read are defined once, so they cannot be parsed differently.
 */
import { z } from 'zod';
import { parseSecretKey } from './secrets.ts';

const flag = z
  .enum(['true', 'false', ''])
  .default('false')
  .transform((v) => v === 'true');

const count = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

/** The Standard Webhooks specification's example schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h. */
export const DEFAULT_RETRY_SCHEDULE_MS = [
  5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000, 86_400_000,
];

/** Both services: the key that seals secrets, and whether private addresses may be called. */
export const WebhookSharedEnvFields = {
  /** base64 of 32 bytes: signing secrets are stored sealed under it (AES-256-GCM). */
  WEBHOOK_SECRET_KEY: z
    .string()
    .optional()
    .transform((text, ctx) => {
      try {
        return parseSecretKey(text);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  /** Let webhooks call loopback, private and link-local addresses (tests, a private network). */
  WEBHOOK_ALLOW_PRIVATE_ADDRESSES: flag,
};

/** The API: limits of registration. */
export const WebhookApiEnvFields = {
  ...WebhookSharedEnvFields,
  WEBHOOK_MAX_ENDPOINTS_PER_TENANT: count(10),
  WEBHOOK_URL_MAX_LENGTH: z.coerce.number().int().min(10).max(65_536).default(2048),
};

/** The worker: how deliveries are tried. */
export const WebhookWorkerEnvFields = {
  ...WebhookSharedEnvFields,
  /** Delays between attempts, comma-separated milliseconds: one attempt more than delays. */
  WEBHOOK_RETRY_SCHEDULE_MS: z
    .string()
    .default(DEFAULT_RETRY_SCHEDULE_MS.join(','))
    .transform((text, ctx) => {
      const delays = text
        .split(',')
        .map((d) => d.trim())
        .filter(Boolean)
        .map(Number);
      if (delays.some((d) => !Number.isSafeInteger(d) || d < 0)) {
        ctx.addIssue({ code: 'custom', message: 'must be comma-separated whole milliseconds ≥ 0' });
        return z.NEVER;
      }
      return delays;
    }),
  /** One attempt, from connecting to the end of the (capped) response. */
  WEBHOOK_TIMEOUT_MS: count(15_000, 1),
  WEBHOOK_CONNECT_TIMEOUT_MS: count(5_000, 1),
  /** Bytes of a receiver's response read at most (the rest is dropped with the connection). */
  WEBHOOK_RESPONSE_MAX_BYTES: count(4096),
  /** Deliveries in flight at once per worker process. */
  WEBHOOK_CONCURRENCY: count(8, 1),
  /** How often new deliveries are looked for in Postgres and handed to the queue. */
  WEBHOOK_DISPATCH_EVERY_MS: count(1000, 1),
  /** Ended deliveries are deleted from the log after this many days. */
  WEBHOOK_RETENTION_DAYS: count(30, 1),
};
