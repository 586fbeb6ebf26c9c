/**
 * /v1/jobs with a real queue and no worker: jobs stay queued, which is what these tests need.
 */
import { CANCEL_CHANNEL, JobErrorCode, PlannedTraining } from '@backprop/contracts';
import { failJob, recordProgress } from '@backprop/db';
import { Queue } from 'bullmq';
import type { LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext } from '../../../harness/api-context.ts';
import { claimByHand } from './by-hand.ts';
import { createdId, expectError, postJson, SMALL_NETWORK, UNKNOWN_ID } from './support.ts';

let ctx: ApiContext;
let connection: Redis;
let queue: Queue;

/** 10 samples, 2 features, labels 0/1. */
let binaryId: string;
/** 12 samples, 2 features, classes a, b, c. */
let multiclassId: string;
/** 10 samples, 2 features, real-valued labels. */
let regressionId: string;
/** 2 → 3 tanh → 1 sigmoid */
let sigmoidNetId: string;
/** 2 → 3 softmax */
let softmax3NetId: string;
/** 2 → 2 softmax */
let softmax2NetId: string;
/** 2 → 1 linear */
let linearNetId: string;
/** 3 → 1 sigmoid */
let wideNetId: string;

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
  postJson(ctx, url, payload, headers);

beforeAll(async () => {
  // No worker runs here: every job this file creates stays queued, so it needs more than the
  // default LIMIT_TENANT_ACTIVE_JOBS (its own tests are in limits.test.ts).
  ctx = await createApiContext({
    LIMIT_ITERATIONS: '5000',
    LIMIT_TRAINING_WORK: '20000',
    JOB_ATTEMPTS: '4',
    LIMIT_TENANT_ACTIVE_JOBS: '1000',
  });
  connection = new Redis(ctx.env.REDIS_URL, { maxRetriesPerRequest: null });
  queue = new Queue('training', { connection, prefix: ctx.prefix });
  const rows = (n: number) => Array.from({ length: n }, (_, i) => [i, (i * 7) % 5]);
  binaryId = await createdId(ctx, '/v1/datasets', {
    features: rows(10),
    labels: [0, 1, 0, 1, 0, 1, 0, 1, 0, 1],
  });
  multiclassId = await createdId(ctx, '/v1/datasets', {
    features: rows(12),
    labels: Array.from({ length: 12 }, (_, i) => ['a', 'b', 'c'][i % 3]),
  });
  regressionId = await createdId(ctx, '/v1/datasets', {
    features: rows(10),
    labels: Array.from({ length: 10 }, (_, i) => i * 0.37),
  });
  sigmoidNetId = await createdId(ctx, '/v1/networks', SMALL_NETWORK);
  const oneLayer = (inputSize: number, units: number, activation: string) =>
    createdId(ctx, '/v1/networks', { inputSize, layers: [{ units, activation }] });
  softmax3NetId = await oneLayer(2, 3, 'softmax');
  softmax2NetId = await oneLayer(2, 2, 'softmax');
  linearNetId = await oneLayer(2, 1, 'linear');
  wideNetId = await oneLayer(3, 1, 'sigmoid');
});
afterAll(async () => {
  await queue?.close();
  connection?.disconnect();
  await ctx?.close();
});

function job(training: Record<string, unknown>, datasetId = binaryId, networkId = sigmoidNetId) {
  return { datasetId, networkId, training };
}

/** Sends a POST /v1/jobs that must fail; checks that no row and no queue entry appeared. */
async function rejected(payload: unknown, headers: Record<string, string> = {}) {
  const rowsBefore = await ctx.database.db.trainingJob.count();
  const queuedBefore = await queue.count();
  const res = await post('/v1/jobs', payload, headers);
  expect(res.statusCode).toBeGreaterThanOrEqual(400);
  expect(await ctx.database.db.trainingJob.count()).toBe(rowsBefore);
  expect(await queue.count()).toBe(queuedBefore);
  return res;
}

async function accepted(payload: unknown, headers: Record<string, string> = {}) {
  const res = await post('/v1/jobs', payload, headers);
  expect(res.statusCode, res.body).toBe(202);
  return res.json();
}

describe('POST /v1/jobs', () => {
  it('202 with Location, status queued, defaults filled in, the row stored and the job queued under its id', async () => {
    const res = await post('/v1/jobs', job({ learningRate: 0.5, iterations: 1000 }));
    expect(res.statusCode, res.body).toBe(202);
    const body = res.json();
    expect(res.headers.location).toBe(`/v1/jobs/${body.id}`);
    expect(body).toMatchObject({
      status: 'queued',
      datasetId: binaryId,
      networkId: sigmoidNetId,
      progress: { iteration: 0, iterations: 1000 },
      cost: null,
      attempts: 0,
      startedAt: null,
      finishedAt: null,
      error: null,
      modelId: null,
    });
    expect(body.training).toEqual({
      learningRate: 0.5,
      iterations: 1000,
      optimizer: 'gd',
      l2: 0,
      validationSplit: 0,
      normalize: 'standard',
      seed: expect.any(Number),
      costEvery: 10,
      threads: 2,
      dtype: 'float64',
    });
    expect(Number.isInteger(body.training.seed)).toBe(true);
    expect(body.training.seed).toBeGreaterThanOrEqual(0);
    expect(body.training.seed).toBeLessThanOrEqual(0xffffffff);

    const row = await ctx.database.db.trainingJob.findUniqueOrThrow({ where: { id: body.id } });
    expect(row).toMatchObject({ status: 'queued', iterations: 1000, datasetId: binaryId });
    // The stored plan is the answer's options with the numbers of the run (its costEvery included).
    const { run, ...options } = PlannedTraining.parse(row.training);
    expect(options).toEqual(body.training);
    expect(run).toMatchObject({ updates: 1000, costPoints: 101 });

    const queued = await queue.getJob(body.id);
    expect(queued).toBeDefined();
    expect(queued!.id).toBe(body.id);
    expect(queued!.name).toBe('train');
    expect(queued!.data).toEqual({ jobId: body.id, tenantId: row.tenantId });
    expect(queued!.opts.attempts).toBe(4);
    expect(await queued!.getState()).toBe('waiting');
  });

  it('keeps given options: seed, costEvery, optimizer, normalize, l2', async () => {
    const training = {
      learningRate: 0.01,
      iterations: 50,
      seed: 42,
      costEvery: 5,
      optimizer: 'adam',
      normalize: 'minmax',
      l2: 0.7,
    };
    const body = await accepted(job(training));
    // Adam's hyper-parameters with nn's defaults (optimizers.test.ts covers them).
    expect(body.training).toEqual({
      ...training,
      validationSplit: 0,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      threads: 2,
      dtype: 'float64',
    });
    expect(body.progress.iterations).toBe(50);
  });

  it('epochs with mini-batches: the updates are epochs × ceil(training samples / batchSize)', async () => {
    // 10 samples, 20% held out: 8 training samples, batches of 3 → 3 per epoch
    const body = await accepted(job({ learningRate: 0.1, epochs: 4, batchSize: 3, validationSplit: 0.2 }));
    expect(body.progress.iterations).toBe(12);
    expect(body.training.costEvery).toBe(1);
    const withEarlyStop = await accepted(
      job({
        learningRate: 0.1,
        epochs: 2,
        batchSize: 8,
        validationSplit: 0.2,
        earlyStopping: { patience: 3 },
      }),
    );
    expect(withEarlyStop.progress.iterations).toBe(2);
    expect(withEarlyStop.training.earlyStopping).toEqual({ patience: 3 });
  });

  it('accepts every dataset/output pairing that fits', async () => {
    await accepted(job({ learningRate: 0.1, iterations: 5 }, binaryId, softmax2NetId));
    await accepted(job({ learningRate: 0.1, iterations: 5 }, multiclassId, softmax3NetId));
    await accepted(job({ learningRate: 0.1, iterations: 5 }, regressionId, linearNetId));
  });

  it('404 for an unknown dataset or network, naming which', async () => {
    const dataset = await rejected(job({ learningRate: 0.1, iterations: 5 }, UNKNOWN_ID));
    const d = expectError(dataset, 404, 'BP_ERR_DATASET_NOT_FOUND');
    expect(d.message).toContain('datasetId');
    expect(d.message).toContain(UNKNOWN_ID);
    const network = await rejected(job({ learningRate: 0.1, iterations: 5 }, binaryId, UNKNOWN_ID));
    const n = expectError(network, 404, 'BP_ERR_NETWORK_NOT_FOUND');
    expect(n.message).toContain('networkId');
    expect(n.message).toContain(UNKNOWN_ID);
  });

  it('400 for ids that are not UUIDs, naming the field', async () => {
    const res = await rejected(job({ learningRate: 0.1, iterations: 5 }, 'abc'));
    expect(expectError(res, 400, 'BP_ERR_VALIDATION').message).toContain('body.datasetId');
  });

  it('422 BP_ERR_INCOMPATIBLE when the network does not fit the dataset', async () => {
    const cases: [string, string, RegExp][] = [
      [binaryId, wideNetId, /inputSize is 3 but the dataset has 2 features/],
      [multiclassId, sigmoidNetId, /multiclass with 3 classes.*softmax output layer with 3 units.*sigmoid/],
      [multiclassId, softmax2NetId, /softmax output layer with 3 units.*softmax with 2 unit/],
      [binaryId, softmax3NetId, /binary.*sigmoid output layer with 1 unit \(or softmax with 2\)/],
      [binaryId, linearNetId, /binary.*the network ends in linear/],
      [multiclassId, linearNetId, /multiclass.*linear/],
      [regressionId, sigmoidNetId, /regression, which needs a linear output layer with 1 unit/],
      [regressionId, softmax2NetId, /regression.*softmax/],
    ];
    for (const [datasetId, networkId, message] of cases) {
      const res = await rejected(job({ learningRate: 0.1, iterations: 5 }, datasetId, networkId));
      const body = expectError(res, 422, 'BP_ERR_INCOMPATIBLE');
      expect(body.message).toMatch(message);
      expect(body.message).toMatch(/^networkId: /);
      expect(body.details).toEqual({ field: 'networkId' });
    }
  });

  it('400 for both or neither of iterations and epochs, epochs without batchSize, earlyStopping without validationSplit', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [
        { learningRate: 0.1, iterations: 5, epochs: 2, batchSize: 2 },
        'body.training.iterations: give exactly one',
      ],
      [{ learningRate: 0.1 }, 'body.training.iterations: give exactly one'],
      [{ learningRate: 0.1, epochs: 2 }, 'body.training.batchSize: epochs need a batchSize'],
      [
        { learningRate: 0.1, iterations: 5, earlyStopping: { patience: 2 } },
        'body.training.earlyStopping: early stopping needs a validationSplit > 0',
      ],
    ];
    for (const [training, message] of cases) {
      const res = await rejected(job(training));
      expect(expectError(res, 400, 'BP_ERR_VALIDATION').message).toContain(message);
    }
  });

  it('400 for missing, unknown and wrongly typed fields, naming them', async () => {
    const cases: [unknown, string][] = [
      [{ datasetId: binaryId, networkId: sigmoidNetId }, 'body.training'],
      [{ networkId: sigmoidNetId, training: { learningRate: 0.1, iterations: 5 } }, 'body.datasetId'],
      [{ ...job({ learningRate: 0.1, iterations: 5 }), priority: 1 }, 'priority'],
      [job({ learningRate: 0.1, iterations: 5, momentum: 0.9 }), 'momentum'],
      [job({ iterations: 5 }), 'body.training.learningRate'],
      [job({ learningRate: 0, iterations: 5 }), 'body.training.learningRate'],
      [job({ learningRate: '0.1', iterations: 5 }), 'body.training.learningRate'],
      [job({ learningRate: 0.1, iterations: 2.5 }), 'body.training.iterations'],
      [job({ learningRate: 0.1, iterations: 0 }), 'body.training.iterations'],
      [job({ learningRate: 0.1, iterations: 5, optimizer: 'sgd' }), 'body.training.optimizer'],
      [job({ learningRate: 0.1, iterations: 5, validationSplit: 0.95 }), 'body.training.validationSplit'],
      [job({ learningRate: 0.1, iterations: 5, seed: -1 }), 'body.training.seed'],
      [job({ learningRate: 0.1, iterations: 5, costEvery: 0 }), 'body.training.costEvery'],
      [
        job({ learningRate: 0.1, iterations: 5, validationSplit: 0.2, earlyStopping: { patience: 0 } }),
        'body.training.earlyStopping.patience',
      ],
    ];
    for (const [payload, field] of cases) {
      const res = await rejected(payload);
      expect(expectError(res, 400, 'BP_ERR_VALIDATION').message).toContain(field);
    }
  });

  it('400 for a huge literal that JSON.parse turns into Infinity', async () => {
    const base = JSON.stringify(job({ learningRate: 'LR', iterations: 'IT', l2: 'L2' }));
    const cases: [string, string][] = [
      [base.replace('"LR"', '1e309').replace('"IT"', '5').replace('"L2"', '0'), 'body.training.learningRate'],
      [base.replace('"LR"', '0.1').replace('"IT"', '1e309').replace('"L2"', '0'), 'body.training.iterations'],
      [base.replace('"LR"', '0.1').replace('"IT"', '5').replace('"L2"', '1e309'), 'body.training.l2'],
      [base.replace('"LR"', '0.1').replace('"IT"', '5').replace('"L2"', '-1e309'), 'body.training.l2'],
    ];
    expect(JSON.parse(cases[0]![0]).training.learningRate).toBe(Number.POSITIVE_INFINITY);
    for (const [payload, field] of cases) {
      const res = await rejected(payload);
      expect(expectError(res, 400, 'BP_ERR_VALIDATION').message).toContain(field);
    }
  });

  it('422 when the batch is larger than the training samples, or the split holds out nothing', async () => {
    const batch = await rejected(job({ learningRate: 0.1, epochs: 1, batchSize: 11 }));
    const b = expectError(batch, 422, 'BP_ERR_INCOMPATIBLE');
    expect(b.message).toBe('training.batchSize: batchSize 11 is larger than the 10 training samples');
    expect(b.details).toEqual({ field: 'training.batchSize' });
    // 10 samples, half held out: 5 training samples
    const split = await rejected(
      job({ learningRate: 0.1, iterations: 5, batchSize: 6, validationSplit: 0.5 }),
    );
    expect(expectError(split, 422, 'BP_ERR_INCOMPATIBLE').message).toContain('the 5 training samples');
    const none = await rejected(job({ learningRate: 0.1, iterations: 5, validationSplit: 0.04 }));
    expect(expectError(none, 422, 'BP_ERR_INCOMPATIBLE').message).toMatch(
      /^training\.validationSplit: .*no sample/,
    );
  });

  it('LIMIT_ITERATIONS: 422 naming the limit, for iterations and for epochs', async () => {
    const res = await rejected(job({ learningRate: 0.1, iterations: 5001 }));
    const body = expectError(res, 422, 'BP_ERR_LIMIT_EXCEEDED');
    expect(body.details).toEqual({ limit: 'LIMIT_ITERATIONS', actual: 5001, max: 5000 });
    expect(body.message).toContain('LIMIT_ITERATIONS');
    // 10 samples in batches of 1: 10 updates per epoch
    const epochs = await rejected(job({ learningRate: 0.1, epochs: 501, batchSize: 1 }));
    expect(expectError(epochs, 422, 'BP_ERR_LIMIT_EXCEEDED').details).toEqual({
      limit: 'LIMIT_ITERATIONS',
      actual: 5010,
      max: 5000,
    });
    await accepted(job({ learningRate: 0.1, iterations: 5000, batchSize: 1 }));
  });

  it('LIMIT_TRAINING_WORK: 422 naming the limit (updates × samples per update)', async () => {
    // full batch of 10 samples × 2001 updates = 20010 > 20000
    const res = await rejected(job({ learningRate: 0.1, iterations: 2001 }));
    const body = expectError(res, 422, 'BP_ERR_LIMIT_EXCEEDED');
    expect(body.details).toEqual({ limit: 'LIMIT_TRAINING_WORK', actual: 20010, max: 20000 });
    expect(body.message).toContain('LIMIT_TRAINING_WORK');
    await accepted(job({ learningRate: 0.1, iterations: 2000 }));
  });

  describe('initialParameters', () => {
    // the network is 2 → 3 tanh → 1 sigmoid
    const good = () => ({
      W1: [
        [0.1, 0.2],
        [0.3, 0.4],
        [0.5, 0.6],
      ],
      b1: [[0], [0.1], [0.2]],
      W2: [[1, -1, 0.5]],
      b2: [[0.25]],
    });

    it('accepts the right keys and shapes and stores them as given', async () => {
      const body = await accepted(job({ learningRate: 0.1, iterations: 5, initialParameters: good() }));
      expect(body.training.initialParameters).toEqual(good());
    });

    it('422 naming the missing key', async () => {
      const { b2: _, ...missing } = good();
      const res = await rejected(job({ learningRate: 0.1, iterations: 5, initialParameters: missing }));
      const body = expectError(res, 422, 'BP_ERR_INCOMPATIBLE');
      expect(body.message).toBe('training.initialParameters.b2: missing; expected a (1, 1) array');
      expect(body.details).toEqual({ field: 'training.initialParameters.b2' });
    });

    it('422 naming the extra key', async () => {
      const res = await rejected(
        job({ learningRate: 0.1, iterations: 5, initialParameters: { ...good(), W3: [[1]], b3: [[0]] } }),
      );
      expect(expectError(res, 422, 'BP_ERR_INCOMPATIBLE').message).toMatch(
        /^training\.initialParameters\.W3: the network has no parameter W3/,
      );
    });

    it('422 naming the parameter of the wrong shape', async () => {
      const transposed = {
        ...good(),
        W1: [
          [0.1, 0.3, 0.5],
          [0.2, 0.4, 0.6],
        ],
      };
      const res = await rejected(job({ learningRate: 0.1, iterations: 5, initialParameters: transposed }));
      const body = expectError(res, 422, 'BP_ERR_INCOMPATIBLE');
      expect(body.message).toMatch(/^training\.initialParameters\.W1: expected shape \(3, 2\), got 2 rows/);
      const ragged = { ...good(), b1: [[0], [0.1, 0.2], [0.2]] };
      const res2 = await rejected(job({ learningRate: 0.1, iterations: 5, initialParameters: ragged }));
      expect(expectError(res2, 422, 'BP_ERR_INCOMPATIBLE').message).toMatch(
        /^training\.initialParameters\.b1: expected shape \(3, 1\), got 3 rows of lengths 1\/2/,
      );
    });

    it('400 for a key that is not W<n> or b<n>, and for non-finite values', async () => {
      const res = await rejected(
        job({ learningRate: 0.1, iterations: 5, initialParameters: { ...good(), gamma: [[1]] } }),
      );
      expect(expectError(res, 400, 'BP_ERR_VALIDATION').message).toContain('body.training.initialParameters');
      const text = JSON.stringify(
        job({ learningRate: 0.1, iterations: 5, initialParameters: good() }),
      ).replace('[[0.25]]', '[[1e309]]');
      const inf = await rejected(text);
      expect(expectError(inf, 400, 'BP_ERR_VALIDATION').message).toContain(
        'body.training.initialParameters.b2.0.0',
      );
    });
  });
});

describe('POST /v1/jobs racing a DELETE of its dataset', () => {
  it('is 404 for the dataset, not a 500, when the dataset goes between the check and the insert', async () => {
    const datasetId = await createdId(ctx, '/v1/datasets', {
      features: [
        [1, 2],
        [3, 4],
      ],
      labels: [0, 1],
    });
    const db = ctx.database.db;
    const rowsBefore = await db.trainingJob.count();
    const queuedBefore = await queue.count();
    let response: Promise<LightMyRequestResponse> | undefined;
    // Lock the dataset row, let the POST pass its checks and block on the row (the share lock
    // that guards against a deleted dataset, or the foreign key of its insert), then delete the
    // dataset and commit: the POST finds it gone.
    await db.$transaction(
      async (tx) => {
        await tx.$queryRaw`SELECT "id" FROM "Dataset" WHERE "id" = ${datasetId}::uuid FOR UPDATE`;
        response = post('/v1/jobs', job({ learningRate: 0.1, iterations: 5 }, datasetId));
        let waiting = 0;
        for (let i = 0; i < 200 && waiting === 0; i++) {
          await new Promise((r) => setTimeout(r, 10));
          const rows = await db.$queryRaw<{ n: bigint }[]>`
            SELECT count(*) AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'
              AND (query ILIKE 'INSERT INTO%TrainingJob%' OR query ILIKE '%FROM "Dataset"%FOR SHARE%')`;
          waiting = Number(rows[0]!.n);
        }
        expect(waiting).toBe(1);
        await tx.dataset.delete({ where: { id: datasetId } });
      },
      { timeout: 10_000 },
    );
    const res = await response!;
    const body = expectError(res, 404, 'BP_ERR_DATASET_NOT_FOUND');
    expect(body.message).toContain(datasetId);
    expect(await db.trainingJob.count()).toBe(rowsBefore);
    expect(await queue.count()).toBe(queuedBefore);
  });
});

describe('Idempotency-Key', () => {
  it('ten concurrent POSTs with one key create exactly one job and one queue entry', async () => {
    const key = `key-${Math.random()}`;
    const payload = job({ learningRate: 0.2, iterations: 7 });
    const before = await ctx.database.db.trainingJob.count();
    const queuedBefore = await queue.count();
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => post('/v1/jobs', payload, { 'idempotency-key': key })),
    );
    for (const res of responses) expect(res.statusCode, res.body).toBe(202);
    const ids = new Set(responses.map((r) => r.json().id));
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    expect(await ctx.database.db.trainingJob.count()).toBe(before + 1);
    expect(await ctx.database.db.trainingJob.count({ where: { idempotencyKey: key } })).toBe(1);
    expect(await queue.count()).toBe(queuedBefore + 1);
    expect((await queue.getJob(id!))?.id).toBe(id);
    // every response shows the one stored job, seed included
    const seeds = new Set(responses.map((r) => r.json().training.seed));
    expect(seeds.size).toBe(1);
  });

  it('a retry later returns the same job, even with the keys in another order', async () => {
    const key = `key-${Math.random()}`;
    const first = await accepted(job({ learningRate: 0.2, iterations: 7 }), { 'idempotency-key': key });
    const reordered = `{"training":{"iterations":7,"learningRate":0.2},"networkId":"${sigmoidNetId}","datasetId":"${binaryId}"}`;
    const again = await accepted(reordered, { 'idempotency-key': key });
    expect(again.id).toBe(first.id);
    expect(again).toEqual(first);
  });

  it('the same key with a different body is 422 BP_ERR_IDEMPOTENCY_MISMATCH and creates nothing', async () => {
    const key = `key-${Math.random()}`;
    const first = await accepted(job({ learningRate: 0.2, iterations: 7 }), { 'idempotency-key': key });
    const res = await rejected(job({ learningRate: 0.3, iterations: 7 }), { 'idempotency-key': key });
    const body = expectError(res, 422, 'BP_ERR_IDEMPOTENCY_MISMATCH');
    expect(body.message).toContain(key);
    expect(body.details).toEqual({ jobId: first.id });
  });

  it('a retry after the queue dropped its entry (removeOnComplete) returns the job and enqueues nothing', async () => {
    const key = `key-${Math.random()}`;
    const first = await accepted(job({ learningRate: 0.2, iterations: 7 }), { 'idempotency-key': key });
    await queue.remove(first.id);
    expect(await queue.getJob(first.id)).toBeUndefined();
    const again = await accepted(job({ learningRate: 0.2, iterations: 7 }), { 'idempotency-key': key });
    expect(again.id).toBe(first.id);
    expect(await queue.getJob(first.id)).toBeUndefined();
    expect(await ctx.database.db.trainingJob.count({ where: { idempotencyKey: key } })).toBe(1);
  });

  it('different keys make different jobs; a key too long is 400', async () => {
    const a = await accepted(job({ learningRate: 0.2, iterations: 7 }), {
      'idempotency-key': `a-${Math.random()}`,
    });
    const b = await accepted(job({ learningRate: 0.2, iterations: 7 }), {
      'idempotency-key': `b-${Math.random()}`,
    });
    expect(a.id).not.toBe(b.id);
    const long = await rejected(job({ learningRate: 0.2, iterations: 7 }), {
      'idempotency-key': 'k'.repeat(201),
    });
    expect(expectError(long, 400, 'BP_ERR_VALIDATION').message).toContain('idempotency-key');
  });
});

describe('GET /v1/jobs and /v1/jobs/:id', () => {
  it('GET /v1/jobs/:id shows the job as created', async () => {
    const created = await accepted(job({ learningRate: 0.1, iterations: 3 }));
    const res = await ctx.app.inject({ method: 'GET', url: `/v1/jobs/${created.id}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(created);
  });

  it('404 for an unknown job, 400 for a malformed id', async () => {
    const unknown = await ctx.app.inject({ method: 'GET', url: `/v1/jobs/${UNKNOWN_ID}` });
    expect(expectError(unknown, 404, 'BP_ERR_JOB_NOT_FOUND').message).toContain(UNKNOWN_ID);
    const bad = await ctx.app.inject({ method: 'GET', url: '/v1/jobs/zzz' });
    expect(expectError(bad, 400, 'BP_ERR_VALIDATION').message).toContain('params.id');
    const costs = await ctx.app.inject({ method: 'GET', url: `/v1/jobs/${UNKNOWN_ID}/costs` });
    expectError(costs, 404, 'BP_ERR_JOB_NOT_FOUND');
  });

  it('lists all jobs newest first, page by page, nextCursor null at the end', async () => {
    const expected = (
      await ctx.database.db.trainingJob.findMany({ orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] })
    ).map((j) => j.id);
    expect(expected.length).toBeGreaterThan(5);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 100; pages++) {
      const url: string = `/v1/jobs?limit=4${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await ctx.app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(200);
      const page = res.json();
      expect(page.items.length).toBeLessThanOrEqual(4);
      seen.push(...page.items.map((j: { id: string }) => j.id));
      cursor = page.nextCursor;
      if (cursor === null) break;
    }
    expect(cursor).toBeNull();
    expect(seen).toEqual(expected);
  });

  it('filters by status', async () => {
    const toCancel = await accepted(job({ learningRate: 0.1, iterations: 3 }));
    await ctx.app.inject({ method: 'POST', url: `/v1/jobs/${toCancel.id}/cancel` });
    const queued = (await ctx.app.inject({ method: 'GET', url: '/v1/jobs?status=queued&limit=100' })).json();
    expect(queued.items.length).toBe(
      await ctx.database.db.trainingJob.count({ where: { status: 'queued' } }),
    );
    expect(queued.items.length).toBeGreaterThan(0);
    expect(queued.items.every((j: { status: string }) => j.status === 'queued')).toBe(true);
    const cancelled = (
      await ctx.app.inject({ method: 'GET', url: '/v1/jobs?status=cancelled&limit=100' })
    ).json();
    expect(cancelled.items.map((j: { id: string }) => j.id)).toContain(toCancel.id);
    expect(cancelled.items.every((j: { status: string }) => j.status === 'cancelled')).toBe(true);
    const none = (await ctx.app.inject({ method: 'GET', url: '/v1/jobs?status=succeeded' })).json();
    expect(none).toEqual({ items: [], nextCursor: null });
    const bad = await ctx.app.inject({ method: 'GET', url: '/v1/jobs?status=done' });
    expect(expectError(bad, 400, 'BP_ERR_VALIDATION').message).toContain('querystring.status');
    const badCursor = await ctx.app.inject({ method: 'GET', url: '/v1/jobs?cursor=nope' });
    expectError(badCursor, 400, 'BP_ERR_VALIDATION');
  });

  it('GET /v1/jobs/:id/costs of a queued job: costEvery and no costs yet', async () => {
    const created = await accepted(job({ learningRate: 0.1, iterations: 500 }));
    const res = await ctx.app.inject({ method: 'GET', url: `/v1/jobs/${created.id}/costs` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ costEvery: 5, costs: [] });
  });
});

describe('a running job with a non-finite cost (the db keeps NaN costs)', () => {
  let id: string;
  beforeAll(async () => {
    id = (await accepted(job({ learningRate: 0.1, iterations: 4, costEvery: 1 }))).id;
    const claimed = await claimByHand(ctx.database.db, id);
    const recorded = await recordProgress(ctx.database.db, {
      jobId: id,
      attempt: claimed.attempt,
      iteration: 2,
      cost: Number.NaN,
      costs: Float64Array.of(0.69, 0.5, Number.NaN),
      leaseMs: 60_000,
    });
    expect(recorded).toBe(true);
  });

  it('GET /v1/jobs/:id shows it running with cost null instead of failing', async () => {
    const res = await ctx.app.inject({ method: 'GET', url: `/v1/jobs/${id}` });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'running',
      cost: null,
      progress: { iteration: 2, iterations: 4 },
    });
  });

  it('one such job does not break the list', async () => {
    const res = await ctx.app.inject({ method: 'GET', url: '/v1/jobs?status=running' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().items.map((j: { id: string }) => j.id)).toEqual([id]);
  });

  // JSON has no NaN: the worker never records a non-finite cost, but if one is stored it shows as null.
  it('GET /v1/jobs/:id/costs shows a non-finite cost as null', async () => {
    const res = await ctx.app.inject({ method: 'GET', url: `/v1/jobs/${id}/costs` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ costEvery: 1, costs: [0.69, 0.5, null] });
  });
});

describe("a failed job's error.code: the contract's JobErrorCode", () => {
  async function failedWith(code: string, message: string): Promise<LightMyRequestResponse> {
    const id = (await accepted(job({ learningRate: 0.1, iterations: 4 }))).id;
    const claimed = await claimByHand(ctx.database.db, id);
    expect(await failJob(ctx.database.db, { jobId: id, attempt: claimed.attempt, code, message })).toBe(true);
    return ctx.app.inject({ method: 'GET', url: `/v1/jobs/${id}` });
  }

  it('the OpenAPI document lists the codes, so clients can switch on them', async () => {
    const doc = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const job = doc.components.schemas.Job;
    const error = job.properties.error.anyOf.find((s: { type?: string }) => s.type === 'object');
    expect(error.properties.code.enum).toEqual(JobErrorCode.options);
    expect(JobErrorCode.options).toEqual(
      expect.arrayContaining(['BP_ERR_DIVERGED', 'BP_ERR_WORKER_LOST', 'BP_ERR_OUT_OF_MEMORY']),
    );
  });

  it('a code the worker writes is shown as is', async () => {
    const res = await failedWith('BP_ERR_DIVERGED', 'the cost became NaN');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'failed',
      error: { code: 'BP_ERR_DIVERGED', message: 'the cost became NaN' },
    });
  });

  it('a code this version does not know (a newer worker wrote it) shows as BP_ERR_TRAINING_FAILED, naming it', async () => {
    const res = await failedWith('BP_ERR_FROM_THE_FUTURE', 'something new went wrong');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().error).toEqual({
      code: 'BP_ERR_TRAINING_FAILED',
      message: 'BP_ERR_FROM_THE_FUTURE: something new went wrong',
    });
    const list = await ctx.app.inject({ method: 'GET', url: '/v1/jobs?status=failed&limit=100' });
    expect(list.statusCode, list.body).toBe(200);
  });
});

describe('POST /v1/jobs/:id/cancel', () => {
  it('cancels a queued job: 200 cancelled, removed from the queue, cancellation published; then 409', async () => {
    const created = await accepted(job({ learningRate: 0.1, iterations: 3 }));
    expect(await queue.getJob(created.id)).toBeDefined();

    const subscriber = new Redis(ctx.env.REDIS_URL);
    const heard: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => heard.push(message));
    await subscriber.subscribe(CANCEL_CHANNEL);
    try {
      const res = await ctx.app.inject({ method: 'POST', url: `/v1/jobs/${created.id}/cancel` });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json();
      expect(body).toMatchObject({ id: created.id, status: 'cancelled', modelId: null });
      expect(body.finishedAt).toEqual(expect.any(String));
      expect(await queue.getJob(created.id)).toBeUndefined();
      const row = await ctx.database.db.trainingJob.findUniqueOrThrow({ where: { id: created.id } });
      expect(row.status).toBe('cancelled');
      for (let i = 0; i < 50 && !heard.includes(created.id); i++) await new Promise((r) => setTimeout(r, 20));
      expect(heard).toContain(created.id);
    } finally {
      subscriber.disconnect();
    }

    const again = await ctx.app.inject({ method: 'POST', url: `/v1/jobs/${created.id}/cancel` });
    const body = expectError(again, 409, 'BP_ERR_JOB_FINISHED');
    expect(body.message).toContain('cancelled');
    expect(body.details).toEqual({ status: 'cancelled' });
    const get = await ctx.app.inject({ method: 'GET', url: `/v1/jobs/${created.id}` });
    expect(get.json().status).toBe('cancelled');
  });

  it('three concurrent cancels: exactly one 200, the others 409', async () => {
    const created = await accepted(job({ learningRate: 0.1, iterations: 3 }));
    const responses = await Promise.all(
      [1, 2, 3].map(() => ctx.app.inject({ method: 'POST', url: `/v1/jobs/${created.id}/cancel` })),
    );
    expect(responses.map((r) => r.statusCode).sort()).toEqual([200, 409, 409]);
    expect(await queue.getJob(created.id)).toBeUndefined();
  });

  it('404 for an unknown job, 400 for a malformed id', async () => {
    const res = await ctx.app.inject({ method: 'POST', url: `/v1/jobs/${UNKNOWN_ID}/cancel` });
    expect(expectError(res, 404, 'BP_ERR_JOB_NOT_FOUND').message).toContain(UNKNOWN_ID);
    const bad = await ctx.app.inject({ method: 'POST', url: '/v1/jobs/1/cancel' });
    expectError(bad, 400, 'BP_ERR_VALIDATION');
  });
});
