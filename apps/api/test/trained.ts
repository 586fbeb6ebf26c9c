/**
 * Models trained for real, for tests of what is done with a trained model (export, registry,
 * receipts): the API in-process, one worker process started as the README says, small jobs.
 */
import { expect } from 'vitest';
import type { ApiContext } from '../../../harness/api-context.ts';
import { eventually, startWorker, type WorkerProcess } from '../../../harness/processes.ts';

export function startTestWorker(ctx: ApiContext): WorkerProcess {
  return startWorker({
    DATABASE_URL: ctx.database.url,
    QUEUE_PREFIX: ctx.prefix,
    WORKER_CONCURRENCY: '1',
    LOG_LEVEL: 'warn',
    PROGRESS_EVERY_MS: '200',
  });
}

export interface TrainedModel {
  jobId: string;
  modelId: string;
  datasetId: string;
  networkId: string;
}

/** Starts a job and waits until it succeeded; returns its model. */
export async function trainModel(
  ctx: ApiContext,
  datasetId: string,
  networkId: string,
  training: Record<string, unknown>,
): Promise<TrainedModel> {
  const res = await ctx.app.inject({
    method: 'POST',
    url: '/v1/jobs',
    payload: { datasetId, networkId, training },
  });
  expect(res.statusCode, res.body).toBe(202);
  return waitForModel(ctx, res.json().id, datasetId, networkId);
}

export async function waitForModel(
  ctx: ApiContext,
  jobId: string,
  datasetId: string,
  networkId: string,
): Promise<TrainedModel> {
  const job = await eventually(
    async () => (await ctx.app.inject({ method: 'GET', url: `/v1/jobs/${jobId}` })).json(),
    (j) => ['succeeded', 'failed', 'cancelled'].includes(j.status),
    120_000,
    100,
  );
  expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
  return { jobId, modelId: job.modelId, datasetId, networkId };
}
