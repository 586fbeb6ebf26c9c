/**
 * The worker composed in-process by createWorker, as main.ts composes it: it trains a queued job
 * to a model, hands a running job back to the queue when closed, and refuses to start on a
 * database that is not migrated.
 */
import { randomBytes } from 'node:crypto';
import { TRAINING_QUEUE, trainingJobOptions } from '@backprop/contracts';
import { createDataset, createJob, createTenant, getJob } from '@backprop/db';
import { createTestDatabase, databaseUrlFor, makeNetwork, type TestDatabase } from '@backprop/db/testing';
import { Queue } from 'bullmq';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkerEnv, type WorkerEnv } from '../src/env.ts';
import { createWorker, WorkerStartError } from '../src/worker.ts';

let database: TestDatabase;
let env: WorkerEnv;
let queue: Queue;
let tenantId: string;
let datasetId: string;
let networkId: string;
const silent = pino({ level: 'silent' });

beforeAll(async () => {
  database = await createTestDatabase();
  const prefix = `bp-test-${randomBytes(6).toString('hex')}`;
  env = loadWorkerEnv({
    ...process.env,
    DATABASE_URL: database.url,
    QUEUE_PREFIX: prefix,
    WORKER_CONCURRENCY: '1',
    PROGRESS_EVERY_MS: '50',
    CHECKPOINT_EVERY_MS: '50',
  });
  queue = new Queue(TRAINING_QUEUE, { connection: { url: env.REDIS_URL }, prefix });
  tenantId = (await createTenant(database.db, { name: 'worker-test' })).id;
  datasetId = (
    await createDataset(database.db, {
      tenantId,
      name: 'xor',
      task: 'binary',
      samples: 4,
      features: 2,
      featureNames: ['a', 'b'],
      labelName: 'label',
      classes: [0, 1],
      x: Float64Array.of(0, 1, 1, 0, 1, 1, 0, 0),
      y: Float64Array.of(1, 1, 0, 0),
      featureStats: [
        { mean: 0.5, std: 0.5, min: 0, max: 1 },
        { mean: 0.5, std: 0.5, min: 0, max: 1 },
      ],
    })
  ).id;
  networkId = (await makeNetwork(database.db, tenantId)).id;
});

afterAll(async () => {
  await queue?.obliterate({ force: true }).catch(() => undefined);
  await queue?.close();
  await database?.drop();
});

/** A queued job row and its queue entry, as the API creates them. */
async function enqueueJob(iterations: number): Promise<string> {
  const training = { learningRate: 1, iterations, seed: 3, costEvery: 100, normalize: 'none' };
  const { job } = await createJob(database.db, { tenantId, datasetId, networkId, training, iterations });
  await queue.add('train', { jobId: job.id, tenantId }, { ...trainingJobOptions(1), jobId: job.id });
  return job.id;
}

async function jobWhen(jobId: string, done: (status: string, iteration: number) => boolean) {
  for (let tries = 0; tries < 600; tries++) {
    const job = await getJob(database.db, tenantId, jobId);
    if (job && done(job.status, job.iteration)) return job;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`job ${jobId} never reached the expected state`);
}

describe('createWorker', () => {
  it('trains a queued job to a model, and closes with nothing left running', async () => {
    const worker = await createWorker(env, { log: silent });
    try {
      const jobId = await enqueueJob(500);
      const job = await jobWhen(jobId, (status) => status !== 'queued' && status !== 'running');
      expect(job.status, `${job.errorCode}: ${job.errorMessage}`).toBe('succeeded');
      expect(job.iteration).toBe(500);
      expect(job.model?.id).toEqual(expect.any(String));
    } finally {
      await worker.close();
    }
    expect(worker.active.size).toBe(0);
  });

  it('close() checkpoints a running job and puts it back in the queue, its progress kept', async () => {
    const worker = await createWorker(env, { log: silent });
    const jobId = await enqueueJob(50_000_000);
    const running = await jobWhen(jobId, (status, iteration) => status === 'running' && iteration > 0);
    const closing = worker.close();
    expect(worker.close()).toBe(closing);
    await closing;
    const after = await getJob(database.db, tenantId, jobId);
    expect(after?.status).toBe('queued');
    expect(after?.iteration).toBeGreaterThanOrEqual(running.iteration);
    expect(await queue.getJobState(jobId)).toBe('waiting');
    const checkpoint = await database.db.checkpoint.findUnique({ where: { jobId } });
    expect(checkpoint?.iteration).toBeGreaterThan(0);
    await queue.remove(jobId);
  });

  it('refuses to start on a database without our tables, naming the reason', async () => {
    const unmigrated = { ...env, DATABASE_URL: databaseUrlFor('postgres') };
    const refused = await createWorker(unmigrated, { log: silent }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(WorkerStartError);
    expect(refused).toMatchObject({ message: expect.stringMatching(/postgres is not usable/) });
  });
});
