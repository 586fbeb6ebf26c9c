import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  abandonDatasetUpload,
  appendDatasetChunk,
  beginDatasetUpload,
  completeDatasetUpload,
  createDataset,
  DEFAULT_TENANT_ID,
  deleteAbandonedUploads,
  deleteDataset,
  encodeChunk,
  encodeChunks,
  getDataset,
  getDatasetWithValues,
  getStoredBytes,
  listDatasets,
  readDatasetChunks,
  samplesPerChunk,
} from '../src/index.ts';
import { decodeValues, encodeValues, narrowestEncoding } from '../src/value-encoding.ts';
import { makeJob, makeNetwork, useTestDatabase } from './helpers.ts';

const t = useTestDatabase();

const bits = (values: ArrayLike<number>) =>
  Array.from(new Uint8Array(Float64Array.from(values).buffer), (b) => b.toString(16).padStart(2, '0')).join(
    '',
  );

function roundTrip(values: number[]): Float64Array {
  const encoding = narrowestEncoding(values);
  const decoded = new Float64Array(values.length);
  decodeValues(encodeValues(values, encoding), encoding, decoded);
  return decoded;
}

describe('narrowest lossless encoding', () => {
  it.each([
    [[0, 255, 17], 'uint8'],
    [[-128, 127], 'int8'],
    [[0, 256], 'uint16'],
    [[-1, 255], 'int16'],
    [[-32769, 1], 'int32'],
    [[2 ** 31], 'float32'],
    [[0.5, -2.25], 'float32'],
    [[-0, 1], 'float32'],
    [[0.1], 'float64'],
    [[2 ** 40 + 1], 'float64'],
    [[1e-320], 'float64'],
    [[Number.NaN, 1], 'float64'],
  ])('%j → %s', (values, expected) => {
    expect(narrowestEncoding(values)).toBe(expected);
    expect(bits(roundTrip(values))).toBe(bits(values));
  });

  it('gives back every double bit for bit', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.double(), fc.integer({ min: -70000, max: 70000 }), fc.float())),
        (values) => {
          expect(bits(roundTrip(values))).toBe(bits(values));
        },
      ),
    );
  });
});

describe('chunked datasets', () => {
  it('cuts a matrix into whole samples, each chunk in its own narrowest type', () => {
    const features = 4;
    const x = Float64Array.from({ length: 7 * features }, (_, i) => (i < 12 ? i : i + 0.5));
    const chunks = encodeChunks(x, 7, features, 12);
    expect(samplesPerChunk(features, 12)).toBe(3);
    expect(chunks.map((c) => [c.index, c.firstSample, c.samples, c.encoding])).toEqual([
      [0, 0, 3, 'uint8'],
      [1, 3, 3, 'float32'],
      [2, 6, 1, 'float32'],
    ]);
    expect(samplesPerChunk(1_000_000)).toBe(1);
  });

  it('stores pixels as one byte each and reads every chunk back exactly, in order', async () => {
    const features = 3;
    const x = Float64Array.from({ length: 7 * features }, (_, i) => (i * 31) % 256);
    const y = Float64Array.from({ length: 7 }, (_, i) => i % 2);
    const upload = await beginDatasetUpload(t.db, {
      tenantId: DEFAULT_TENANT_ID,
      name: 'pixels',
      labelName: 'l',
    });
    for (const chunk of encodeChunks(x, 7, features, 9)) await appendDatasetChunk(t.db, upload.id, chunk);
    const done = await completeDatasetUpload(
      t.db,
      { id: upload.id, tenantId: DEFAULT_TENANT_ID },
      {
        task: 'binary',
        samples: 7,
        features,
        featureNames: ['a', 'b', 'c'],
        labelName: 'l',
        classes: [0, 1],
        y,
        featureStats: Array.from({ length: features }, () => ({ mean: 0, std: 1, min: 0, max: 255 })),
      },
      1e12,
    );
    expect(done).toMatchObject({ outcome: 'created', dataset: { byteSize: 7 * features + 7 * 8 } });
    const read = [];
    for await (const chunk of readDatasetChunks(t.db, upload.id))
      read.push([chunk.firstSample, chunk.samples]);
    expect(read).toEqual([
      [0, 3],
      [3, 3],
      [6, 1],
    ]);
    const stored = await getDatasetWithValues(t.db, DEFAULT_TENANT_ID, upload.id);
    expect(bits(stored!.x)).toBe(bits(x));
    expect(Array.from(stored!.y)).toEqual(Array.from(y));
  });
});

describe('uploads', () => {
  const description = {
    task: 'regression' as const,
    samples: 4,
    features: 2,
    featureNames: ['a', 'b'],
    labelName: 'y',
    classes: null,
    y: new Float64Array([1, 2, 3, 4]),
    featureStats: [
      { mean: 0, std: 1, min: 0, max: 1 },
      { mean: 0, std: 1, min: 0, max: 1 },
    ],
  };

  it('is invisible until complete, counts its bytes as it grows, and reads back in order', async () => {
    const tenantId = DEFAULT_TENANT_ID;
    const before = (await getStoredBytes(t.db, tenantId)).datasets;
    const upload = await beginDatasetUpload(t.db, { tenantId, name: 'streamed', labelName: 'y' });
    expect(await getDataset(t.db, tenantId, upload.id)).toBeNull();
    await appendDatasetChunk(t.db, upload.id, encodeChunk(0, 0, new Float64Array([1, 2, 3, 4]), 2));
    await appendDatasetChunk(t.db, upload.id, encodeChunk(1, 2, new Float64Array([0.5, 6, 7, 8]), 2));
    expect((await getStoredBytes(t.db, tenantId)).datasets).toBe(before + 4 + 4 * 4);
    expect((await listDatasets(t.db, tenantId, { limit: 100 })).items.map((d) => d.id)).not.toContain(
      upload.id,
    );

    const done = await completeDatasetUpload(t.db, { id: upload.id, tenantId }, description, 1e12);
    expect(done).toMatchObject({
      outcome: 'created',
      dataset: { id: upload.id, status: 'ready', byteSize: 4 + 16 + 32 },
    });
    const stored = await getDatasetWithValues(t.db, tenantId, upload.id);
    expect(Array.from(stored!.x)).toEqual([1, 2, 3, 4, 0.5, 6, 7, 8]);
  });

  it('is refused over the quota, and an abandoned upload leaves nothing', async () => {
    const tenantId = DEFAULT_TENANT_ID;
    const before = await getStoredBytes(t.db, tenantId);
    const upload = await beginDatasetUpload(t.db, { tenantId, name: 'too big', labelName: 'y' });
    await appendDatasetChunk(
      t.db,
      upload.id,
      encodeChunk(0, 0, new Float64Array([1, 2, 3, 4, 5, 6, 7, 8]), 2),
    );
    const refused = await completeDatasetUpload(t.db, { id: upload.id, tenantId }, description, 1);
    expect(refused).toMatchObject({ outcome: 'storage_quota', requested: 8 + 32 });
    await abandonDatasetUpload(t.db, upload.id);
    expect(await getStoredBytes(t.db, tenantId)).toEqual(before);
    expect(await t.db.datasetChunk.count({ where: { datasetId: upload.id } })).toBe(0);
  });

  it('sweeps uploads that never completed, and only those', async () => {
    const tenantId = DEFAULT_TENANT_ID;
    const stale = await beginDatasetUpload(t.db, { tenantId, name: 'died', labelName: 'y' });
    await appendDatasetChunk(t.db, stale.id, encodeChunk(0, 0, new Float64Array([1, 2]), 2));
    const swept = await deleteAbandonedUploads(t.db, new Date(Date.now() + 60_000));
    expect(swept).toBeGreaterThanOrEqual(1);
    expect(await t.db.dataset.count({ where: { id: stale.id } })).toBe(0);
    expect(await t.db.dataset.count({ where: { status: 'ready' } })).toBeGreaterThan(0);
  });

  it('a soft delete frees the chunks', async () => {
    const tenantId = DEFAULT_TENANT_ID;
    const dataset = await createDataset(t.db, {
      tenantId,
      name: 'used',
      ...description,
      x: new Float64Array([1, 2, 3, 4, 5, 6, 7, 8]),
    });
    const network = await makeNetwork(t.db);
    const job = await makeJob(t.db, { datasetId: dataset.id, networkId: network.id });
    await t.db.trainingJob.update({ where: { id: job.id }, data: { status: 'failed' } });
    expect(await deleteDataset(t.db, tenantId, dataset.id)).toMatchObject({ deleted: true, kept: true });
    expect(await t.db.datasetChunk.count({ where: { datasetId: dataset.id } })).toBe(0);
    expect((await getDataset(t.db, tenantId, dataset.id))?.byteSize).toBe(0);
  });
});
