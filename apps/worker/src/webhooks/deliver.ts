/**
 * The processor of the webhooks queue: one attempt of one delivery. Postgres holds the delivery
 * (its attempts, when the next is due); the queue job only brings it back at the right time. An
 * attempt is recorded with a compare-and-set on the attempt count, so a queue job delivered twice
 * (a stalled worker) records each attempt once. A receiver may still see an event twice (the
 * process died after sending, before recording): the `webhook-id` is the same, to de-duplicate on.
 */
import { WebhookEvent, WebhookJobPayload } from '@backprop/contracts';
import { abandonDelivery, type Db, getDeliveryToSend, recordDeliveryAttempt } from '@backprop/db';
import { openSecret, signatureHeaders } from '@backprop/webhooks';
import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import type { WorkerEnv } from '../env.ts';
import { errorText } from '../error-text.ts';
import { nextDelayMs } from './schedule.ts';
import { type AttemptResult, sendAttempt } from './send.ts';

/** A queue job that comes back this much before its attempt is due waits again. */
const EARLY_MS = 500;

export type DeliveryOutcome = 'succeeded' | 'retry' | 'failed' | 'ended' | 'abandoned' | 'duplicate';

export async function processDelivery(
  deps: { env: WorkerEnv; db: Db; log: Logger },
  job: Job,
  token: string | undefined,
): Promise<DeliveryOutcome> {
  const { env, db } = deps;
  const parsed = WebhookJobPayload.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`invalid payload: ${parsed.error.message}`);
  const { deliveryId } = parsed.data;
  const log = deps.log.child({ deliveryId });
  const delivery = await getDeliveryToSend(db, deliveryId);
  if (delivery === null) return 'ended'; // delivered, given up, or its endpoint deleted
  if (delivery.endpoint.disabledAt !== null) {
    await abandonDelivery(db, deliveryId, 'not sent: the endpoint was disabled (it answered 410 Gone)');
    return 'abandoned';
  }
  const due = delivery.nextAttemptAt?.getTime() ?? 0;
  if (token && due - Date.now() > EARLY_MS) {
    // Back before its time (a stall or the reconciler re-added it): Postgres has the schedule.
    await job.moveToDelayed(due, token);
    throw new DelayedError();
  }

  const attempt = delivery.attempts + 1;
  const at = new Date();
  const body = JSON.stringify(
    WebhookEvent.parse({
      type: delivery.event,
      timestamp: delivery.occurredAt.toISOString(),
      data: delivery.data,
    }),
  );
  let result: AttemptResult;
  try {
    const secret = openSecret(delivery.endpoint.secret, env.WEBHOOK_SECRET_KEY, delivery.endpoint.id);
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'backprop-webhooks',
      ...signatureHeaders({
        id: delivery.id,
        timestampSeconds: Math.floor(at.getTime() / 1000),
        body,
        secret,
      }),
    };
    result = await sendAttempt(
      delivery.endpoint.url,
      { headers, body },
      {
        timeoutMs: env.WEBHOOK_TIMEOUT_MS,
        connectTimeoutMs: env.WEBHOOK_CONNECT_TIMEOUT_MS,
        maxResponseBytes: env.WEBHOOK_RESPONSE_MAX_BYTES,
        allowPrivate: env.WEBHOOK_ALLOW_PRIVATE_ADDRESSES,
      },
    );
  } catch (err) {
    // The secret cannot be opened (WEBHOOK_SECRET_KEY missing or another one): a failed attempt
    // whose error tells the operator; later attempts succeed once the key is right.
    result = { statusCode: null, error: errorText(err), retryAfterMs: null };
  }

  const succeeded = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
  const gone = result.statusCode === 410;
  const delayMs =
    succeeded || gone ? null : nextDelayMs(env.WEBHOOK_RETRY_SCHEDULE_MS, attempt, result.retryAfterMs);
  const outcome = succeeded ? 'succeeded' : delayMs === null ? 'failed' : 'retry';
  const nextAttemptAt = delayMs === null ? undefined : new Date(Date.now() + delayMs);
  const recorded = await recordDeliveryAttempt(db, {
    id: deliveryId,
    attempt,
    at,
    statusCode: result.statusCode,
    error: gone ? 'answered 410 Gone: the endpoint is disabled' : result.error,
    outcome,
    ...(nextAttemptAt ? { nextAttemptAt } : {}),
    ...(gone ? { disableEndpoint: true } : {}),
  });
  log.info(
    { attempt, outcome, statusCode: result.statusCode, error: result.error, nextAttemptAt, recorded },
    'webhook attempt',
  );
  if (!recorded) return 'duplicate';
  if (nextAttemptAt && token) {
    await job.moveToDelayed(nextAttemptAt.getTime(), token);
    throw new DelayedError();
  }
  return outcome;
}
