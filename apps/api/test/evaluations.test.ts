/**
 * /v1/models/:id/evaluations. Models are made as models.test.ts makes them (a job claimed and
 * completed with the db package's functions and weights chosen here), so the expected metrics
 * come from the API's own predictions of the same samples put through @backprop/nn's metrics
 * (which test/metrics.test.ts checks against numpy): what this file checks is the wiring:
 * normalisation, label mapping, the thread, storage, listing, refusals and tenant isolation.
 */
import type { Prisma, Task } from '@backprop/db';
import { binaryMetrics, fromNested, type Matrix, multiclassMetrics, Network } from '@backprop/nn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext } from '../../../harness/api-context.ts';
import { evaluationThreadsStarted } from '../src/evaluation/run.ts';
import { storeModel } from './by-hand.ts';
import { binaryModel, softmaxModel } from './hand-models.ts';
import { createdId, expectError, postJson, UNKNOWN_ID } from './support.ts';

let ctx: ApiContext;
beforeAll(async () => {
  ctx = await createApiContext({ LIMIT_MODEL_EVALUATIONS: '3' });
});
afterAll(async () => ctx?.close());

type Nested = Record<string, number[][]>;

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
  postJson(ctx, url, payload, headers);

const dataset = (features: number[][], labels: (string | number)[], task?: Task) =>
  createdId(ctx, '/v1/datasets', { features, labels, ...(task ? { task } : {}) });

/** The API's own predictions of these samples: the probabilities (classification) or values. */
async function predictions(modelId: string, samples: number[][]) {
  const res = await post(`/v1/models/${modelId}/predictions`, { samples });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().predictions as { probabilities?: number[]; value?: number }[];
}

async function evaluate(modelId: string, datasetId: string, headers: Record<string, string> = {}) {
  return post(`/v1/models/${modelId}/evaluations`, { datasetId }, headers);
}

const trainFeatures = [
  [0, -2],
  [2, -1.5],
  [1, -2.5],
  [3, -2],
  [-1, -1.8],
  [0.5, -2.2],
];
/** The hand-weighted binary model (hand-models.ts) "trained" on trainFeatures, classes cat and dog. */
const storeCatDogModel = (normalization: Prisma.InputJsonObject) =>
  storeModel(ctx, {
    features: trainFeatures,
    labels: ['cat', 'dog', 'cat', 'dog', 'dog', 'cat'],
    ...binaryModel,
    task: 'binary',
    classes: ['cat', 'dog'],
    normalization,
  });
let binary: { datasetId: string; modelId: string };

beforeAll(async () => {
  binary = await storeCatDogModel(binaryModel.normalization);
});

describe('POST /v1/models/:id/evaluations', () => {
  it('binary: the metrics of the model’s own predictions on a test set, stored, listed and read back', async () => {
    // A test set whose classes come in the other order of appearance, with a tie in scores.
    const features = [
      [0.2, -2],
      [2.5, -1],
      [1, -2.5],
      [-2, -1],
      [3, -3],
      [0.2, -2],
      [1, -1.9],
    ];
    const labels = ['dog', 'cat', 'dog', 'dog', 'cat', 'cat', 'dog'];
    const testSet = await dataset(features, labels);
    const threadsBefore = evaluationThreadsStarted();
    const res = await evaluate(binary.modelId, testSet);
    expect(res.statusCode, res.body).toBe(201);
    // Seven samples: evaluated on the main thread, no thread started for them.
    expect(evaluationThreadsStarted()).toBe(threadsBefore);
    const evaluation = res.json();
    expect(res.headers.location).toBe(`/v1/models/${binary.modelId}/evaluations/${evaluation.id}`);
    expect(evaluation).toMatchObject({
      modelId: binary.modelId,
      datasetId: testSet,
      task: 'binary',
      samples: 7,
    });

    const p = (await predictions(binary.modelId, features)).map((x) => x.probabilities![1]!);
    const actual = labels.map((l) => (l === 'dog' ? 1 : 0));
    const expected = binaryMetrics(fromNested([p]), actual, 1000);
    const { metrics } = evaluation;
    expect(metrics).toMatchObject({
      task: 'binary',
      positiveClass: 'dog',
      threshold: 0.5,
      accuracy: expected.accuracy,
      precision: expected.precision,
      recall: expected.recall,
      f1: expected.f1,
      rocAuc: expected.rocAuc,
      logLoss: expected.logLoss,
      confusionMatrix: { labels: ['cat', 'dog'], counts: expected.confusionMatrix },
      undefinedMetrics: {},
    });
    expect(metrics.rocCurve.fpr).toEqual(expected.rocCurve!.fpr);
    expect(metrics.rocCurve.tpr).toEqual(expected.rocCurve!.tpr);
    expect(metrics.rocCurve.thresholds).toEqual([null, ...expected.rocCurve!.thresholds.slice(1)]);
    // The confusion matrix counts every sample once.
    expect(metrics.confusionMatrix.counts.flat().reduce((a: number, b: number) => a + b, 0)).toBe(7);

    const one = await ctx.app.inject({
      method: 'GET',
      url: `/v1/models/${binary.modelId}/evaluations/${evaluation.id}`,
    });
    expect(one.statusCode, one.body).toBe(200);
    expect(one.json()).toEqual(evaluation);
    const list = await ctx.app.inject({ method: 'GET', url: `/v1/models/${binary.modelId}/evaluations` });
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json().items.map((e: { id: string }) => e.id)).toContain(evaluation.id);
  });

  it('multi-class on a test set holding two of the three classes: labels map to the model’s classes', async () => {
    const { modelId } = await storeModel(ctx, {
      features: [
        [1, 0],
        [0, 1],
        [-1, -1],
        [2, 0],
        [0, 2],
        [-2, -1],
      ],
      labels: ['a', 'b', 'c', 'a', 'b', 'c'],
      ...softmaxModel,
      task: 'multiclass',
      classes: ['a', 'b', 'c'],
      normalization: { kind: 'none' },
    });
    // Its own classes are ["b", "c"]: index 0 here is the model's 1.
    const features = [
      [0, 1],
      [-1, -2],
      [1, 0.5],
      [0.1, 0],
      [-3, 0],
    ];
    const labels = ['b', 'c', 'b', 'c', 'c'];
    const testSet = await dataset(features, labels, 'multiclass');
    const res = await evaluate(modelId, testSet);
    expect(res.statusCode, res.body).toBe(201);
    const probabilities = (await predictions(modelId, features)).map((x) => x.probabilities!);
    const AL = fromNested([0, 1, 2].map((c) => probabilities.map((p) => p[c]!)));
    const expected = multiclassMetrics(
      AL,
      labels.map((l) => ['a', 'b', 'c'].indexOf(l)),
    );
    const { metrics } = res.json();
    expect(metrics).toEqual({
      task: 'multiclass',
      accuracy: expected.accuracy,
      logLoss: expected.logLoss,
      perClass: expected.perClass.map((s, c) => ({ label: ['a', 'b', 'c'][c], ...s })),
      macro: expected.macro,
      weighted: expected.weighted,
      confusionMatrix: { labels: ['a', 'b', 'c'], counts: expected.confusionMatrix },
    });
    expect(metrics.perClass[0].support).toBe(0);
    expect(metrics.confusionMatrix.counts[0]).toEqual([0, 0, 0]);
  });

  it('regression: MSE, RMSE, MAE and R² of the predictions', async () => {
    const { modelId } = await storeModel(ctx, {
      features: [
        [1],
        [2],
        [3],
        [4],
        [5],
        [6],
        [7],
        [8],
        [9],
        [10],
        [11],
        [12],
        [13],
        [14],
        [15],
        [16],
        [17],
        [18],
        [19],
        [20],
        [21],
        [22],
      ],
      labels: [
        0.5, 1.7, 2.2, 3.9, 4.1, 5.3, 6.8, 7.2, 8.4, 9.9, 10.5, 11.1, 12.2, 13.7, 14.1, 15.9, 16.3, 17.8,
        18.2, 19.6, 20.3, 21.7,
      ],
      layers: [{ units: 1, activation: 'linear' }],
      parameters: { W1: [[2]], b1: [[0.5]] },
      task: 'regression',
      classes: null,
      normalization: { kind: 'minmax', min: [1], max: [22] },
    });
    const features = [[1], [5.5], [12], [30]];
    const targets = [0.4, 5, 12.5, 29.1];
    const testSet = await dataset(features, targets, 'regression');
    const res = await evaluate(modelId, testSet);
    expect(res.statusCode, res.body).toBe(201);
    const values = (await predictions(modelId, features)).map((x) => x.value!);
    const errors = values.map((v, i) => v - targets[i]!);
    const mse = errors.reduce((s, e) => s + e * e, 0) / 4;
    const mean = targets.reduce((a, b) => a + b, 0) / 4;
    const total = targets.reduce((s, y) => s + (y - mean) ** 2, 0);
    const { metrics } = res.json();
    expect(metrics.task).toBe('regression');
    expect(metrics.mse).toBeCloseTo(mse, 12);
    expect(metrics.rmse).toBeCloseTo(Math.sqrt(mse), 12);
    expect(metrics.mae).toBeCloseTo(errors.reduce((s, e) => s + Math.abs(e), 0) / 4, 12);
    expect(metrics.r2).toBeCloseTo(1 - (mse * 4) / total, 12);
  });

  it('a big evaluation runs in a worker thread, with the same metrics', async () => {
    // 50 + 1 units × 4,200 samples = 214,200 activation values: above run.ts's main-thread bound.
    const hidden = 50;
    const layers = [
      { units: hidden, activation: 'tanh' as const },
      { units: 1, activation: 'sigmoid' as const },
    ];
    const parameters: Nested = {
      W1: Array.from({ length: hidden }, (_, i) => [Math.sin(i + 1), Math.cos(2 * i + 1)]),
      b1: Array.from({ length: hidden }, (_, i) => [Math.sin(3 * i) / 10]),
      W2: [Array.from({ length: hidden }, (_, i) => Math.cos(i) / 5)],
      b2: [[0.1]],
    };
    const m = 4200;
    const features = Array.from({ length: m }, (_, i) => [
      ((i * 7919) % 1000) / 250 - 2,
      ((i * 104729) % 997) / 250 - 2,
    ]);
    const labels = features.map(([a, b]) => (Math.sin(3 * a!) + b! > 0 ? 'dog' : 'cat'));
    const { modelId, datasetId } = await storeModel(ctx, {
      features,
      labels,
      layers,
      parameters,
      task: 'binary',
      classes: ['cat', 'dog'],
      normalization: { kind: 'none' },
    });
    const threadsBefore = evaluationThreadsStarted();
    const res = await evaluate(modelId, datasetId);
    expect(res.statusCode, res.body).toBe(201);
    expect(evaluationThreadsStarted()).toBe(threadsBefore + 1);
    // The same forward pass here, from the weights.
    const net = Network.fromParameters({ inputSize: 2, layers, parameters });
    const AL = net.forward(fromNested([features.map((f) => f[0]!), features.map((f) => f[1]!)])) as Matrix;
    const expected = binaryMetrics(
      AL,
      labels.map((l) => (l === 'dog' ? 1 : 0)),
      ctx.env.EVALUATION_ROC_MAX_POINTS,
    );
    const { metrics } = res.json();
    expect(res.json().samples).toBe(m);
    expect(metrics.accuracy).toBe(expected.accuracy);
    expect(metrics.confusionMatrix.counts).toEqual(expected.confusionMatrix);
    expect(metrics.rocAuc).toBe(expected.rocAuc);
    expect(metrics.logLoss).toBeCloseTo(expected.logLoss, 12);
    expect(metrics.rocCurve.fpr).toEqual(expected.rocCurve!.fpr);
  });
});

describe('refusals', () => {
  it('422 naming datasetId: other features, a label the model does not know, a regression dataset', async () => {
    const threeFeatures = await dataset(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      ['cat', 'dog'],
    );
    let body = expectError(await evaluate(binary.modelId, threeFeatures), 422, 'BP_ERR_INCOMPATIBLE');
    expect(body.message).toMatch(/datasetId: .* has 3 features, but the model takes 2/);
    expect(body.details).toEqual({ field: 'datasetId' });

    const otherLabels = await dataset(
      [
        [1, 2],
        [3, 4],
      ],
      ['cat', 'bird'],
    );
    body = expectError(await evaluate(binary.modelId, otherLabels), 422, 'BP_ERR_INCOMPATIBLE');
    expect(body.message).toMatch(/the label "bird", which is not one of the model's classes \["cat","dog"\]/);
    expect(body.details).toEqual({ field: 'datasetId' });

    const realValued = await dataset(
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      [0.5, 1.5, 2.25],
    );
    body = expectError(await evaluate(binary.modelId, realValued), 422, 'BP_ERR_INCOMPATIBLE');
    expect(body.message).toMatch(/datasetId: the model is a binary model but dataset .* is a regression/);
  });

  it('404 for a missing model, dataset or evaluation', async () => {
    expectError(await evaluate(UNKNOWN_ID, binary.datasetId), 404, 'BP_ERR_MODEL_NOT_FOUND');
    const missing = expectError(await evaluate(binary.modelId, UNKNOWN_ID), 404, 'BP_ERR_DATASET_NOT_FOUND');
    expect(missing.details).toEqual({ field: 'datasetId' });
    expectError(
      await ctx.app.inject({ method: 'GET', url: `/v1/models/${binary.modelId}/evaluations/${UNKNOWN_ID}` }),
      404,
      'BP_ERR_EVALUATION_NOT_FOUND',
    );
    const gone = await dataset(
      [
        [1, 2],
        [3, 4],
      ],
      ['cat', 'dog'],
    );
    expect((await ctx.app.inject({ method: 'DELETE', url: `/v1/datasets/${gone}` })).statusCode).toBe(204);
    // No job refers to it: the row went, so it is missing.
    expectError(await evaluate(binary.modelId, gone), 404, 'BP_ERR_DATASET_NOT_FOUND');
    expectError(
      await post(`/v1/models/${binary.modelId}/evaluations`, { datasetId: binary.datasetId, extra: 1 }),
      400,
      'BP_ERR_VALIDATION',
    );
  });

  it('another tenant sees none of it: its model, evaluations and datasets are 404s', async () => {
    const first = await evaluate(binary.modelId, binary.datasetId);
    expect(first.statusCode, first.body).toBe(201);
    const evaluationId = first.json().id;
    const other = await ctx.createTenantKey('other-tenant');
    const as = { authorization: `Bearer ${other.apiKey}` };
    expectError(await evaluate(binary.modelId, binary.datasetId, as), 404, 'BP_ERR_MODEL_NOT_FOUND');
    expectError(
      await ctx.app.inject({ method: 'GET', url: `/v1/models/${binary.modelId}/evaluations`, headers: as }),
      404,
      'BP_ERR_MODEL_NOT_FOUND',
    );
    expectError(
      await ctx.app.inject({
        method: 'GET',
        url: `/v1/models/${binary.modelId}/evaluations/${evaluationId}`,
        headers: as,
      }),
      404,
      'BP_ERR_EVALUATION_NOT_FOUND',
    );
    // Our model on the other tenant's dataset: the dataset is not ours.
    const theirs = await post(
      '/v1/datasets',
      {
        features: [
          [1, 2],
          [3, 4],
        ],
        labels: ['cat', 'dog'],
      },
      as,
    );
    expect(theirs.statusCode, theirs.body).toBe(201);
    expectError(await evaluate(binary.modelId, theirs.json().id), 404, 'BP_ERR_DATASET_NOT_FOUND');
  });

  it('a deleted dataset is a 409; deleting the model deletes its evaluations', async () => {
    const { modelId, datasetId } = await storeCatDogModel({ kind: 'none' });
    expect((await evaluate(modelId, datasetId)).statusCode).toBe(201);
    expect(await ctx.database.db.evaluation.count({ where: { modelId } })).toBe(1);
    // Its dataset, deleted while a finished job refers to it, keeps its row but not its values: 409.
    expect((await ctx.app.inject({ method: 'DELETE', url: `/v1/datasets/${datasetId}` })).statusCode).toBe(
      204,
    );
    const deleted = expectError(await evaluate(modelId, datasetId), 409, 'BP_ERR_DATASET_DELETED');
    expect(deleted.details).toMatchObject({ field: 'datasetId' });
    expect((await ctx.app.inject({ method: 'DELETE', url: `/v1/models/${modelId}` })).statusCode).toBe(204);
    expect(await ctx.database.db.evaluation.count({ where: { modelId } })).toBe(0);
  });

  it('LIMIT_MODEL_EVALUATIONS: a model keeps that many (422 naming the limit, nothing stored); deleting one makes room', async () => {
    const { modelId, datasetId } = await storeCatDogModel({ kind: 'none' });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await evaluate(modelId, datasetId);
      expect(res.statusCode, res.body).toBe(201);
      ids.push(res.json().id);
    }
    const refused = expectError(await evaluate(modelId, datasetId), 422, 'BP_ERR_LIMIT_EXCEEDED');
    expect(refused.details).toEqual({ limit: 'LIMIT_MODEL_EVALUATIONS', actual: 4, max: 3 });
    expect(await ctx.database.db.evaluation.count({ where: { modelId } })).toBe(3);

    const url = `/v1/models/${modelId}/evaluations/${ids[0]}`;
    const other = await ctx.createTenantKey('deleting-tenant');
    expectError(
      await ctx.app.inject({ method: 'DELETE', url, headers: { authorization: `Bearer ${other.apiKey}` } }),
      404,
      'BP_ERR_EVALUATION_NOT_FOUND',
    );
    expect((await ctx.app.inject({ method: 'DELETE', url })).statusCode).toBe(204);
    expectError(await ctx.app.inject({ method: 'GET', url }), 404, 'BP_ERR_EVALUATION_NOT_FOUND');
    expectError(await ctx.app.inject({ method: 'DELETE', url }), 404, 'BP_ERR_EVALUATION_NOT_FOUND');
    expect((await evaluate(modelId, datasetId)).statusCode).toBe(201);
  });
});
