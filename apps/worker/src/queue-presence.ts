/**
 * Where a queue holds each of some job ids, in one pipelined round trip: the reconcilers of
 * training jobs and of webhook deliveries ask it of every row they check. (One getJob + getState
 * per row took two round trips each; with a backlog of waiting jobs, a window of rows never
 * reached the orphans behind them.)
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

export interface QueuePresence {
  /** The queue holds the job (in any state). */
  held: boolean;
  /** It is in the completed set. */
  completed: boolean;
  /** It is in the failed set. */
  failed: boolean;
}

export async function queuePresence(queue: Queue, ids: readonly string[]): Promise<QueuePresence[]> {
  // BullMQ types its client abstractly; on the Redis backend it is the ioredis connection.
  const client = (await queue.getBackend().client) as unknown as Redis;
  const pipeline = client.pipeline();
  for (const id of ids) {
    pipeline.exists(queue.toKey(id));
    pipeline.zscore(queue.keys.completed!, id);
    pipeline.zscore(queue.keys.failed!, id);
  }
  const replies = (await pipeline.exec()) ?? [];
  return ids.map((_, i) => {
    const [exists, completed, failed] = [0, 1, 2].map((k) => {
      const [err, value] = replies[3 * i + k] ?? [new Error('no reply'), null];
      if (err) throw err;
      return value;
    });
    return { held: exists === 1, completed: completed !== null, failed: failed !== null };
  });
}
