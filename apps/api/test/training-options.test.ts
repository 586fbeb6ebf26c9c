/**
 * training.threads and training.dtype (issue 8): the plan fills their defaults in (shown in the
 * job and stored with it), a thread count beyond LIMIT_TRAINING_THREADS is refused naming the
 * field and the limit, and values outside the schema are a 400 naming the field.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiContext } from '../../../harness/api-context.ts';
import { expectError } from './support.ts';

/** An API with LIMIT_TRAINING_THREADS = `limit`, one dataset and one network. */
async function apiWith(limit: string) {
  const ctx = await createApiContext({ LIMIT_TRAINING_THREADS: limit });
  const post = (url: string, payload: unknown) =>
    ctx.app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(payload),
    });
  const id = async (res: Promise<LightMyRequestResponse>) => {
    const answer = await res;
    expect(answer.statusCode, answer.body).toBe(201);
    return answer.json().id as string;
  };
  const rows = Array.from({ length: 8 }, (_, i) => [i, (i * 3) % 5]);
  const datasetId = await id(post('/v1/datasets', { features: rows, labels: [0, 1, 0, 1, 0, 1, 0, 1] }));
  const networkId = await id(
    post('/v1/networks', {
      inputSize: 2,
      layers: [
        { units: 3, activation: 'tanh' },
        { units: 1, activation: 'sigmoid' },
      ],
    }),
  );
  const createJob = (training: Record<string, unknown>) =>
    post('/v1/jobs', { datasetId, networkId, training: { learningRate: 0.1, iterations: 5, ...training } });
  return { ctx, createJob };
}

let api: Awaited<ReturnType<typeof apiWith>>;
beforeAll(async () => {
  api = await apiWith('3');
});
afterAll(async () => {
  await api?.ctx.close();
});

describe('training.threads and training.dtype', () => {
  it('defaults: 2 threads and float64, shown in the job and stored with it', async () => {
    const res = await api.createJob({});
    expect(res.statusCode, res.body).toBe(202);
    const job = res.json();
    expect(job.training).toMatchObject({ threads: 2, dtype: 'float64' });
    const row = await api.ctx.database.db.trainingJob.findUniqueOrThrow({ where: { id: job.id } });
    expect(row.training).toMatchObject({ threads: 2, dtype: 'float64' });
    const shown = await api.ctx.app.inject({ method: 'GET', url: `/v1/jobs/${job.id}` });
    expect(shown.json().training).toMatchObject({ threads: 2, dtype: 'float64' });
  });

  it('keeps what is asked within the limit: 1 and 3 threads, float32', async () => {
    for (const threads of [1, 3]) {
      const res = await api.createJob({ threads, dtype: 'float32' });
      expect(res.statusCode, res.body).toBe(202);
      expect(res.json().training).toMatchObject({ threads, dtype: 'float32' });
    }
  });

  it('beyond LIMIT_TRAINING_THREADS: 422 naming training.threads and the limit; no job stored', async () => {
    const before = await api.ctx.database.db.trainingJob.count();
    const res = await api.createJob({ threads: 4 });
    const body = expectError(res, 422, 'BP_ERR_LIMIT_EXCEEDED');
    expect(body.message).toBe(
      'training.threads (the threads that share one job) is 4, above the limit LIMIT_TRAINING_THREADS = 3',
    );
    expect(body.details).toEqual({
      limit: 'LIMIT_TRAINING_THREADS',
      actual: 4,
      max: 3,
      field: 'training.threads',
    });
    expect(await api.ctx.database.db.trainingJob.count()).toBe(before);
  });

  it('a thread count or dtype outside the schema is a 400 naming the field', async () => {
    for (const threads of [0, 1.5, 65, 'two']) {
      const body = expectError(await api.createJob({ threads }), 400, 'BP_ERR_VALIDATION');
      expect(body.message).toContain('training.threads');
    }
    const body = expectError(await api.createJob({ dtype: 'float16' }), 400, 'BP_ERR_VALIDATION');
    expect(body.message).toContain('training.dtype');
  });

  it('the default is the limit when LIMIT_TRAINING_THREADS is 1; /v1/usage shows the limit', async () => {
    const one = await apiWith('1');
    try {
      const res = await one.createJob({});
      expect(res.statusCode, res.body).toBe(202);
      expect(res.json().training.threads).toBe(1);
      const usage = await one.ctx.app.inject({ method: 'GET', url: '/v1/usage' });
      expect(usage.json().limits.LIMIT_TRAINING_THREADS).toBe(1);
    } finally {
      await one.ctx.close();
    }
  });
});
