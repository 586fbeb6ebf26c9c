// Small builders for the db tests: a database of the test file's own, and a dataset, a network
// and a job with valid shapes.
import { Network as NnNetwork, serializeBinary } from '@backprop/nn';
import { afterAll, beforeAll } from 'vitest';
import {
  type CreateDatasetInput,
  type CreateJobInput,
  createDataset,
  createJob,
  type DatasetSummary,
  type Db,
  DEFAULT_TENANT_ID,
} from '../src/index.ts';
import { createTestDatabase } from '../src/testing.ts';

/**
 * A database of this test file's own: created (migrated) before its tests, dropped after them.
 * `db` may be used from the first beforeAll hook registered after this call on.
 */
export function useTestDatabase(options: { poolMax?: number } = {}): { readonly db: Db } {
  let db: Db | undefined;
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    ({ db, drop } = await createTestDatabase(options));
  });
  afterAll(async () => drop?.());
  return {
    get db() {
      if (db === undefined) throw new Error('the test database is created in beforeAll');
      return db;
    },
  };
}

export async function makeDataset(
  db: Db,
  tenantId = DEFAULT_TENANT_ID,
  name = 'points',
): Promise<DatasetSummary> {
  return createDataset(db, {
    tenantId,
    name,
    task: 'binary',
    samples: 3,
    features: 2,
    featureNames: ['a', 'b'],
    labelName: 'label',
    classes: ['no', 'yes'],
    x: new Float64Array([1, 2, 3, 4, 5, 6]),
    y: new Float64Array([0, 1, 0]),
    featureStats: [
      { mean: 3, std: 1.63, min: 1, max: 5 },
      { mean: 4, std: 1.63, min: 2, max: 6 },
    ],
  });
}

/**
 * The input of a dataset of 2 samples × 1 feature, TINY_DATASET_BYTES stored: x as two bytes (its
 * values are small integers), y as two float64 values.
 */
export function tinyDataset(tenantId: string, name = 'tiny'): CreateDatasetInput {
  return {
    tenantId,
    name,
    task: 'binary',
    samples: 2,
    features: 1,
    featureNames: ['a'],
    labelName: 'label',
    classes: [0, 1],
    x: new Float64Array([1, 2]),
    y: new Float64Array([0, 1]),
    featureStats: [{ mean: 1.5, std: 0.5, min: 1, max: 2 }],
  };
}
export const TINY_DATASET_BYTES = 2 * 1 + 2 * 8;

// In testing.ts because the worker's tests train it too.
export { makeNetwork } from '../src/testing.ts';

export async function makeJob(
  db: Db,
  refs: { tenantId?: string; datasetId: string; networkId: string },
  extra: Partial<CreateJobInput> = {},
) {
  const result = await createJob(db, {
    tenantId: refs.tenantId ?? DEFAULT_TENANT_ID,
    datasetId: refs.datasetId,
    networkId: refs.networkId,
    training: { learningRate: 0.1, iterations: 100 },
    iterations: 100,
    ...extra,
  });
  return result.job;
}

/** The weights of makeNetwork's 2-4-1 network, 17 parameters i / 7, as nn's model bytes. */
export const modelNetwork = NnNetwork.fromParameters({
  inputSize: 2,
  layers: [
    { units: 4, activation: 'tanh' },
    { units: 1, activation: 'sigmoid' },
  ],
  parameters: {
    W1: [
      [0, 1 / 7],
      [2 / 7, 3 / 7],
      [4 / 7, 5 / 7],
      [6 / 7, 1],
    ],
    b1: [[8 / 7], [9 / 7], [10 / 7], [11 / 7]],
    W2: [[12 / 7, 13 / 7, 14 / 7, 15 / 7]],
    b2: [[16 / 7]],
  },
});

export const modelOutput = {
  inputSize: 2,
  layers: [
    { units: 4, activation: 'tanh' },
    { units: 1, activation: 'sigmoid' },
  ],
  task: 'binary' as const,
  classes: ['no', 'yes'],
  parameters: serializeBinary(modelNetwork),
  normalization: { mean: [3, 4], std: [1.63, 1.63] },
  metrics: { trainAccuracy: 1 },
};
