/** The producer side of the training queue. */
import { TRAINING_QUEUE, trainingJobOptions } from '@backprop/contracts';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

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
  return { queue, redis: connection };
}
