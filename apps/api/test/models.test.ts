/**
 * /v1/models. No worker runs here: a job is created through the API, then claimed and completed
 * with the db package's own functions and weights chosen by the test, so every prediction can
 * be computed by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext } from '../../../harness/api-context.ts';
import { type StoredModel, storeModel } from './by-hand.ts';
import { binaryModel, softmaxModel } from './hand-models.ts';
import { expectError, postJson, UNKNOWN_ID } from './support.ts';

let ctx: ApiContext;
beforeAll(async () => {
  ctx = await createApiContext({ LIMIT_PREDICT_SAMPLES: '5', LIMIT_UPLOAD_BYTES: '4000' });
});
afterAll(async () => ctx?.close());

type Nested = Record<string, number[][]>;
type LayerSpec = { units: number; activation: string };

// ---- an independent forward pass (course layout: W (n[l], n[l-1]), b (n[l], 1)) ----------------

const activations: Record<string, (z: number[]) => number[]> = {
  tanh: (z) => z.map(Math.tanh),
  relu: (z) => z.map((v) => Math.max(0, v)),
  sigmoid: (z) => z.map((v) => 1 / (1 + Math.exp(-v))),
  linear: (z) => z,
  // The definition as written, without the max shift that guards against overflow: the
  // reference stays the textbook formula, and these tests' scores are small.
  softmax: (z) => {
    const e = z.map(Math.exp);
    const sum = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / sum);
  },
};

function forward(layers: LayerSpec[], p: Nested, x: number[]): number[] {
  let a = x;
  layers.forEach((layer, l) => {
    const W = p[`W${l + 1}`]!;
    const b = p[`b${l + 1}`]!;
    const z = W.map((row, i) => row.reduce((s, w, j) => s + w * a[j]!, b[i]![0]!));
    a = activations[layer.activation]!(z);
  });
  return a;
}

// ---- the hand-weighted binary model (hand-models.ts) with class names -------------------------

const binaryMetrics = { finalCost: 0.25, iterations: 3, trainAccuracy: 0.75 };

let binary: StoredModel;

beforeAll(async () => {
  binary = await storeModel(ctx, {
    features: [
      [0, -2],
      [2, -1.5],
      [1, -2.5],
      [3, -2],
    ],
    labels: ['red', 'blue', 'blue', 'red'],
    ...binaryModel,
    task: 'binary',
    classes: ['blue', 'red'],
    metrics: binaryMetrics,
    normalize: 'standard',
  });
});

describe('a completed job', () => {
  it('shows status succeeded, its modelId, progress and the final cost', async () => {
    const res = await ctx.app.inject({ method: 'GET', url: `/v1/jobs/${binary.jobId}` });
    expect(res.statusCode).toBe(200);
    const job = res.json();
    expect(job).toMatchObject({
      status: 'succeeded',
      modelId: binary.modelId,
      progress: { iteration: 3, iterations: 3 },
      cost: 0.25,
      attempts: 1,
      error: null,
    });
    expect(job.startedAt).toEqual(expect.any(String));
    expect(job.finishedAt).toEqual(expect.any(String));
    const costs = await ctx.app.inject({ method: 'GET', url: `/v1/jobs/${binary.jobId}/costs` });
    expect(costs.json()).toEqual({ costEvery: 1, costs: [0.7, 0.5, 0.25] });
    const listed = (await ctx.app.inject({ method: 'GET', url: '/v1/jobs?status=succeeded' })).json();
    expect(listed.items.map((j: { id: string }) => j.id)).toContain(binary.jobId);
  });

  it('cannot be cancelled: 409 naming its status', async () => {
    const res = await ctx.app.inject({ method: 'POST', url: `/v1/jobs/${binary.jobId}/cancel` });
    expect(expectError(res, 409, 'BP_ERR_JOB_FINISHED').details).toEqual({ status: 'succeeded' });
    const job = (await ctx.app.inject({ method: 'GET', url: `/v1/jobs/${binary.jobId}` })).json();
    expect(job.status).toBe('succeeded');
  });

  it('outlives its dataset: once the dataset is deleted, the model predicts the same (it keeps its normalisation)', async () => {
    const predict = () =>
      ctx.app.inject({
        method: 'POST',
        url: `/v1/models/${binary.modelId}/predictions`,
        payload: { samples: [[1, 2]] },
      });
    const before = await predict();
    expect(before.statusCode, before.body).toBe(200);
    const res = await ctx.app.inject({ method: 'DELETE', url: `/v1/datasets/${binary.datasetId}` });
    expect(res.statusCode, res.body).toBe(204);
    expect((await predict()).json()).toEqual(before.json());
  });
});

describe('GET /v1/models/:id', () => {
  it("shows the model: shape, task, classes, metrics, normalization and its job's resolved training plan", async () => {
    const res = await ctx.app.inject({ method: 'GET', url: `/v1/models/${binary.modelId}` });
    expect(res.statusCode).toBe(200);
    const model = res.json();
    const job = (await ctx.app.inject({ method: 'GET', url: `/v1/jobs/${binary.jobId}` })).json();
    expect(Object.keys(job.training).length).toBeGreaterThan(0);
    expect(model).toEqual({
      id: binary.modelId,
      jobId: binary.jobId,
      inputSize: 2,
      layers: binaryModel.layers,
      task: 'binary',
      classes: ['blue', 'red'],
      metrics: binaryMetrics,
      normalization: binaryModel.normalization,
      training: job.training,
      createdAt: expect.any(String),
      name: null,
      version: null,
      tags: [],
    });
    expect(Number.isNaN(Date.parse(model.createdAt))).toBe(false);
  });

  it('404 for an unknown model, 400 for a malformed id', async () => {
    const unknown = await ctx.app.inject({ method: 'GET', url: `/v1/models/${UNKNOWN_ID}` });
    expect(expectError(unknown, 404, 'BP_ERR_MODEL_NOT_FOUND').message).toContain(UNKNOWN_ID);
    const params = await ctx.app.inject({ method: 'GET', url: `/v1/models/${UNKNOWN_ID}/parameters` });
    expectError(params, 404, 'BP_ERR_MODEL_NOT_FOUND');
    const bad = await ctx.app.inject({ method: 'GET', url: '/v1/models/xyz' });
    expect(expectError(bad, 400, 'BP_ERR_VALIDATION').message).toContain('params.id');
  });
});

describe('GET /v1/models/:id/parameters', () => {
  it('returns exactly the stored weights in the course layout: W1 (4, 2), b1 (4, 1), W2 (1, 4), b2 (1, 1)', async () => {
    const res = await ctx.app.inject({ method: 'GET', url: `/v1/models/${binary.modelId}/parameters` });
    expect(res.statusCode).toBe(200);
    const p = res.json();
    expect(p).toEqual(binaryModel.parameters);
    expect(Object.keys(p).sort()).toEqual(['W1', 'W2', 'b1', 'b2']);
    expect(p.W1).toHaveLength(4);
    expect(p.W1.every((row: number[]) => row.length === 2)).toBe(true);
    expect(p.b1).toEqual([[0.1], [-0.2], [0.05], [0]]);
    // a second read (cached) is the same
    const again = await ctx.app.inject({ method: 'GET', url: `/v1/models/${binary.modelId}/parameters` });
    expect(again.json()).toEqual(binaryModel.parameters);
  });
});

describe('POST /v1/models/:id/predictions', () => {
  const predict = (id: string, payload: unknown) => postJson(ctx, `/v1/models/${id}/predictions`, payload);

  it('probabilities equal sigmoid(W2·tanh(W1·x′ + b1) + b2) with x′ normalised as stored; labels are class names', async () => {
    const samples = [
      [1, -2],
      [3, -1],
      [-1, -3],
      [0.5, -2.2],
      [10, 4],
    ];
    const res = await predict(binary.modelId, { samples });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.modelId).toBe(binary.modelId);
    expect(body.predictions).toHaveLength(samples.length);
    const seen = new Set<string>();
    samples.forEach((x, i) => {
      const { mean, std } = binaryModel.normalization;
      const normalised = x.map((v, j) => (v - mean[j]!) / std[j]!);
      const p = forward(binaryModel.layers, binaryModel.parameters, normalised)[0]!;
      const prediction = body.predictions[i];
      expect(prediction.probabilities).toHaveLength(2);
      expect(prediction.probabilities[1]).toBeCloseTo(p, 12);
      expect(prediction.probabilities[0]).toBeCloseTo(1 - p, 12);
      expect(prediction.label).toBe(p > 0.5 ? 'red' : 'blue');
      seen.add(prediction.label);
    });
    // the samples were chosen to land on both sides of 0.5
    expect(seen).toEqual(new Set(['blue', 'red']));
  });

  it('400 for a wrong feature count, naming samples.N', async () => {
    const res = await predict(binary.modelId, {
      samples: [
        [1, 2],
        [1, 2, 3],
      ],
    });
    const body = expectError(res, 400, 'BP_ERR_VALIDATION');
    expect(body.message).toBe('samples.1: 3 features, but the model takes 2');
    expect(body.details).toEqual({ field: 'samples.1' });
    const short = await predict(binary.modelId, { samples: [[1]] });
    expect(expectError(short, 400, 'BP_ERR_VALIDATION').message).toContain('samples.0');
  });

  it('400 for empty samples, an empty row, non-numbers, non-finite numbers and unknown fields', async () => {
    const cases: [unknown, string][] = [
      [{ samples: [] }, 'body.samples'],
      [{ samples: [[]] }, 'body.samples.0'],
      [{}, 'body.samples'],
      [{ samples: [[1, '2']] }, 'body.samples.0.1'],
      [{ samples: [[1, null]] }, 'body.samples.0.1'],
      [{ samples: [[1, 2]], threshold: 0.3 }, 'threshold'],
      ['{"samples":[[1,1e309]]}', 'body.samples.0.1'],
    ];
    for (const [payload, field] of cases) {
      const res = await predict(binary.modelId, payload);
      expect(expectError(res, 400, 'BP_ERR_VALIDATION').message).toContain(field);
    }
  });

  it('LIMIT_PREDICT_SAMPLES: 422 naming the limit', async () => {
    const samples = Array.from({ length: 6 }, () => [1, 2]);
    const res = await predict(binary.modelId, { samples });
    const body = expectError(res, 422, 'BP_ERR_LIMIT_EXCEEDED');
    expect(body.details).toEqual({ limit: 'LIMIT_PREDICT_SAMPLES', actual: 6, max: 5 });
    expect(body.message).toContain('LIMIT_PREDICT_SAMPLES');
  });

  it('413 naming LIMIT_BODY_BYTES for a body above it', async () => {
    const samples = [[1, 2]];
    const res = await predict(binary.modelId, { samples, padding: 'x'.repeat(ctx.env.LIMIT_BODY_BYTES) });
    expect(expectError(res, 413, 'BP_ERR_PAYLOAD_TOO_LARGE').details).toMatchObject({
      limit: 'LIMIT_BODY_BYTES',
      max: ctx.env.LIMIT_BODY_BYTES,
    });
  });

  it('404 for an unknown model', async () => {
    const res = await predict(UNKNOWN_ID, { samples: [[1, 2]] });
    expect(expectError(res, 404, 'BP_ERR_MODEL_NOT_FOUND').message).toContain(UNKNOWN_ID);
  });

  it('a softmax model with numeric classes: probabilities in class order, the label is the class', async () => {
    const { layers, parameters } = softmaxModel;
    const normalization = { kind: 'minmax', min: [0, 10], max: [4, 20] };
    const model = await storeModel(ctx, {
      features: Array.from({ length: 6 }, (_, i) => [i % 4, 10 + i]),
      labels: [1, 2, 10, 1, 2, 10],
      layers,
      parameters,
      task: 'multiclass',
      classes: [1, 2, 10],
      normalization,
      metrics: { finalCost: 0.9, iterations: 3, trainAccuracy: 0.5 },
      normalize: 'minmax',
    });
    const samples = [
      [4, 10],
      [0, 20],
      [-4, 0],
    ];
    const res = await predict(model.modelId, { samples });
    expect(res.statusCode, res.body).toBe(200);
    const classes = [1, 2, 10];
    res.json().predictions.forEach((prediction: { label: number; probabilities: number[] }, i: number) => {
      const x = samples[i]!.map(
        (v, j) => (v - normalization.min[j]!) / (normalization.max[j]! - normalization.min[j]!),
      );
      const expected = forward(layers, parameters, x);
      expect(prediction.probabilities).toHaveLength(3);
      prediction.probabilities.forEach((p, k) => {
        expect(p).toBeCloseTo(expected[k]!, 12);
      });
      expect(prediction.label).toBe(classes[expected.indexOf(Math.max(...expected))]);
    });
    expect(res.json().predictions.map((p: { label: number }) => p.label)).toEqual([1, 2, 10]);
  });

  it('a regression model without normalisation predicts values', async () => {
    const layers: LayerSpec[] = [
      { units: 3, activation: 'relu' },
      { units: 1, activation: 'linear' },
    ];
    const parameters: Nested = {
      W1: [
        [1, 2],
        [-1, 0.5],
        [0.3, -0.7],
      ],
      b1: [[0], [1], [-0.5]],
      W2: [[2, -1, 0.5]],
      b2: [[10]],
    };
    const model = await storeModel(ctx, {
      features: Array.from({ length: 6 }, (_, i) => [i, 2 * i]),
      labels: [0.5, 1.5, 2.25, 3.1, 4.7, 5.9],
      layers,
      parameters,
      task: 'regression',
      classes: null,
      normalization: { kind: 'none' },
      metrics: { finalCost: 0.1, iterations: 3, trainMse: 0.2 },
      normalize: 'none',
    });
    const modelRes = (await ctx.app.inject({ method: 'GET', url: `/v1/models/${model.modelId}` })).json();
    expect(modelRes.task).toBe('regression');
    expect(modelRes).not.toHaveProperty('classes');
    const samples = [
      [1, 1],
      [-3, 2],
      [0.25, -4],
    ];
    const res = await predict(model.modelId, { samples });
    expect(res.statusCode, res.body).toBe(200);
    const predictions = res.json().predictions;
    samples.forEach((x, i) => {
      expect(Object.keys(predictions[i])).toEqual(['value']);
      expect(predictions[i].value).toBeCloseTo(forward(layers, parameters, x)[0]!, 12);
    });
  });

  it('finite inputs whose output overflows are a clear 422, not a 500', async () => {
    const layers: LayerSpec[] = [{ units: 1, activation: 'linear' }];
    const model = await storeModel(ctx, {
      features: Array.from({ length: 4 }, (_, i) => [i, i * i]),
      labels: [0.5, 1.5, 2.5, 3.7],
      layers,
      parameters: { W1: [[10, 10]], b1: [[0]] },
      task: 'regression',
      classes: null,
      normalization: { kind: 'none' },
      metrics: { finalCost: 0.1, iterations: 3 },
      normalize: 'none',
    });
    const res = await predict(model.modelId, {
      samples: [
        [1, 1],
        [1e308, 1e308],
      ],
    });
    const body = expectError(res, 422, 'BP_ERR_BAD_DATA');
    expect(body.message).toContain('samples.1');
  });
});
