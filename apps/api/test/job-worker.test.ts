/**
 * What a job tells a client about its worker (issue 7): `queued` waits for a worker; a running
 * job carries `worker: { alive, lastSeenAt }`, and `alive` is false once its lease ran out (the
 * worker was killed, froze or lost Postgres). The worker's side is driven here through the db
 * functions the worker calls; apps/worker/test/process/waiting.long.test.ts does it for real.
 */
import { claimJob, releaseJob, renewLease } from '@backprop/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext } from '../../../harness/api-context.ts';
import { createdId } from './support.ts';

let ctx: ApiContext;
let datasetId: string;
let networkId: string;

type Job = { status: string; attempts: number; worker: { alive: boolean; lastSeenAt: string } | null };

async function view(id: string): Promise<Job> {
  const res = await ctx.app.inject({ method: 'GET', url: `/v1/jobs/${id}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

const newJob = () =>
  createdId(ctx, '/v1/jobs', { datasetId, networkId, training: { learningRate: 0.1, iterations: 100 } }, 202);

beforeAll(async () => {
  ctx = await createApiContext();
  datasetId = await createdId(ctx, '/v1/datasets', {
    features: Array.from({ length: 10 }, (_, i) => [i, (i * 7) % 5]),
    labels: [0, 1, 0, 1, 0, 1, 0, 1, 0, 1],
  });
  networkId = await createdId(ctx, '/v1/networks', {
    inputSize: 2,
    layers: [{ units: 1, activation: 'sigmoid' }],
  });
});
afterAll(async () => {
  await ctx?.close();
});

describe('job.worker', () => {
  it('null while queued; alive with lastSeenAt while its worker renews the lease; alive false once the lease ran out; null again when handed back', async () => {
    const id = await newJob();
    expect(await view(id)).toMatchObject({ status: 'queued', worker: null });

    const claimed = await claimJob(ctx.database.db, { jobId: id, workerId: 'w1', leaseMs: 60_000 });
    const running = await view(id);
    expect(running.status).toBe('running');
    expect(running.worker?.alive).toBe(true);
    const row = await ctx.database.db.trainingJob.findUniqueOrThrow({ where: { id } });
    expect(running.worker?.lastSeenAt).toBe(row.updatedAt.toISOString());

    // The worker is gone: its lease (1 ms here) runs out and nobody renews it.
    expect(await renewLease(ctx.database.db, { jobId: id, attempt: claimed!.attempt, leaseMs: 1 })).toBe(
      true,
    );
    await new Promise((r) => setTimeout(r, 50));
    const abandoned = await view(id);
    expect(abandoned).toMatchObject({ status: 'running', attempts: 1, worker: { alive: false } });
    const list = (await ctx.app.inject({ method: 'GET', url: '/v1/jobs?status=running' })).json();
    expect(list.items.find((j: { id: string }) => j.id === id)?.worker?.alive).toBe(false);

    // Another worker takes it: alive again, a new attempt.
    const again = await claimJob(ctx.database.db, { jobId: id, workerId: 'w2', leaseMs: 60_000 });
    expect(await view(id)).toMatchObject({ status: 'running', attempts: 2, worker: { alive: true } });

    // A graceful shutdown hands it back: queued, waiting for a worker.
    expect(await releaseJob(ctx.database.db, { jobId: id, attempt: again!.attempt })).toBe(true);
    expect(await view(id)).toMatchObject({ status: 'queued', attempts: 2, worker: null });
  });

  it('is documented in the OpenAPI schema of Job', async () => {
    const doc = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const worker = doc.components.schemas.Job.properties.worker;
    expect(JSON.stringify(worker)).toMatch(/alive/);
    expect(JSON.stringify(worker)).toMatch(/lastSeenAt/);
    expect(doc.components.schemas.Job.required).toContain('worker');
  });
});
