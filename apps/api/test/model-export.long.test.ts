/**
 * GET /v1/models/:id/export: models trained by a real worker, exported in each format and checked
 * against the service itself. json: read back by @backprop/nn with bit-identical weights; js:
 * the downloaded module imported from a temporary folder predicts as the service does (1e-12);
 * onnx: run in onnxruntime-node, the service's outputs to 1e-6.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readModelExport } from '@backprop/nn';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext } from '../../../harness/api-context.ts';
import { uploadPlanar } from '../../../harness/api-fixtures.ts';
import type { WorkerProcess } from '../../../harness/processes.ts';
import { createdId, expectError, UNKNOWN_ID } from './support.ts';
import { startTestWorker, type TrainedModel, trainModel } from './trained.ts';

let ctx: ApiContext;
let worker: WorkerProcess;
let folder: string;
const models: Record<string, TrainedModel> = {};

type Prediction = { label?: string | number; probabilities?: number[]; value?: number };

/** Raw samples: some of the dataset's rows and a few beyond its range. */
const PLANAR_SAMPLES = [
  [1.2, 3.5],
  [-0.3, -1.5],
  [4, -4],
  [0, 0],
  [-3.9, 2.2],
];
const THREE_SAMPLES = [
  [0.5, 10, -2],
  [3, 0, 1],
  [-1, 25, 4],
  [2, 2, 2],
];

function threeClassData() {
  const features: number[][] = [];
  const labels: string[] = [];
  for (let i = 0; i < 60; i++) {
    const k = i % 3;
    features.push([k + Math.sin(i), 10 * k + Math.cos(i), (i % 7) - 3]);
    labels.push(['cat', 'dog', 'bird'][k]!);
  }
  return { features, labels };
}

function regressionData() {
  const features: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < 40; i++) {
    const x = [i / 10, Math.sin(i), (i % 5) * 3];
    features.push(x);
    labels.push(2 * x[0]! - x[1]! + 0.1 * x[2]!);
  }
  return { features, labels };
}

async function exported(id: string, format: string) {
  return ctx.app.inject({ method: 'GET', url: `/v1/models/${id}/export?format=${format}` });
}

const DOWNLOADS = {
  json: { type: 'application/json; charset=utf-8', extension: 'json' },
  js: { type: 'text/javascript; charset=utf-8', extension: 'mjs' },
  onnx: { type: 'application/octet-stream', extension: 'onnx' },
};

/** The model exported in this format: a 200 download of the format's type and file name. */
async function downloaded(modelId: string, format: keyof typeof DOWNLOADS) {
  const res = await exported(modelId, format);
  expect(res.statusCode, res.body).toBe(200);
  const { type, extension } = DOWNLOADS[format];
  expect(res.headers['content-type']).toBe(type);
  expect(res.headers['content-disposition']).toBe(`attachment; filename="model-${modelId}.${extension}"`);
  return res;
}

async function servicePredictions(id: string, samples: number[][]): Promise<Prediction[]> {
  const res = await ctx.app.inject({
    method: 'POST',
    url: `/v1/models/${id}/predictions`,
    payload: { samples },
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().predictions;
}

/** The network's output row per sample, as the service computes it (a sigmoid output: P(class 1)). */
function outputsOf(predictions: Prediction[], sigmoid: boolean): number[][] {
  return predictions.map((p) => {
    if (p.value !== undefined) return [p.value];
    return sigmoid ? [p.probabilities![1]!] : p.probabilities!;
  });
}

beforeAll(async () => {
  ctx = await createApiContext();
  worker = startTestWorker(ctx);
  folder = await mkdtemp(join(tmpdir(), 'bp-export-'));
  const planar = await uploadPlanar(ctx.app);
  const three = await createdId(ctx, '/v1/datasets', threeClassData());
  const reg = await createdId(ctx, '/v1/datasets', { ...regressionData(), task: 'regression' });
  const planarNet = await createdId(ctx, '/v1/networks', {
    inputSize: 2,
    layers: [
      { units: 4, activation: 'tanh' },
      { units: 1, activation: 'sigmoid' },
    ],
  });
  const threeNet = await createdId(ctx, '/v1/networks', {
    inputSize: 3,
    layers: [
      { units: 5, activation: 'leaky_relu', slope: 0.05 },
      { units: 4, activation: 'sigmoid' },
      { units: 3, activation: 'softmax' },
    ],
  });
  const regNet = await createdId(ctx, '/v1/networks', {
    inputSize: 3,
    layers: [
      { units: 6, activation: 'relu' },
      { units: 1, activation: 'linear' },
    ],
  });
  models['binary'] = await trainModel(ctx, planar, planarNet, { learningRate: 1.2, iterations: 300 });
  models['multiclass'] = await trainModel(ctx, three, threeNet, {
    learningRate: 0.5,
    iterations: 200,
    normalize: 'minmax',
  });
  models['regression'] = await trainModel(ctx, reg, regNet, {
    learningRate: 0.01,
    iterations: 200,
    normalize: 'none',
  });
});

afterAll(async () => {
  await worker?.killHard();
  await ctx?.close();
  if (folder) await rm(folder, { recursive: true, force: true });
});

const CASES = [
  ['binary', PLANAR_SAMPLES],
  ['multiclass', THREE_SAMPLES],
  ['regression', THREE_SAMPLES],
] as const;

describe('format=json', () => {
  it.each(CASES)(
    '%s: read by @backprop/nn with the weights bit for bit, and self-describing',
    async (kind) => {
      const { modelId } = models[kind]!;
      const res = await downloaded(modelId, 'json');
      const loaded = readModelExport(res.body);
      const params = (
        await ctx.app.inject({ method: 'GET', url: `/v1/models/${modelId}/parameters` })
      ).json();
      const model = (await ctx.app.inject({ method: 'GET', url: `/v1/models/${modelId}` })).json();
      const bits = (rows: number[][]) => Buffer.from(Float64Array.from(rows.flat()).buffer).toString('hex');
      const exportedParams = loaded.network.parameters();
      expect(Object.keys(exportedParams)).toEqual(Object.keys(params));
      for (const key of Object.keys(params)) expect(bits(exportedParams[key]!), key).toBe(bits(params[key]));
      expect(loaded.network.layers.map(({ units, activation }) => ({ units, activation }))).toEqual(
        model.layers.map(({ units, activation }: { units: number; activation: string }) => ({
          units,
          activation,
        })),
      );
      expect(loaded.task).toBe(kind);
      expect(loaded.normalization).toEqual(model.normalization);
      expect(loaded.classes).toEqual(model.classes ?? null);
      expect(loaded.featureNames).toHaveLength(loaded.network.inputSize);
      expect(loaded.about).toMatchObject({ modelId, jobId: models[kind]!.jobId });
      // W1 in the course's layout: (n[1], n[0])
      const doc = JSON.parse(res.body);
      expect(doc.network.parameters.W1).toHaveLength(model.layers[0].units);
      expect(doc.network.parameters.W1[0]).toHaveLength(model.inputSize);
    },
  );
});

describe('format=js', () => {
  it.each(CASES)('%s: the downloaded module predicts as the service does (1e-12)', async (kind, samples) => {
    const { modelId } = models[kind]!;
    const res = await downloaded(modelId, 'js');
    expect(res.body).not.toMatch(/^\s*import\b|\bimport\(|\brequire\(/m);
    const file = join(folder, `model-${kind}.mjs`);
    await writeFile(file, res.body);
    const module = await import(pathToFileURL(file).href);
    const theirs: Prediction[] = module.predict(samples);
    const ours = await servicePredictions(modelId, samples as unknown as number[][]);
    expect(theirs).toHaveLength(ours.length);
    ours.forEach((p, i) => {
      const t = theirs[i]!;
      if (p.value !== undefined) {
        expect(Math.abs(t.value! - p.value)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(p.value)));
        return;
      }
      expect(t.label).toBe(p.label);
      expect(t.probabilities).toHaveLength(p.probabilities!.length);
      p.probabilities!.forEach((q, k) => {
        expect(Math.abs(t.probabilities![k]! - q)).toBeLessThanOrEqual(1e-12);
      });
    });
    expect(() => module.predict([[1]])).toThrow(TypeError);
  });
});

describe('format=onnx', () => {
  it.each(CASES)('%s: onnxruntime-node gives the service outputs (1e-6)', async (kind, samples) => {
    const { modelId } = models[kind]!;
    const res = await downloaded(modelId, 'onnx');
    const session = await ort.InferenceSession.create(new Uint8Array(res.rawPayload));
    expect(session.inputNames).toEqual(['samples']);
    expect(session.outputNames).toEqual(['output']);
    const rows = samples as unknown as number[][];
    const input = new ort.Tensor('float64', Float64Array.from(rows.flat()), [rows.length, rows[0]!.length]);
    const result = await session.run({ samples: input });
    const output = result['output']!;
    const width = output.dims[1]!;
    const theirs = Array.from({ length: rows.length }, (_, i) =>
      Array.from((output.data as Float64Array).subarray(i * width, (i + 1) * width)),
    );
    const ours = outputsOf(await servicePredictions(modelId, rows), kind === 'binary');
    expect(theirs.map((r) => r.length)).toEqual(ours.map((r) => r.length));
    ours.forEach((row, i) => {
      row.forEach((v, k) => {
        expect(Math.abs(theirs[i]![k]! - v)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(v)));
      });
    });
    await session.release();
  });
});

describe('refusals', () => {
  it('an unknown or missing format is a 400 naming format', async () => {
    const { modelId } = models['binary']!;
    for (const url of [`/v1/models/${modelId}/export?format=pickle`, `/v1/models/${modelId}/export`]) {
      const res = await ctx.app.inject({ method: 'GET', url });
      const body = expectError(res, 400, 'BP_ERR_VALIDATION', url);
      expect(body.message).toMatch(/format/);
    }
  });

  it("another tenant's model and a missing one are 404 alike", async () => {
    const other = await ctx.createTenantKey('export-other');
    const { modelId } = models['binary']!;
    for (const format of ['json', 'js', 'onnx']) {
      const res = await ctx.app.inject({
        method: 'GET',
        url: `/v1/models/${modelId}/export?format=${format}`,
        headers: { authorization: `Bearer ${other.apiKey}` },
      });
      expectError(res, 404, 'BP_ERR_MODEL_NOT_FOUND');
      expectError(await exported(UNKNOWN_ID, format), 404, 'BP_ERR_MODEL_NOT_FOUND');
    }
  });
});
