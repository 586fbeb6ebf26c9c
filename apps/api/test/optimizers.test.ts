/**
 * The optimisers' hyper-parameters over HTTP (issue 12): momentum's β and Adam's β1, β2, ε are
 * accepted with nn's ranges, refused where the chosen optimiser does not read them, and stored in
 * the job's resolved plan with nn's defaults filled in. No worker runs: jobs stay queued.
 */
import { PlannedTraining } from '@backprop/contracts';
import { OPTIMIZER_DEFAULTS } from '@backprop/nn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext } from '../../../harness/api-context.ts';
import { createdId, expectError, postJson, SMALL_NETWORK } from './support.ts';

let ctx: ApiContext;
let datasetId: string;
let networkId: string;

async function createJob(training: Record<string, unknown>) {
  return postJson(ctx, '/v1/jobs', { datasetId, networkId, training });
}

async function accepted(training: Record<string, unknown>) {
  const res = await createJob(training);
  expect(res.statusCode, res.body).toBe(202);
  return res.json();
}

beforeAll(async () => {
  ctx = await createApiContext({ LIMIT_TENANT_ACTIVE_JOBS: '1000' });
  datasetId = await createdId(ctx, '/v1/datasets', {
    features: Array.from({ length: 10 }, (_, i) => [i, (i * 7) % 5]),
    labels: [0, 1, 0, 1, 0, 1, 0, 1, 0, 1],
  });
  networkId = await createdId(ctx, '/v1/networks', SMALL_NETWORK);
});

afterAll(async () => {
  await ctx?.close();
});

describe('optimiser hyper-parameters in POST /v1/jobs', () => {
  const base = { learningRate: 0.01, iterations: 10 };

  it('momentum takes beta; adam takes beta1, beta2 and epsilon; the plan and the row keep them', async () => {
    const momentum = await accepted({ ...base, optimizer: 'momentum', beta: 0.8 });
    expect(momentum.training).toMatchObject({ optimizer: 'momentum', beta: 0.8 });
    const adam = await accepted({ ...base, optimizer: 'adam', beta1: 0.8, beta2: 0.99, epsilon: 1e-7 });
    expect(adam.training).toMatchObject({ optimizer: 'adam', beta1: 0.8, beta2: 0.99, epsilon: 1e-7 });
    const row = await ctx.database.db.trainingJob.findUniqueOrThrow({ where: { id: adam.id } });
    // the row keeps the plan: the options as answered, and nn's run resolved for them
    const { run, ...options } = PlannedTraining.parse(row.training);
    expect(options).toEqual(adam.training);
    expect(run).toMatchObject({ samples: 10, updates: 10 });
    // The bounds are nn's: β may be 0 (momentum becomes gd, Adam keeps no first moment).
    await accepted({ ...base, optimizer: 'momentum', beta: 0 });
    await accepted({ ...base, optimizer: 'adam', beta1: 0, beta2: 0.999999, epsilon: 1e-300 });
  });

  it("the resolved plan fills in nn's defaults for the chosen optimiser only", async () => {
    const gd = await accepted(base);
    for (const key of ['beta', 'beta1', 'beta2', 'epsilon']) expect(gd.training).not.toHaveProperty(key);
    const momentum = await accepted({ ...base, optimizer: 'momentum' });
    expect(momentum.training.beta).toBe(OPTIMIZER_DEFAULTS.beta);
    expect(momentum.training).not.toHaveProperty('beta1');
    const adam = await accepted({ ...base, optimizer: 'adam', beta2: 0.99 });
    expect(adam.training).toMatchObject({
      beta1: OPTIMIZER_DEFAULTS.beta1,
      beta2: 0.99,
      epsilon: OPTIMIZER_DEFAULTS.epsilon,
    });
    expect(adam.training).not.toHaveProperty('beta');
    expect(OPTIMIZER_DEFAULTS).toEqual({ beta: 0.9, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
  });

  it('400 naming the field for a hyper-parameter the chosen optimiser does not read', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ beta1: 0.9 }, 'body.training.beta1: beta1 applies to optimizer adam only, and optimizer is gd'],
      [{ optimizer: 'gd', beta: 0.9 }, 'body.training.beta: beta applies to optimizer momentum only'],
      [{ optimizer: 'adam', beta: 0.9 }, 'body.training.beta: beta applies to optimizer momentum only'],
      [
        { optimizer: 'momentum', epsilon: 1e-8 },
        'body.training.epsilon: epsilon applies to optimizer adam only, and optimizer is momentum',
      ],
      [{ optimizer: 'momentum', beta2: 0.999 }, 'body.training.beta2: beta2 applies to optimizer adam only'],
    ];
    const before = await ctx.database.db.trainingJob.count();
    for (const [extra, message] of cases) {
      const res = await createJob({ ...base, ...extra });
      expect(expectError(res, 400, 'BP_ERR_VALIDATION', JSON.stringify(extra)).message).toContain(message);
    }
    expect(await ctx.database.db.trainingJob.count()).toBe(before);
  });

  it("400 naming the field for a value outside nn's range", async () => {
    const cases: Record<string, unknown>[] = [
      { optimizer: 'momentum', beta: 1 },
      { optimizer: 'momentum', beta: -0.1 },
      { optimizer: 'adam', beta1: 1 },
      { optimizer: 'adam', beta2: 1.5 },
      { optimizer: 'adam', epsilon: 0 },
      { optimizer: 'adam', epsilon: -1e-8 },
      { optimizer: 'adam', beta1: '0.9' },
    ];
    for (const extra of cases) {
      const field = Object.keys(extra).find((k) => k !== 'optimizer')!;
      const res = await createJob({ ...base, ...extra });
      expect(expectError(res, 400, 'BP_ERR_VALIDATION', JSON.stringify(extra)).message).toContain(
        `body.training.${field}`,
      );
    }
  });

  it('the OpenAPI document shows the four fields with their bounds', async () => {
    const doc = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const createJob = doc.paths['/v1/jobs'].post.requestBody.content['application/json'].schema;
    const training = createJob.properties.training;
    for (const key of ['beta', 'beta1', 'beta2']) {
      expect(training.properties[key], key).toMatchObject({
        type: 'number',
        minimum: 0,
        exclusiveMaximum: 1,
      });
      expect(training.properties[key].description, key).toMatch(/default 0\.9/);
    }
    expect(training.properties.epsilon).toMatchObject({ type: 'number', exclusiveMinimum: 0 });
    expect(training.properties.epsilon.description).toContain('default 1e-8');
    expect(training.required ?? []).not.toContain('beta');
  });
});
