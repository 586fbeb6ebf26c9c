import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bytesToFloat64,
  createDataset,
  DEFAULT_TENANT_ID,
  float64ToBytes,
  getDatasetWithValues,
} from '../src/index.ts';
import { createTestDatabase, type TestDatabase } from '../src/testing.ts';

// Values a lossy path would change: a NaN with a payload, -0, subnormals, the extremes.
function awkwardValues(): Float64Array {
  const values = new Float64Array([
    Number.NaN,
    Number.NaN,
    -0,
    0,
    Number.MIN_VALUE, // smallest subnormal
    2.2250738585072e-308, // a subnormal
    1e308,
    -1e308,
    Number.MAX_VALUE,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    0.1 + 0.2,
    0.12345678901234568,
    Math.PI,
  ]);
  // the second NaN gets a payload (and the sign bit): quiet NaN 0xfff8_0000_dead_beef
  new DataView(values.buffer).setBigUint64(8, 0xfff80000deadbeefn, true);
  return values;
}

/** The bit patterns of a Float64Array, as hex strings (NaN payloads and -0 compare exactly). */
function bits(values: Float64Array): string[] {
  const view = new DataView(values.buffer, values.byteOffset, values.byteLength);
  return Array.from({ length: values.length }, (_, i) => view.getBigUint64(i * 8, true).toString(16));
}

describe('float64ToBytes / bytesToFloat64', () => {
  it('round-trip bit-exactly in memory', () => {
    const values = awkwardValues();
    expect(bits(bytesToFloat64(float64ToBytes(values)))).toEqual(bits(values));
  });

  it('write little-endian IEEE 754', () => {
    expect(Array.from(float64ToBytes(new Float64Array([1])))).toEqual([0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
  });

  it('handle views at an offset and always copy', () => {
    const backing = new Float64Array([9, 1, 2, 3, 9]);
    const view = backing.subarray(1, 4);
    const bytes = float64ToBytes(view);
    expect(Array.from(bytesToFloat64(bytes))).toEqual([1, 2, 3]);
    backing[1] = 42;
    expect(Array.from(bytesToFloat64(bytes))).toEqual([1, 2, 3]);

    // a Buffer slice at an odd offset of a pooled ArrayBuffer, as pg returns bytea
    const shifted = new Uint8Array(1 + 24);
    shifted.set(float64ToBytes(new Float64Array([4, 5, 6])), 1);
    const decoded = bytesToFloat64(shifted.subarray(1));
    expect(Array.from(decoded)).toEqual([4, 5, 6]);
    shifted[1] = 0xff;
    expect(decoded[0]).toBe(4);
  });

  it('refuse a length that is not a multiple of 8', () => {
    expect(() => bytesToFloat64(new Uint8Array(12))).toThrow(RangeError);
    expect(bytesToFloat64(new Uint8Array(0)).length).toBe(0);
  });
});

describe('Bytes columns', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t.drop());

  it('store and return float arrays bit-exactly through Postgres', async () => {
    const x = awkwardValues();
    const y = new Float64Array([0, -0, Number.NaN, 1e-320, 1e308, -1, 7]);
    const created = await createDataset(t.db, {
      tenantId: DEFAULT_TENANT_ID,
      name: 'awkward',
      task: 'regression',
      samples: 7,
      features: 2,
      featureNames: ['a', 'b'],
      labelName: 'y',
      classes: null,
      x,
      y,
      featureStats: [
        { mean: 0, std: 1, min: -1, max: 1 },
        { mean: 0, std: 1, min: -1, max: 1 },
      ],
    });
    expect(created.byteSize).toBe((14 + 7) * 8);
    expect(created).not.toHaveProperty('x');

    const stored = await getDatasetWithValues(t.db, DEFAULT_TENANT_ID, created.id);
    expect(stored).not.toBeNull();
    expect(bits(stored!.x)).toEqual(bits(x));
    expect(bits(stored!.y)).toEqual(bits(y));
    expect(stored!.classes).toBeNull();
  });

  it('store a 250k-value array (about 2 MB) bit-exactly', async () => {
    const samples = 50_000;
    const x = new Float64Array(samples * 5).map((_, i) => Math.sin(i) * 1e-3 * i);
    const created = await createDataset(t.db, {
      tenantId: DEFAULT_TENANT_ID,
      name: 'big',
      task: 'regression',
      samples,
      features: 5,
      featureNames: ['a', 'b', 'c', 'd', 'e'],
      labelName: 'y',
      classes: null,
      x,
      y: new Float64Array(samples).fill(0.1),
      featureStats: Array.from({ length: 5 }, () => ({ mean: 0, std: 1, min: -1, max: 1 })),
    });
    const stored = await getDatasetWithValues(t.db, DEFAULT_TENANT_ID, created.id);
    expect(bits(stored!.x)).toEqual(bits(x));
  });
});
