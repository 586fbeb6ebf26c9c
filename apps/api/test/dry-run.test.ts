/**
 * POST /v1/jobs/dry-run: the checks of POST /v1/jobs with nothing stored or queued, the figures
 * (parameters, memory, work, duration from the measured or default speed) and each warning, seen
 * where it applies and absent where it does not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext } from '../../../harness/api-context.ts';
import { createdId, expectError, fingerprint, SMALL_NETWORK, UNKNOWN_ID } from './support.ts';

let ctx: ApiContext;
let balanced: string;
let skewed: string;
let scaled: string;
let small: string;
let wide: string;

const warningCodes = (body: { warnings: { code: string }[] }) => body.warnings.map((w) => w.code).sort();

async function dryRun(datasetId: string, networkId: string, training: Record<string, unknown>) {
  return ctx.app.inject({
    method: 'POST',
    url: '/v1/jobs/dry-run',
    payload: { datasetId, networkId, training },
  });
}

beforeAll(async () => {
  ctx = await createApiContext({ DRY_RUN_DEFAULT_SECONDS_PER_FLOP: '2e-9' });
  const features = Array.from({ length: 40 }, (_, i) => [i % 7, (i * 3) % 5]);
  balanced = await createdId(ctx, '/v1/datasets', { features, labels: features.map((_, i) => i % 2) });
  skewed = await createdId(ctx, '/v1/datasets', {
    features,
    labels: features.map((_, i) => (i < 2 ? 1 : 0)),
  });
  // the second feature spreads ~10⁴ times as wide as the first
  scaled = await createdId(ctx, '/v1/datasets', {
    features: features.map(([a, b]) => [a! * 0.001, b! * 10]),
    labels: features.map((_, i) => i % 2),
  });
  small = await createdId(ctx, '/v1/networks', SMALL_NETWORK);
  wide = await createdId(ctx, '/v1/networks', {
    inputSize: 2,
    layers: [
      { units: 20, activation: 'relu' },
      { units: 1, activation: 'sigmoid' },
    ],
  });
});
afterAll(async () => ctx?.close());

describe('POST /v1/jobs/dry-run', () => {
  it('answers the figures and stores or queues nothing', async () => {
    const before = await fingerprint(ctx.database.db);
    const res = await dryRun(balanced, small, { learningRate: 0.5, iterations: 100, optimizer: 'adam' });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      valid: true,
      parameterCount: 13,
      trainSamples: 40,
      batchSize: 40,
      updates: 100,
    });
    expect(typeof body.training.seed).toBe('number');
    expect(body.flops).toBe(6 * 13 * 40 * 100);
    expect(body.calibration).toEqual({ secondsPerFlop: 2e-9, source: 'default', jobs: 0 });
    expect(body.estimatedSeconds).toBeCloseTo(body.flops * 2e-9, 15);
    // parameters and gradients 13·8 each, Adam's two moments, Z/A/dZ of 4 units for 40 samples, X and Y
    expect(body.memoryBytes).toEqual({
      parameters: 104,
      gradients: 104,
      optimizer: 208,
      activations: 8 * 3 * 40 * 4,
      data: 8 * 40 * 3,
      total: 104 + 104 + 208 + 3840 + 960,
    });
    expect(await fingerprint(ctx.database.db)).toEqual(before);
    const jobs = (await ctx.app.inject({ method: 'GET', url: '/v1/jobs' })).json();
    expect(jobs.items).toEqual([]);
  });

  it('makes the checks of POST /v1/jobs: unknown ids 404, a network that does not fit 422, a bad option 400', async () => {
    expectError(
      await dryRun(UNKNOWN_ID, small, { learningRate: 0.1, iterations: 1 }),
      404,
      'BP_ERR_DATASET_NOT_FOUND',
    );
    expectError(
      await dryRun(balanced, UNKNOWN_ID, { learningRate: 0.1, iterations: 1 }),
      404,
      'BP_ERR_NETWORK_NOT_FOUND',
    );
    const three = await createdId(ctx, '/v1/networks', {
      inputSize: 3,
      layers: [{ units: 1, activation: 'sigmoid' }],
    });
    expectError(
      await dryRun(balanced, three, { learningRate: 0.1, iterations: 1 }),
      422,
      'BP_ERR_INCOMPATIBLE',
    );
    const bad = expectError(
      await dryRun(balanced, small, { learningRate: -1, iterations: 1 }),
      400,
      'BP_ERR_VALIDATION',
    );
    expect(bad.message).toMatch(/learningRate/);
  });

  it('no warnings for a sound job', async () => {
    const body = (await dryRun(balanced, small, { learningRate: 0.5, iterations: 100 })).json();
    expect(body.warnings).toEqual([]);
  });

  it('feature_scales: features on very different scales with normalize none (not with standard)', async () => {
    const none = (
      await dryRun(scaled, small, { learningRate: 0.5, iterations: 10, normalize: 'none' })
    ).json();
    expect(warningCodes(none)).toEqual(['feature_scales']);
    expect(none.warnings[0].message).toMatch(/normalize/);
    const standard = (await dryRun(scaled, small, { learningRate: 0.5, iterations: 10 })).json();
    expect(standard.warnings).toEqual([]);
  });

  it('learning_rate: above the rate these activations and this optimiser diverge at', async () => {
    expect(
      warningCodes((await dryRun(balanced, small, { learningRate: 20, iterations: 10 })).json()),
    ).toEqual(['learning_rate']);
    expect((await dryRun(balanced, small, { learningRate: 5, iterations: 10 })).json().warnings).toEqual([]);
    const adam = (
      await dryRun(balanced, small, { learningRate: 0.5, iterations: 10, optimizer: 'adam' })
    ).json();
    expect(warningCodes(adam)).toEqual(['learning_rate']);
    expect(adam.warnings[0].message).toMatch(/0\.5.*0\.1/);
  });

  it('class_imbalance: a class under 10% of the samples', async () => {
    const body = (await dryRun(skewed, small, { learningRate: 0.5, iterations: 10 })).json();
    expect(warningCodes(body)).toEqual(['class_imbalance']);
    expect(body.warnings[0].message).toMatch(/1 has 2 of 40/);
  });

  it('more_parameters_than_samples: 81 parameters for 40 samples (32 with a validation split)', async () => {
    const body = (await dryRun(balanced, wide, { learningRate: 0.5, iterations: 10 })).json();
    expect(warningCodes(body)).toEqual(['more_parameters_than_samples']);
    expect(body.warnings[0].message).toMatch(/81 parameters for 40/);
    const split = (
      await dryRun(balanced, wide, { learningRate: 0.5, iterations: 10, validationSplit: 0.2 })
    ).json();
    expect(split.warnings[0].message).toMatch(/for 32 training/);
  });

  it("estimates from this service's measured speed once jobs have succeeded", async () => {
    // A job that ran 2 s for its planned work: the measured speed is 2 s / its flops.
    const job = await ctx.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { datasetId: balanced, networkId: small, training: { learningRate: 0.5, iterations: 50 } },
    });
    expect(job.statusCode, job.body).toBe(202);
    const startedAt = new Date('2026-01-01T00:00:00Z');
    await ctx.database.db.trainingJob.update({
      where: { id: job.json().id },
      data: { status: 'succeeded', startedAt, finishedAt: new Date(startedAt.getTime() + 2000) },
    });
    const body = (await dryRun(balanced, small, { learningRate: 0.5, iterations: 100 })).json();
    const measured = 2 / (6 * 13 * 40 * 50);
    expect(body.calibration.source).toBe('measured');
    expect(body.calibration.jobs).toBe(1);
    expect(body.calibration.secondsPerFlop).toBeCloseTo(measured, 20);
    expect(body.estimatedSeconds).toBeCloseTo(4, 9); // twice the updates: twice the time
  });
});
