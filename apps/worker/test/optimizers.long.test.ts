/**
 * Momentum and Adam over HTTP against an independent numpy implementation of the course's update
 * rules (fixtures/make_optimizers.py writes fixtures/optimizers.json): the API in-process, a
 * worker process started the way the README says, real Postgres and Redis. The planar network
 * trains full batch from the fixture's initial weights on the raw data (normalize: none), so the
 * worker sees exactly the numbers numpy saw, and every recorded cost must agree to 1e-9.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext, planarCsv } from '../../../harness/api-context.ts';
import { eventually, startWorker, type WorkerProcess } from '../../../harness/processes.ts';

interface Reference {
  network: { inputSize: number; layers: { units: number; activation: string }[] };
  initialParameters: Record<string, number[][]>;
  runs: {
    name: string;
    training: Record<string, unknown>;
    /** J_0, J_1, ..., J_N: costEvery is 1. */
    costs: number[];
    finalParameters: Record<string, number[][]>;
  }[];
}

/** The largest difference numpy and the service may show: float64 rounding, with room to spare. */
const TOLERANCE = 1e-9;

let ctx: ApiContext;
let worker: WorkerProcess;
let reference: Reference;
let datasetId: string;
let networkId: string;

async function post(url: string, payload: unknown) {
  const res = await ctx.app.inject({ method: 'POST', url, payload: payload as object });
  return { status: res.statusCode, body: res.json() };
}

async function get(url: string) {
  return (await ctx.app.inject({ method: 'GET', url })).json();
}

/** max |a_i − b_i| over two equally long lists. */
function largestDifference(a: readonly number[], b: readonly number[]): number {
  expect(a).toHaveLength(b.length);
  return Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));
}

beforeAll(async () => {
  reference = JSON.parse(await readFile(new URL('./fixtures/optimizers.json', import.meta.url), 'utf8'));
  ctx = await createApiContext();
  const dataset = await ctx.app.inject({
    method: 'POST',
    url: '/v1/datasets?name=planar',
    headers: { 'content-type': 'text/csv' },
    payload: await planarCsv(),
  });
  expect(dataset.statusCode, dataset.body).toBe(201);
  // Labels 0 and 1 are classes [0, 1], so y (the class index) is the label numpy trains on.
  expect(dataset.json().classes).toEqual([0, 1]);
  datasetId = dataset.json().id;
  const network = await post('/v1/networks', { ...reference.network, init: 'random' });
  expect(network.status).toBe(201);
  networkId = network.body.id;
  worker = startWorker({
    DATABASE_URL: ctx.database.url,
    QUEUE_PREFIX: ctx.prefix,
    WORKER_CONCURRENCY: '1',
  });
});

afterAll(async () => {
  worker?.kill('SIGKILL');
  await worker?.exited;
  await ctx?.close();
});

describe("momentum and Adam through the service match numpy's course formulas", () => {
  it.each(['momentum', 'adam'])('%s: every cost J_0..J_N and the final weights within 1e-9', async (name) => {
    const run = reference.runs.find((r) => r.name === name)!;
    const created = await post('/v1/jobs', {
      datasetId,
      networkId,
      training: { ...run.training, initialParameters: reference.initialParameters },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    // The plan stores the hyper-parameters as given (the worker trains from the stored plan).
    const { costEvery: _planned, seed: _seed, ...given } = run.training;
    expect(created.body.training).toMatchObject(given);

    const job = await eventually(
      () => get(`/v1/jobs/${created.body.id}`),
      (j) => ['succeeded', 'failed'].includes(j.status),
      120_000,
    );
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const { costs, costEvery } = await get(`/v1/jobs/${job.id}/costs`);
    expect(costEvery).toBe(1);
    expect(costs).toHaveLength(run.costs.length);
    // A run that did not learn would match nothing interesting: the reference falls well.
    expect(run.costs.at(-1)!).toBeLessThan(0.6 * run.costs[0]!);
    const costDifference = largestDifference(costs, run.costs);
    expect(costDifference).toBeLessThanOrEqual(TOLERANCE);

    // The model's job keeps the plan it was trained with (a job with a model cannot be deleted).
    const model = await get(`/v1/models/${job.modelId}`);
    expect((await get(`/v1/jobs/${model.jobId}`)).training).toMatchObject(given);

    const parameters: Record<string, number[][]> = await get(`/v1/models/${job.modelId}/parameters`);
    expect(Object.keys(parameters).sort()).toEqual(Object.keys(run.finalParameters).sort());
    for (const [key, matrix] of Object.entries(run.finalParameters)) {
      expect(largestDifference(parameters[key]!.flat(), matrix.flat()), key).toBeLessThanOrEqual(TOLERANCE);
    }
    // Figures for the report: how close the two implementations are.
    console.info(`${name}: ${run.costs.length} costs, largest difference from numpy ${costDifference}`);
  });
});
