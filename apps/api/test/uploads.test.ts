/**
 * Issue 7, dataset uploads and big bodies: long CSV lines are refused as soon as they pass
 * LIMIT_CSV_LINE_BYTES and parsing is linear in the bytes; feature cells are decimal numbers;
 * CR-only line ends are read; gzip uploads are decompressed within LIMIT_UPLOAD_BYTES (a bomb is
 * a 413) and other encodings are a 415; a predictions body is bounded by LIMIT_BODY_BYTES before
 * it is read; big JSON datasets (parsed in a worker thread) answer exactly as small ones.
 * The event-loop figures are in upload-stalls.long.test.ts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { createGzip, gzipSync } from 'node:zlib';
import { getDatasetWithValues } from '@backprop/db';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext, planarCsv } from '../../../harness/api-context.ts';
import { expectError, UNKNOWN_ID } from './support.ts';

const MiB = 1024 * 1024;

let ctx: ApiContext;
/** Small byte limits, to reach them with small bodies. */
let small: ApiContext;
let port: number;
beforeAll(async () => {
  [ctx, small] = await Promise.all([
    createApiContext({ RATE_LIMIT_MAX: '100000' }),
    createApiContext({
      RATE_LIMIT_MAX: '100000',
      LIMIT_BODY_BYTES: String(64 * 1024),
      LIMIT_UPLOAD_BYTES: String(4 * MiB),
    }),
  ]);
  await ctx.app.listen({ host: '127.0.0.1', port: 0 });
  port = (ctx.app.server.address() as AddressInfo).port;
});
afterAll(async () => {
  await Promise.all([ctx?.close(), small?.close()]);
});

function upload(
  payload: string | Buffer | Readable,
  headers: Record<string, string>,
  c: ApiContext = ctx,
  query = '',
): Promise<LightMyRequestResponse> {
  return c.app.inject({ method: 'POST', url: `/v1/datasets${query}`, headers, payload });
}
const csv = (payload: string | Buffer | Readable, c: ApiContext = ctx) =>
  upload(payload, { 'content-type': 'text/csv' }, c);

async function storedValues(c: ApiContext, id: string) {
  const row = await getDatasetWithValues(c.database.db, c.tenantId, id);
  if (row === null) throw new Error(`dataset ${id} is not stored`);
  return { x: Array.from(row.x), y: Array.from(row.y) };
}

/** Refused, naming `limit`, and nothing stored. */
async function expectLimitRefusal(
  c: ApiContext,
  send: () => Promise<LightMyRequestResponse>,
  status: number,
  limit: string,
) {
  const before = await c.database.db.dataset.count();
  const res = await send();
  const body = expectError(
    res,
    status,
    status === 413 ? 'BP_ERR_PAYLOAD_TOO_LARGE' : 'BP_ERR_LIMIT_EXCEEDED',
    limit,
  );
  expect(body.details).toMatchObject({ limit });
  expect(body.message).toContain(limit);
  expect(res.body.length).toBeLessThan(2000); // the long line is not echoed back
  expect(await c.database.db.dataset.count()).toBe(before);
  return body;
}

describe('a long CSV line', () => {
  it('a header of commas longer than LIMIT_CSV_LINE_BYTES is a 413 naming the limit', async () => {
    const body = await expectLimitRefusal(
      ctx,
      () => csv(`label${','.repeat(2 * MiB)}\n0,1\n`),
      413,
      'LIMIT_CSV_LINE_BYTES',
    );
    expect(body.details).toMatchObject({ max: ctx.env.LIMIT_CSV_LINE_BYTES });
    expect(body.message).toContain('line 1');
  });

  it('one 2 MiB cell without a newline is a 413 naming the limit', async () => {
    await expectLimitRefusal(ctx, () => csv('x'.repeat(2 * MiB)), 413, 'LIMIT_CSV_LINE_BYTES');
  });

  it('a long data line after valid ones is refused, naming its line', async () => {
    const body = await expectLimitRefusal(
      ctx,
      () => csv(`label,a\n0,1\n1,${'9'.repeat(2 * MiB)}\n`),
      413,
      'LIMIT_CSV_LINE_BYTES',
    );
    expect(body.message).toContain('line 3');
  });

  it('a line of quoted newlines counts as one line', async () => {
    await expectLimitRefusal(
      ctx,
      () => csv(`label,a\n0,"${'\n'.repeat(2 * MiB)}"\n`),
      413,
      'LIMIT_CSV_LINE_BYTES',
    );
  });

  it('over HTTP, a 60 MB line is refused long before all of it is sent', async () => {
    const total = 60 * MiB;
    const result = await new Promise<{ status: number; written: number; text: string }>((resolve) => {
      const req = http.request({
        host: '127.0.0.1',
        port,
        path: '/v1/datasets',
        method: 'POST',
        headers: { authorization: `Bearer ${ctx.apiKey}`, 'content-type': 'text/csv' },
      });
      let written = 0;
      let finished = false;
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => {
          finished = true;
          req.destroy();
          resolve({ status: res.statusCode ?? 0, written, text });
        });
      });
      req.on('error', () => {
        if (!finished) resolve({ status: 0, written, text: '' });
      });
      const chunk = Buffer.alloc(64 * 1024, ',');
      const pump = () => {
        while (!finished && written < total) {
          written += chunk.length;
          if (!req.write(chunk)) {
            req.once('drain', pump);
            return;
          }
        }
        if (!finished) req.end();
      };
      req.write('label');
      pump();
    });
    expect(result.status, result.text).toBe(413);
    expect(result.text).toContain('LIMIT_CSV_LINE_BYTES');
    expect(result.written).toBeLessThan(total / 2);
  });

  it('parsing is linear: one 20 MB line costs about what 20 MB of short lines cost', async () => {
    const roomy = await createApiContext({ LIMIT_CSV_LINE_BYTES: String(32 * MiB) });
    try {
      /** The header, then 20 MB of blanks (skipped lines) in lines of `lineBytes`. */
      const time = async (lineBytes: number) => {
        const line = `${' '.repeat(lineBytes - 1)}\n`;
        const payload = Buffer.from(`label,a\n${line.repeat((20 * MiB) / lineBytes)}`);
        // In 16 KiB chunks, as a socket may deliver it (gunzip does).
        const chunks = Readable.from(
          (function* () {
            for (let at = 0; at < payload.length; at += 16 * 1024) yield payload.subarray(at, at + 16 * 1024);
          })(),
        );
        const started = performance.now();
        const res = await csv(chunks, roomy);
        expect(expectError(res, 400, 'BP_ERR_VALIDATION').message).toBe(
          'the CSV has a header but no data rows',
        );
        return Math.round(performance.now() - started);
      };
      const short = await time(1024);
      const long = await time(20 * MiB);
      // Re-scanning the unfinished line at every chunk took 12-15 s for 20 MB; linear parsing
      // takes about as long for one line as for many.
      expect(long, `one line ${long} ms, short lines ${short} ms`).toBeLessThan(3 * short + 2000);
    } finally {
      await roomy.close();
    }
  });
});

describe('CSV cells and line ends', () => {
  it('cells are decimal numbers: 0x10, 0b11, 0o7, 1_000 and others are refused, naming line and column', async () => {
    for (const cell of ['0x10', '0b11', '0o7', '1_000', '0X1F', '1e', '--1', '1.2.3', '١']) {
      const before = await ctx.database.db.dataset.count();
      const res = await csv(`label,a\n1,2\n0,${cell}\n`);
      const body = expectError(res, 400, 'BP_ERR_VALIDATION', cell);
      expect(body.message).toBe(`line 3, column "a": "${cell}" is not a finite number`);
      expect(body.details).toEqual({ line: 3, column: 'a' });
      expect(await ctx.database.db.dataset.count()).toBe(before);
    }
  });

  it('decimal forms are read: sign, leading or trailing point, exponent', async () => {
    const res = await csv('label,a\n0,-1.5\n1,+2\n0,.5\n1,5.\n0,1e3\n1,2E-2\n0, 7 \n');
    expect(res.statusCode, res.body).toBe(201);
    expect((await storedValues(ctx, res.json().id)).x).toEqual([-1.5, 2, 0.5, 5, 1000, 0.02, 7]);
  });

  it('reads CR-only line ends (classic Mac)', async () => {
    const res = await csv('label,a,b\r0,1,2\r1,3,4\r\r0,5,6\r');
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ samples: 3, features: 2 });
    const { x, y } = await storedValues(ctx, res.json().id);
    expect(x).toEqual([1, 2, 3, 4, 5, 6]);
    expect(y).toEqual([0, 1, 0]);
  });
});

/** 1 GB (by default) of `unit` repeated after `head`, gzipped as it is produced: about 1 MB. */
async function gzipBomb(head: string, unit: string, bytes = 1024 * MiB): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gzip.on('data', (d: Buffer) => out.push(d));
  const ended = new Promise((resolve) => gzip.on('end', resolve));
  gzip.write(head);
  const block = Buffer.from(unit.repeat(Math.floor(MiB / unit.length)));
  for (let written = 0; written < bytes; written += block.length) {
    if (!gzip.write(block)) await new Promise((r) => gzip.once('drain', r));
  }
  gzip.end();
  await ended;
  return Buffer.concat(out);
}

describe('Content-Encoding', () => {
  it('a gzip CSV is read like the plain one', async () => {
    const text = await planarCsv();
    const plain = await csv(text);
    const zipped = await upload(gzipSync(text), { 'content-type': 'text/csv', 'content-encoding': 'gzip' });
    expect(zipped.statusCode, zipped.body).toBe(201);
    expect(plain.statusCode).toBe(201);
    const { id: _a, createdAt: _b, name: _e, ...expected } = plain.json();
    const { id: _c, createdAt: _d, name: _f, ...actual } = zipped.json();
    expect(actual).toEqual(expected);
    expect(await storedValues(ctx, zipped.json().id)).toEqual(await storedValues(ctx, plain.json().id));
  });

  it('a gzip JSON dataset too', async () => {
    const body = JSON.stringify({ features: [[1], [2], [3]], labels: [0, 1, 0] });
    const res = await upload(gzipSync(body), {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ samples: 3, features: 1, task: 'binary' });
  });

  it('any other encoding is a 415 naming the accepted ones, and stores nothing', async () => {
    const before = await ctx.database.db.dataset.count();
    for (const encoding of ['br', 'deflate', 'gzip, gzip', 'compress']) {
      const res = await upload('label,a\n0,1\n1,2\n', {
        'content-type': 'text/csv',
        'content-encoding': encoding,
      });
      const body = expectError(res, 415, 'BP_ERR_UNSUPPORTED_MEDIA_TYPE', encoding);
      expect(body.message).toContain('gzip');
      expect(body.details).toMatchObject({ field: 'content-encoding', accepted: ['identity', 'gzip'] });
    }
    expect(await ctx.database.db.dataset.count()).toBe(before);
  });

  it('a body that is not gzip is a 400 saying so, however early zlib notices', async () => {
    // Forty at once, so the route's quota check (a query) is still pending when zlib fails: that
    // error once fired before Fastify's JSON reader listened, which then waited for the timeout.
    const types = Array.from({ length: 20 }, () => ['text/csv', 'application/json']).flat();
    const answers = await Promise.all(
      types.map((type) =>
        upload('label,a\n0,1\n1,2\n', { 'content-type': type, 'content-encoding': 'gzip' }),
      ),
    );
    for (const [i, res] of answers.entries()) {
      expect(expectError(res, 400, 'BP_ERR_VALIDATION', types[i]).message).toContain('not valid gzip');
    }
  });

  it('1 GB of CSV or JSON gzipped to ~1 MB (a bomb) is a 413 naming LIMIT_UPLOAD_BYTES', async () => {
    const bombs: [string, Buffer][] = [
      ['text/csv', await gzipBomb('label,a\n', '0,0.0000000000000000\n')],
      ['application/json', await gzipBomb('{"features":[', '[0],')],
      ['text/csv', await gzipBomb('', '\0')],
    ];
    for (const [type, bomb] of bombs) {
      expect(bomb.length).toBeLessThan(small.env.LIMIT_UPLOAD_BYTES); // within the limit as sent
      const started = performance.now();
      const body = await expectLimitRefusal(
        small,
        () => upload(bomb, { 'content-type': type, 'content-encoding': 'gzip' }, small),
        413,
        type === 'text/csv' && bomb === bombs[2]![1] ? 'LIMIT_CSV_LINE_BYTES' : 'LIMIT_UPLOAD_BYTES',
      );
      // Refused after LIMIT_UPLOAD_BYTES of output, not after inflating the whole gigabyte.
      expect(performance.now() - started, body.message).toBeLessThan(20_000);
    }
  });
});

describe('predictions bodies', () => {
  it('a body longer than LIMIT_BODY_BYTES is a 413 naming it, before the model is even looked up', async () => {
    const payload = `{"samples":[${'[1,2],'.repeat(200_000)}[1,2]]}`;
    expect(payload.length).toBeLessThan(small.env.LIMIT_UPLOAD_BYTES);
    const res = await small.app.inject({
      method: 'POST',
      url: `/v1/models/${UNKNOWN_ID}/predictions`,
      headers: { 'content-type': 'application/json' },
      payload,
    });
    const body = expectError(res, 413, 'BP_ERR_PAYLOAD_TOO_LARGE');
    expect(body.details).toMatchObject({ limit: 'LIMIT_BODY_BYTES', max: small.env.LIMIT_BODY_BYTES });
  });
});

describe('big JSON datasets (parsed off the main thread) answer as small ones do', () => {
  const rows = 60_000; // about 1.5 MB of JSON: over the size parsed on the main thread
  const features = Array.from({ length: rows }, (_, i) => [i / 7, (i % 13) - 6.5]);
  const labels = Array.from({ length: rows }, (_, i) => i % 3);
  const json = (body: unknown) => upload(JSON.stringify(body), { 'content-type': 'application/json' });

  it('stores the values exactly', async () => {
    const res = await json({ name: 'big', features, labels, featureNames: ['a', 'b'] });
    expect(res.statusCode, res.body.slice(0, 300)).toBe(201);
    expect(res.json()).toMatchObject({ name: 'big', samples: rows, features: 2, task: 'multiclass' });
    const { x, y } = await storedValues(ctx, res.json().id);
    expect(x).toEqual(features.flat());
    expect(y).toEqual(labels);
  });

  it('more big uploads at once than there are cores all succeed (they wait for a thread)', async () => {
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => json({ name: `concurrent-${i}`, features, labels })),
    );
    for (const res of answers) expect(res.statusCode, res.body.slice(0, 300)).toBe(201);
    expect(new Set(answers.map((res) => res.json().id)).size).toBe(6);
  });

  it('names the bad field, the row and the limit as for a small body', async () => {
    const bad = features.map((row, i) => (i === rows - 2 ? [row[0], 'x'] : row));
    const badRes = await json({ features: bad, labels });
    expect(expectError(badRes, 400, 'BP_ERR_VALIDATION').message).toContain(`body.features.${rows - 2}.1`);
    const ragged = features.map((row, i) => (i === rows - 1 ? [1] : row));
    const raggedRes = await json({ features: ragged, labels });
    expect(expectError(raggedRes, 400, 'BP_ERR_VALIDATION').message).toBe(
      `features.${rows - 1}: 1 values, but row 0 has 2`,
    );
    const poisoned = `${JSON.stringify({ features, labels }).slice(0, -1)},"__proto__":{"x":1}}`;
    const poisonedRes = await upload(poisoned, { 'content-type': 'application/json' });
    expect(expectError(poisonedRes, 400, 'BP_ERR_VALIDATION').message).toContain('body.__proto__');
    const limited = await createApiContext({ LIMIT_DATASET_ROWS: String(rows - 1) });
    try {
      const refused = await upload(
        JSON.stringify({ features, labels }),
        { 'content-type': 'application/json' },
        limited,
      );
      expect(expectError(refused, 422, 'BP_ERR_LIMIT_EXCEEDED').details).toMatchObject({
        limit: 'LIMIT_DATASET_ROWS',
      });
    } finally {
      await limited.close();
    }
  });
});

describe('an upload thread that runs out of memory', () => {
  it('is a 413 naming UPLOAD_THREAD_HEAP_MB; nothing is stored and the API serves on', async () => {
    const tight = await createApiContext({ UPLOAD_THREAD_HEAP_MB: '48' });
    try {
      // ~10 MB of JSON: its parsed arrays take far more than 48 MB of heap
      const rows = 400_000;
      const body = JSON.stringify({
        features: Array.from({ length: rows }, (_, i) => [i / 7, (i % 13) - 6.5, i % 5]),
        labels: Array.from({ length: rows }, (_, i) => i % 3),
      });
      const before = await tight.database.db.dataset.count();
      const refused = await upload(body, { 'content-type': 'application/json' }, tight);
      expect(expectError(refused, 413, 'BP_ERR_PAYLOAD_TOO_LARGE').details).toEqual({
        limit: 'UPLOAD_THREAD_HEAP_MB',
        max: 48,
      });
      expect(refused.json().message).toContain('UPLOAD_THREAD_HEAP_MB = 48');
      expect(await tight.database.db.dataset.count()).toBe(before);
      // a big upload that fits the same heap still runs in a thread, and succeeds
      const fits = await upload(
        JSON.stringify({
          features: Array.from({ length: 60_000 }, (_, i) => [i / 7, (i % 13) - 6.5]),
          labels: Array.from({ length: 60_000 }, (_, i) => i % 3),
        }),
        { 'content-type': 'application/json' },
        tight,
      );
      expect(fits.statusCode, fits.body.slice(0, 300)).toBe(201);
    } finally {
      await tight.close();
    }
  });
});
