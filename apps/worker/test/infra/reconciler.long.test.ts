/**
 * The reconciler against a backlog (RELIABILITY.md P17, scenario 8's bound): orphans (rows the
 * queue does not hold) must be found even behind more waiting jobs than one round used to look
 * at, and re-enqueued exactly once; jobs the queue holds are left alone.
 */
import { TRAIN_JOB_NAME, TRAINING_QUEUE } from '@backprop/contracts';
import { createJob } from '@backprop/db';
import { Queue } from 'bullmq';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcileOnce } from '../../src/reconciler.ts';
import { usePrivateSpace } from './file-servers.ts';

const file = usePrivateSpace();
let queue: Queue;

beforeAll(() => {
  queue = new Queue(TRAINING_QUEUE, {
    connection: { port: file.space.redis.port },
    prefix: file.space.prefix,
  });
});

// Registered after the space's hooks, so it runs before the space and its servers go.
afterAll(async () => {
  await queue?.close();
});

describe('reconciler', () => {
  it('finds the orphans behind a backlog of 300 waiting jobs in one round, re-enqueues each once, leaves held jobs alone', async () => {
    const s = file.space;
    const { datasetId, networkId } = await s.fixtures(2);
    const create = () =>
      createJob(s.db, {
        tenantId: s.tenantId,
        datasetId,
        networkId,
        training: { learningRate: 1, iterations: 10 },
        iterations: 10,
      }).then((r) => r.job.id);

    // Oldest first: 300 rows the queue holds, then 40 it never heard of, then one running row
    // whose worker died (lease expired) and whose queue entry is gone.
    const held: string[] = [];
    for (let i = 0; i < 300; i++) held.push(await create());
    await queue.addBulk(
      held.map((id) => ({
        name: TRAIN_JOB_NAME,
        data: { jobId: id, tenantId: s.tenantId },
        opts: { jobId: id },
      })),
    );
    const orphans: string[] = [];
    for (let i = 0; i < 40; i++) orphans.push(await create());
    const dead = await create();
    await s.db.$executeRaw`
      UPDATE "TrainingJob" SET "status" = 'running', "attempt" = 1, "leaseExpiresAt" = now() - interval '1 minute'
      WHERE "id" = ${dead}::uuid`;

    const log = pino({ level: 'silent' });
    const first = await reconcileOnce(s.db, queue, log, 0);
    expect(first).toBe(orphans.length + 1);
    for (const id of [...orphans, dead]) expect(await queue.getJobState(id)).toBe('waiting');
    expect(await queue.getWaitingCount()).toBe(held.length + orphans.length + 1);
    // A second round finds nothing more to do.
    expect(await reconcileOnce(s.db, queue, log, 0)).toBe(0);
    expect(await queue.getWaitingCount()).toBe(held.length + orphans.length + 1);
  });
});
