/** The producer side of the training queue. */
import { TRAINING_QUEUE, trainingJobOptions } from '@backprop/contracts';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { z } from 'zod';

/** CONFIG GET's reply: name, value, name, value, … */
const ConfigReply = z.array(z.string());

/**
 * A queue whose connection fails fast while Redis is down (no offline command buffer), so the
 * API answers 503 at once instead of hanging (RELIABILITY.md P5, scenario 7).
 */
export function createTrainingQueue(
  redisUrl: string,
  attempts: number,
  prefix: string,
): { queue: Queue; redis: Redis } {
  const connection = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  connection.on('error', () => {
    // Reported through readiness and 503s; ioredis reconnects by itself.
  });
  const queue = new Queue(TRAINING_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: trainingJobOptions(attempts),
  });
  // BullMQ re-emits connection errors on the queue and prints them when nobody listens.
  queue.on('error', () => {});
  return { queue, redis: connection };
}

/**
 * True if Redis answered and refused the write: out of memory under noeviction, a read-only
 * replica, a failed snapshot. Unlike a dropped connection, nothing was enqueued and nothing will
 * be until an operator acts, so the API refuses the job (503) rather than accepting it for later.
 */
export function isQueueRefusal(error: unknown): boolean {
  const err = error as { name?: unknown; message?: unknown } | null;
  return (
    typeof err?.message === 'string' &&
    err.name === 'ReplyError' &&
    /^(OOM|READONLY|MISCONF|NOREPLICAS)\b/.test(err.message)
  );
}

/**
 * BullMQ is only correct on a Redis that never evicts keys (an evicted lock or job loses work,
 * RELIABILITY.md P5). Checks `maxmemory-policy` each time the connection becomes ready (so also
 * after Redis restarts with another configuration) and calls `onEvicting` with a bad policy.
 * A Redis without CONFIG (some managed services) is trusted.
 */
export function watchEvictionPolicy(redis: Redis, onEvicting: (policy: string) => void): void {
  const check = () => {
    redis.config('GET', 'maxmemory-policy').then(
      (reply) => {
        const policy = ConfigReply.safeParse(reply).data?.[1];
        if (policy && policy !== 'noeviction') onEvicting(policy);
      },
      () => undefined,
    );
  };
  redis.on('ready', check);
  if (redis.status === 'ready') check();
}
