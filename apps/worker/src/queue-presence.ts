/**
 * Where a queue holds the job of each of some rows (job id = row id), in one pipelined round trip:
 * the reconcilers of training jobs and of webhook deliveries ask it of every row they check. (One
 * getJob + getState per row took two round trips each; with a backlog of waiting jobs, a window
 * of rows never reached the orphans behind them.)
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

/** Each row, in order, with where the queue holds its job; no round trip for no rows. */
export async function queuePresence<Row extends { id: string }>(
  queue: Queue,
  rows: readonly Row[],
): Promise<({ row: Row } & QueuePresence)[]> {
  if (rows.length === 0) return [];
  // BullMQ types its client abstractly; on the Redis backend it is the ioredis connection.
  const client = (await queue.getBackend().client) as unknown as Redis;
  const pipeline = client.pipeline();
  for (const { id } of rows) {
    pipeline.exists(queue.toKey(id));
    pipeline.zscore(queue.keys.completed!, id);
    pipeline.zscore(queue.keys.failed!, id);
  }
  const replies = (await pipeline.exec()) ?? [];
  return rows.map((row, i) => {
    const [exists, completed, failed] = [0, 1, 2].map((k) => {
      const [err, value] = replies[3 * i + k] ?? [new Error('no reply'), null];
      if (err) throw err;
      return value;
    });
    return { row, held: exists === 1, completed: completed !== null, failed: failed !== null };
  });
}
