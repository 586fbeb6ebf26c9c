/**
 * IDX uploads (the MNIST family's format): two files of one multipart request, gzipped or not,
 * stored as a dataset of byte-sized pixels; every malformed file a 4xx naming it, nothing stored.
 */
import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { getDatasetWithValues } from '@backprop/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext } from '../../../harness/api-context.ts';
import { expectError, fingerprint } from './support.ts';

const FASHION = '/usr/share/datasets/fashion-mnist';

/** An IDX file of unsigned bytes with the given dimensions. */
function idx(dimensions: number[], values: ArrayLike<number>, type = 0x08): Buffer {
  const header = Buffer.alloc(4 + 4 * dimensions.length);
  header.set([0, 0, type, dimensions.length]);
  for (const [i, d] of dimensions.entries()) header.writeUInt32BE(d, 4 + 4 * i);
  return Buffer.concat([header, Buffer.from(Uint8Array.from(values))]);
}

/** A multipart/form-data body with one file part per entry, as a browser or curl -F sends it. */
async function multipart(files: Record<string, Buffer>): Promise<{ body: Buffer; type: string }> {
  const form = new FormData();
  for (const [name, bytes] of Object.entries(files)) form.append(name, new Blob([bytes]), `${name}.idx`);
  const encoded = new Response(form);
  return { body: Buffer.from(await encoded.arrayBuffer()), type: encoded.headers.get('content-type')! };
}

let ctx: ApiContext;
beforeAll(async () => {
  ctx = await createApiContext({ RATE_LIMIT_MAX: '100000' });
});
afterAll(async () => ctx?.close());

async function send(files: Record<string, Buffer>, headers: Record<string, string> = {}, c = ctx) {
  const { body, type } = await multipart(files);
  return c.app.inject({
    method: 'POST',
    // five samples are too few for the task to be inferred as classes 0-2
    url: '/v1/datasets?name=idx&task=multiclass',
    headers: { 'content-type': type, ...headers },
    payload: body,
  });
}

// 5 images of 2 × 3 pixels, labels 0–2
const pixels = Array.from({ length: 30 }, (_, i) => (i * 37) % 256);
const images = idx([5, 2, 3], pixels);
const labels = idx([5], [0, 1, 2, 1, 0]);

describe('IDX uploads', () => {
  it.each([
    ['plain', images, labels],
    ['gzipped', gzipSync(images), gzipSync(labels)],
  ])('stores %s files as byte-sized pixels, exactly', async (_, imageFile, labelFile) => {
    const res = await send({ images: imageFile, labels: labelFile });
    expect(res.statusCode, res.body).toBe(201);
    const dataset = res.json();
    expect(dataset).toMatchObject({
      name: 'idx',
      samples: 5,
      features: 6,
      task: 'multiclass',
      classes: [0, 1, 2],
      labelName: 'label',
      byteSize: 30 * 1 + 5 * 8,
    });
    expect(dataset.featureStats.map((s: { name: string }) => s.name)).toEqual([
      'pixel1',
      'pixel2',
      'pixel3',
      'pixel4',
      'pixel5',
      'pixel6',
    ]);
    const stored = await getDatasetWithValues(ctx.database.db, ctx.tenantId, dataset.id);
    expect(Array.from(stored!.x)).toEqual(pixels);
    expect(Array.from(stored!.y)).toEqual([0, 1, 2, 1, 0]);
  });

  it('the labels file may come first', async () => {
    const res = await send({ labels, images });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ samples: 5, features: 6 });
  });

  it.each([
    ['no labels file', { images }, 400, 'BP_ERR_VALIDATION', 'labels'],
    ['no images file', { labels }, 400, 'BP_ERR_VALIDATION', 'images'],
    ['another part', { images, labels, extra: labels }, 400, 'BP_ERR_VALIDATION', ''],
    [
      'fewer labels than images',
      { images, labels: idx([4], [0, 1, 2, 1]) },
      422,
      'BP_ERR_BAD_DATA',
      'labels',
    ],
    ['a wrong magic number', { images: idx([5, 6], pixels), labels }, 400, 'BP_ERR_VALIDATION', 'images'],
    ['float values', { images: idx([5, 2, 3], pixels, 0x0d), labels }, 400, 'BP_ERR_VALIDATION', 'images'],
    [
      'a truncated images file',
      { images: images.subarray(0, 30), labels },
      400,
      'BP_ERR_VALIDATION',
      'images',
    ],
    [
      'trailing bytes',
      { images: Buffer.concat([images, Buffer.from([1])]), labels },
      400,
      'BP_ERR_VALIDATION',
      'images',
    ],
    ['a header cut short', { images: images.subarray(0, 10), labels }, 400, 'BP_ERR_VALIDATION', 'images'],
    ['bad gzip', { images: Buffer.from([0x1f, 0x8b, 1, 2, 3]), labels }, 400, 'BP_ERR_VALIDATION', 'images'],
  ])('%s: refused naming the file, nothing stored', async (_, files, status, code, field) => {
    const before = await fingerprint(ctx.database.db, ctx.app);
    const res = await send(files);
    const body = expectError(res, status, code);
    if (field !== '') expect(body.message.startsWith(`${field}:`), body.message).toBe(true);
    expect(await fingerprint(ctx.database.db, ctx.app)).toEqual(before);
  });

  it('a Content-Encoding on the multipart body is a 415 that says to gzip the files instead', async () => {
    const res = await send({ images, labels }, { 'content-encoding': 'gzip' });
    expect(expectError(res, 415, 'BP_ERR_UNSUPPORTED_MEDIA_TYPE').message).toContain('gzipped');
  });

  it('limits apply from the header and to the decompressed bytes', async () => {
    const small = await createApiContext({ LIMIT_DATASET_VALUES: '29', LIMIT_UPLOAD_BYTES: '10000' });
    try {
      const values = await send({ images, labels }, {}, small);
      expect(expectError(values, 422, 'BP_ERR_LIMIT_EXCEEDED').details).toMatchObject({
        limit: 'LIMIT_DATASET_VALUES',
        actual: 30,
      });
      // 20 KB of zeros gzip to a few dozen bytes: refused as they decompress
      const bomb = gzipSync(idx([1000, 4, 5], new Uint8Array(20_000)));
      expect(bomb.length).toBeLessThan(10_000);
      const big = await send({ images: bomb, labels: idx([1000], new Uint8Array(1000)) }, {}, small);
      expect(expectError(big, 413, 'BP_ERR_PAYLOAD_TOO_LARGE').details).toMatchObject({
        limit: 'LIMIT_UPLOAD_BYTES',
      });
      expect(await small.database.db.dataset.count()).toBe(0);
    } finally {
      await small.close();
    }
  });

  it("Fashion-MNIST's test set, as Debian ships it: 10,000 images of 784 pixels in 7.9 MB", async () => {
    expect(existsSync(FASHION), `${FASHION} (apt-get install dataset-fashion-mnist)`).toBe(true);
    const res = await send({
      images: readFileSync(`${FASHION}/t10k-images-idx3-ubyte.gz`),
      labels: readFileSync(`${FASHION}/t10k-labels-idx1-ubyte.gz`),
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      samples: 10_000,
      features: 784,
      task: 'multiclass',
      classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      byteSize: 10_000 * 784 + 10_000 * 8,
    });
  });
});

describe('malformed multipart bodies', () => {
  it.each([
    ['no boundary', 'multipart/form-data', 'images=x'],
    ['a boundary that never comes', 'multipart/form-data; boundary=abc', 'no parts here'],
    [
      'a part cut short',
      'multipart/form-data; boundary=abc',
      '--abc\r\nContent-Disposition: form-data; name="images"; filename="i"\r\n\r\n\x00\x00',
    ],
  ])('%s: a 400, nothing stored', async (_, type, payload) => {
    const before = await fingerprint(ctx.database.db, ctx.app);
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/v1/datasets',
      headers: { 'content-type': type },
      payload,
    });
    expectError(res, 400, 'BP_ERR_VALIDATION');
    expect(await fingerprint(ctx.database.db, ctx.app)).toEqual(before);
  });
});
