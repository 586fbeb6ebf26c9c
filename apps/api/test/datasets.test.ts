import { Readable } from 'node:stream';
import { getDatasetWithValues } from '@backprop/db';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext, planarCsv } from '../../../harness/api-context.ts';
import { queueJobOn } from '../../../harness/api-fixtures.ts';
import { expectError, UNKNOWN_ID } from './support.ts';

let ctx: ApiContext;
/** Small limits, to hit every one of them with small requests. */
let tight: ApiContext;
beforeAll(async () => {
  [ctx, tight] = await Promise.all([
    createApiContext({ LIMIT_DATASET_ROWS: '1000' }),
    createApiContext({
      LIMIT_UPLOAD_BYTES: '200',
      LIMIT_DATASET_ROWS: '5',
      LIMIT_DATASET_COLUMNS: '3',
      LIMIT_DATASET_VALUES: '12',
      LIMIT_CLASSES: '3',
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([ctx?.close(), tight?.close()]);
});

function postCsv(csv: string | Buffer | Readable, query = '', c: ApiContext = ctx) {
  return c.app.inject({
    method: 'POST',
    url: `/v1/datasets${query}`,
    headers: { 'content-type': 'text/csv' },
    payload: csv,
  });
}

function postJson(body: unknown, query = '', c: ApiContext = ctx) {
  return c.app.inject({
    method: 'POST',
    url: `/v1/datasets${query}`,
    headers: { 'content-type': 'application/json' },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Runs a request that must be rejected and checks that no dataset row appeared. */
async function rejected(c: ApiContext, send: () => Promise<LightMyRequestResponse>) {
  const before = await c.database.db.dataset.count();
  const res = await send();
  expect(res.statusCode).toBeGreaterThanOrEqual(400);
  expect(await c.database.db.dataset.count()).toBe(before);
  return res;
}

async function storedValues(id: string) {
  const row = await getDatasetWithValues(ctx.database.db, ctx.tenantId, id);
  if (row === null) throw new Error(`dataset ${id} is not stored`);
  return { x: Array.from(row.x), y: Array.from(row.y), row };
}

describe('POST /v1/datasets (CSV)', () => {
  it('stores the planar data and infers a binary task with feature statistics', async () => {
    const res = await postCsv(await planarCsv(), '?name=planar');
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      name: 'planar',
      samples: 400,
      features: 2,
      task: 'binary',
      classes: [0, 1],
    });
    expect(body.featureStats.map((s: { name: string }) => s.name)).toEqual(['x1', 'x2']);
    expect(res.headers.location).toBe(`/v1/datasets/${body.id}`);
    expect(body.byteSize).toBe(400 * 2 * 8 + 400 * 8);
    const again = await ctx.app.inject({ method: 'GET', url: `/v1/datasets/${body.id}` });
    expect(again.json()).toEqual(body);
  });

  it('stores the values row by row, with exact feature statistics', async () => {
    const res = await postCsv('label,a,b\n0,1,10\n1,2,20\n0,3,30\n1,6,40\n');
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      samples: 4,
      features: 2,
      task: 'binary',
      labelName: 'label',
      classes: [0, 1],
    });
    expect(body.featureStats).toEqual([
      { name: 'a', mean: 3, std: Math.sqrt(3.5), min: 1, max: 6 },
      { name: 'b', mean: 25, std: Math.sqrt(125), min: 10, max: 40 },
    ]);
    const { x, y, row } = await storedValues(body.id);
    expect(x).toEqual([1, 10, 2, 20, 3, 30, 6, 40]);
    expect(y).toEqual([0, 1, 0, 1]);
    expect(row.featureNames).toEqual(['a', 'b']);
  });

  it('takes the label from the column named by ?label=, wherever it is', async () => {
    const res = await postCsv('a,target,b\n1,0,2\n3,1,4\n5,0,6\n', '?label=target');
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ labelName: 'target', features: 2, samples: 3 });
    expect(body.featureStats.map((s: { name: string }) => s.name)).toEqual(['a', 'b']);
    const { x, y } = await storedValues(body.id);
    expect(x).toEqual([1, 2, 3, 4, 5, 6]);
    expect(y).toEqual([0, 1, 0]);
  });

  it('reads quoted fields, escaped quotes and commas inside quotes', async () => {
    const csv = '"label","x ""one""",x2\n"red, dark","1.5",2\nblue,"-3","4e1"\n"red, dark",0,0\n';
    const res = await postCsv(csv);
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(body.classes).toEqual(['blue', 'red, dark']);
    expect(body.featureStats.map((s: { name: string }) => s.name)).toEqual(['x "one"', 'x2']);
    const { x, y } = await storedValues(body.id);
    expect(x).toEqual([1.5, 2, -3, 40, 0, 0]);
    expect(y).toEqual([1, 0, 1]);
  });

  it('reads \\r\\n line ends, a UTF-8 byte-order mark and blank lines', async () => {
    const csv = Buffer.from('\uFEFFlabel,a\r\n1,0.5\r\n\r\n0,0.25\r\n1,2\r\n', 'utf8');
    const res = await postCsv(csv);
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ samples: 3, features: 1, labelName: 'label', classes: [0, 1] });
    expect(body.featureStats[0].name).toBe('a');
    const { x, y } = await storedValues(body.id);
    expect(x).toEqual([0.5, 0.25, 2]);
    expect(y).toEqual([1, 0, 1]);
  });

  it('reads a CSV streamed in small chunks without a content length', async () => {
    const text = 'label,a,b\n0,1,2\n1,3,4\n0,5,6\n1,7,8\n';
    const chunks = text.match(/.{1,3}/gs)!.map((s) => Buffer.from(s));
    const res = await postCsv(Readable.from(chunks));
    expect(res.statusCode, res.body).toBe(201);
    const { x } = await storedValues(res.json().id);
    expect(x).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('turns class-name labels into sorted classes and y into class indices', async () => {
    const res = await postCsv('label,a\nred,1\ngreen,2\nblue,3\nred,4\n');
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ task: 'multiclass', classes: ['blue', 'green', 'red'] });
    expect((await storedValues(body.id)).y).toEqual([2, 1, 0, 2]);
  });

  it('two class names make a binary task', async () => {
    const res = await postCsv('label,a\ncat,1\ndog,2\ncat,3\n');
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ task: 'binary', classes: ['cat', 'dog'] });
  });

  it('numeric integer labels with few distinct values make a multiclass task, sorted numerically', async () => {
    const rows = [10, 2, 1, 2, 10, 1, 1, 2].map((l, i) => `${l},${i}`).join('\n');
    const res = await postCsv(`label,a\n${rows}\n`);
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ task: 'multiclass', classes: [1, 2, 10] });
    expect((await storedValues(body.id)).y).toEqual([2, 1, 0, 1, 2, 0, 0, 1]);
  });

  it('real-valued labels make a regression task, with no classes and y the values', async () => {
    const res = await postCsv('label,a\n0.5,1\n1.25,2\n-3,3\n');
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.task).toBe('regression');
    expect(body).not.toHaveProperty('classes');
    expect((await storedValues(body.id)).y).toEqual([0.5, 1.25, -3]);
  });

  it('?task= overrides the inferred task', async () => {
    const res = await postCsv('label,a\n0,1\n1,2\n2,3\n1,4\n', '?task=regression');
    expect(res.statusCode).toBe(201);
    expect(res.json().task).toBe('regression');
    const multi = await postCsv('label,a\n0,1\n1,2\n2,3\n', '?task=multiclass');
    expect(multi.statusCode).toBe(201);
    expect(multi.json()).toMatchObject({ task: 'multiclass', classes: [0, 1, 2] });
  });

  it('refuses an impossible ?task= override with 422, storing nothing', async () => {
    const regression = await rejected(ctx, () => postCsv('label,a\nred,1\nblue,2\n', '?task=regression'));
    expect(expectError(regression, 422, 'BP_ERR_BAD_DATA').message).toMatch(
      /regression needs numeric labels.*"red"/,
    );
    const binary = await rejected(ctx, () => postCsv('label,a\n0,1\n1,2\n2,3\n', '?task=binary'));
    expect(expectError(binary, 422, 'BP_ERR_BAD_DATA').message).toMatch(/binary needs exactly 2 classes.*3/);
  });

  it('refuses an unknown ?task= value and unknown query parameters with 400', async () => {
    const task = await rejected(ctx, () => postCsv('label,a\n0,1\n1,2\n', '?task=clustering'));
    expect(expectError(task, 400, 'BP_ERR_VALIDATION').message).toContain('querystring.task');
    const extra = await rejected(ctx, () => postCsv('label,a\n0,1\n1,2\n', '?labels=a'));
    expect(expectError(extra, 400, 'BP_ERR_VALIDATION').message).toContain('labels');
  });

  it('rejects a ragged row naming the line, and stores nothing', async () => {
    const before = await ctx.database.db.dataset.count();
    const res = await postCsv('label,a,b\n1,2,3\n0,4\n');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: 'BP_ERR_VALIDATION',
      message: 'line 3 has 2 values but the header has 3 columns',
    });
    expect(await ctx.database.db.dataset.count()).toBe(before);
    const long = await rejected(ctx, () => postCsv('label,a\n1,2\n0,4,5\n'));
    expect(expectError(long, 400, 'BP_ERR_VALIDATION').message).toBe(
      'line 3 has 3 values but the header has 2 columns',
    );
  });

  it('rejects a non-numeric cell naming the line and the column', async () => {
    const res = await rejected(ctx, () => postCsv('label,a,b\n1,2,3\n0,4,abc\n'));
    const body = expectError(res, 400, 'BP_ERR_VALIDATION');
    expect(body.message).toBe('line 3, column "b": "abc" is not a finite number');
    expect(body.details).toEqual({ line: 3, column: 'b' });
  });

  it.each(['', 'Infinity', '1e309', 'NaN', '-Infinity'])(
    'rejects the cell "%s" (empty or not a finite number), naming the line and the column',
    async (cell) => {
      const res = await rejected(ctx, () => postCsv(`label,a,b\n1,2,3\n0,${cell},5\n1,1,1\n`));
      expect(expectError(res, 400, 'BP_ERR_VALIDATION').message).toBe(
        `line 3, column "a": "${cell}" is not a finite number`,
      );
    },
  );

  it.each([
    ['an empty label, naming the line', 'label,a\n1,2\n,3\n', 'line 3: the label is empty'],
    ['an unclosed quote, naming the line', 'label,a\n1,2\n0,"3\n', 'line 3: a quoted value is not closed'],
    ['a header without data rows', 'label,a,b\n', 'the CSV has a header but no data rows'],
  ])('rejects %s with 400', async (_, csv, message) => {
    const res = await rejected(ctx, () => postCsv(csv));
    expect(expectError(res, 400, 'BP_ERR_VALIDATION').message).toBe(message);
  });

  it('rejects a CSV without the label column, naming the column and the columns it has', async () => {
    const res = await rejected(ctx, () => postCsv('y,a\n1,2\n0,3\n'));
    const body = expectError(res, 400, 'BP_ERR_VALIDATION');
    expect(body.message).toContain('no column named "label"');
    expect(body.message).toContain('columns: y, a');
    expect(body.details).toMatchObject({ field: 'label' });
    const named = await rejected(ctx, () => postCsv('label,a\n1,2\n', '?label=target'));
    expect(expectError(named, 400, 'BP_ERR_VALIDATION').message).toContain('no column named "target"');
  });

  it('rejects a label column without feature columns, and duplicate or empty header names', async () => {
    const only = await rejected(ctx, () => postCsv('label\n1\n0\n'));
    expect(expectError(only, 400, 'BP_ERR_VALIDATION').message).toContain('at least one feature column');
    const dup = await rejected(ctx, () => postCsv('label,a,a\n1,2,3\n'));
    expect(expectError(dup, 400, 'BP_ERR_VALIDATION').message).toBe('header column "a" appears twice');
    const empty = await rejected(ctx, () => postCsv('label,,b\n1,2,3\n'));
    expect(expectError(empty, 400, 'BP_ERR_VALIDATION').message).toBe('header column 2 has no name');
  });

  it.each([
    { what: 'an empty body', csv: '', status: 400, code: 'BP_ERR_VALIDATION', naming: 'the CSV is empty' },
    {
      what: 'bytes that are not UTF-8',
      csv: Buffer.from([0x6c, 0x61, 0x62, 0x65, 0x6c, 0x2c, 0xff, 0x0a]),
      status: 400,
      code: 'BP_ERR_VALIDATION',
      naming: 'not valid UTF-8',
    },
    {
      what: 'labels of a single class',
      csv: 'label,a\nred,1\nred,2\n',
      status: 422,
      code: 'BP_ERR_BAD_DATA',
      naming: 'at least 2 classes',
    },
  ])('rejects $what with $status', async ({ csv, status, code, naming }) => {
    const res = await rejected(ctx, () => postCsv(csv));
    expect(expectError(res, status, code).message).toContain(naming);
  });
});

describe('POST /v1/datasets (JSON)', () => {
  it('stores features and labels, naming the features x1, x2, ... by default', async () => {
    const res = await postJson({
      features: [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      labels: [0, 1, 0],
    });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      samples: 3,
      features: 2,
      task: 'binary',
      classes: [0, 1],
      labelName: 'label',
    });
    expect(body.featureStats.map((s: { name: string }) => s.name)).toEqual(['x1', 'x2']);
    expect(res.headers.location).toBe(`/v1/datasets/${body.id}`);
    const { x, y } = await storedValues(body.id);
    expect(x).toEqual([1, 2, 3, 4, 5, 6]);
    expect(y).toEqual([0, 1, 0]);
  });

  it('takes featureNames, a name, class-name labels and a task override', async () => {
    const res = await postJson({
      name: 'colours',
      features: [[1], [2], [3], [4]],
      labels: ['red', 'blue', 'red', 'blue'],
      featureNames: ['brightness'],
      task: 'multiclass',
    });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ name: 'colours', task: 'multiclass', classes: ['blue', 'red'] });
    expect(body.featureStats[0].name).toBe('brightness');
    expect((await storedValues(body.id)).y).toEqual([1, 0, 1, 0]);
  });

  it('takes the name and the task from the query string too', async () => {
    const res = await postJson(
      { features: [[1], [2], [3]], labels: [1, 2, 3] },
      '?name=fromquery&task=regression',
    );
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ name: 'fromquery', task: 'regression' });
  });

  it('rejects ragged rows naming the row', async () => {
    const res = await rejected(ctx, () => postJson({ features: [[1, 2], [3, 4], [5]], labels: [0, 1, 0] }));
    const body = expectError(res, 400, 'BP_ERR_VALIDATION');
    expect(body.message).toBe('features.2: 1 values, but row 0 has 2');
    expect(body.details).toEqual({ field: 'features.2' });
  });

  it('rejects as many labels as rows only', async () => {
    const res = await rejected(ctx, () => postJson({ features: [[1], [2], [3]], labels: [0, 1] }));
    expect(expectError(res, 400, 'BP_ERR_VALIDATION').message).toBe('labels: 2 labels for 3 feature rows');
  });

  it('rejects featureNames of the wrong length', async () => {
    const res = await rejected(ctx, () =>
      postJson({
        features: [
          [1, 2],
          [3, 4],
        ],
        labels: [0, 1],
        featureNames: ['a'],
      }),
    );
    expect(expectError(res, 400, 'BP_ERR_VALIDATION').message).toBe('featureNames: 1 names for 2 features');
  });

  it('rejects duplicate featureNames, like duplicate CSV header names', async () => {
    const res = await rejected(ctx, () =>
      postJson({ features: [[1, 2, 3]], labels: [0], featureNames: ['a', 'b', 'a'] }),
    );
    const body = expectError(res, 400, 'BP_ERR_VALIDATION');
    expect(body.message).toBe('featureNames.2: "a" appears twice');
    expect(body.details).toEqual({ field: 'featureNames.2' });
  });

  it('rejects missing and unknown fields, naming them', async () => {
    const missing = await rejected(ctx, () => postJson({ features: [[1], [2]] }));
    expect(expectError(missing, 400, 'BP_ERR_VALIDATION').message).toContain('body.labels');
    const unknown = await rejected(ctx, () =>
      postJson({ features: [[1], [2]], labels: [0, 1], weights: [1, 2] }),
    );
    const body = expectError(unknown, 400, 'BP_ERR_VALIDATION');
    expect(body.message).toContain('weights');
  });

  it('rejects wrong types, naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ features: 'abc', labels: [0, 1] }, 'body.features'],
      [{ features: [[1], ['2']], labels: [0, 1] }, 'body.features.1.0'],
      [{ features: [[1], [2]], labels: [0, true] }, 'body.labels.1'],
      [{ features: [[1], [2]], labels: [0, 1], task: 'clustering' }, 'body.task'],
      [{ features: [], labels: [] }, 'body.features'],
      [{ features: [[], []], labels: [0, 1] }, 'body.features.0'],
      [[1, 2, 3], 'body'],
    ];
    for (const [payload, field] of cases) {
      const res = await rejected(ctx, () => postJson(payload));
      expect(expectError(res, 400, 'BP_ERR_VALIDATION').message).toContain(field);
    }
  });

  it('rejects non-finite numbers: 1e309 parses as Infinity', async () => {
    const res = await rejected(ctx, () => postJson('{"features":[[1],[1e309]],"labels":[0,1]}'));
    expect(expectError(res, 400, 'BP_ERR_VALIDATION').message).toContain('body.features.1.0');
    const label = await rejected(ctx, () => postJson('{"features":[[1],[2]],"labels":[0,-1e309]}'));
    expect(expectError(label, 400, 'BP_ERR_VALIDATION').message).toContain('body.labels.1');
  });

  it('rejects a __proto__ key with 400', async () => {
    const res = await rejected(ctx, () =>
      postJson('{"features":[[1],[2]],"labels":[0,1],"__proto__":{"polluted":true}}'),
    );
    const body = expectError(res, 400, 'BP_ERR_VALIDATION');
    expect(body.message).toContain('body.__proto__');
    expect(body.message).not.toContain('not valid JSON');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    // also nested, spelled with escapes, and as constructor.prototype
    const nested = await rejected(ctx, () =>
      postJson('{"features":[[1],[2]],"labels":[0,1],"featureNames":{"\\u005f_proto__":{"x":1}}}'),
    );
    expect(expectError(nested, 400, 'BP_ERR_VALIDATION').message).toContain('body.featureNames.__proto__');
    const ctor = await rejected(ctx, () =>
      postJson('{"features":[[1],[2]],"labels":[0,1],"constructor":{"prototype":{"x":1}}}'),
    );
    expect(expectError(ctor, 400, 'BP_ERR_VALIDATION').message).toContain('body.constructor.prototype');
  });

  it('rejects malformed JSON and an empty JSON body with 400', async () => {
    const bad = await rejected(ctx, () => postJson('{"features":[[1],[2]],'));
    expect(expectError(bad, 400, 'BP_ERR_VALIDATION').message).toContain('not valid JSON');
    const empty = await rejected(ctx, () => postJson(''));
    expectError(empty, 400, 'BP_ERR_VALIDATION');
  });

  it('rejects labels of a single class with 422', async () => {
    const res = await rejected(ctx, () => postJson({ features: [[1], [2]], labels: ['a', 'a'] }));
    expect(expectError(res, 422, 'BP_ERR_BAD_DATA').message).toContain('at least 2 classes');
  });

  it('refuses an impossible task override with 422', async () => {
    const res = await rejected(ctx, () =>
      postJson({ features: [[1], [2]], labels: ['a', 'b'], task: 'regression' }),
    );
    expectError(res, 422, 'BP_ERR_BAD_DATA');
  });
});

describe('POST /v1/datasets: content types', () => {
  it('refuses other content types with 415 and stores nothing', async () => {
    for (const type of ['application/xml', 'text/plain', 'application/x-www-form-urlencoded']) {
      const res = await rejected(ctx, () =>
        ctx.app.inject({
          method: 'POST',
          url: '/v1/datasets',
          headers: { 'content-type': type },
          payload: 'label,a\n0,1\n1,2\n',
        }),
      );
      expectError(res, 415, 'BP_ERR_UNSUPPORTED_MEDIA_TYPE');
    }
  });

  it('refuses a body without a content type with 415', async () => {
    const res = await rejected(ctx, () =>
      ctx.app.inject({ method: 'POST', url: '/v1/datasets', payload: Buffer.from('label,a\n0,1\n1,2\n') }),
    );
    expectError(res, 415, 'BP_ERR_UNSUPPORTED_MEDIA_TYPE');
  });

  it('accepts parameters on the content type (charset)', async () => {
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/v1/datasets',
      headers: { 'content-type': 'text/csv; charset=utf-8' },
      payload: 'label,a\n0,1\n1,2\n',
    });
    expect(res.statusCode).toBe(201);
  });
});

describe('POST /v1/datasets: limits', () => {
  it('accepts a dataset right at every limit', async () => {
    // 4 rows × 3 columns = 12 values, 3 classes
    const res = await postCsv('label,a,b,c\n0,1,2,3\n1,1,2,3\n2,1,2,3\n0,1,1,1\n', '', tight);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ samples: 4, features: 3 });
  });

  it('names the limit when there are too many rows', async () => {
    const rows = Array.from({ length: 1001 }, (_, i) => `${i % 2},${i}`).join('\n');
    const res = await rejected(ctx, () => postCsv(`label,x\n${rows}\n`));
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({
      code: 'BP_ERR_LIMIT_EXCEEDED',
      details: { limit: 'LIMIT_DATASET_ROWS', max: 1000 },
    });
    const json = await rejected(tight, () =>
      postJson({ features: [[1], [2], [3], [4], [5], [6]], labels: [0, 1, 0, 1, 0, 1] }, '', tight),
    );
    expect(expectError(json, 422, 'BP_ERR_LIMIT_EXCEEDED').details).toMatchObject({
      limit: 'LIMIT_DATASET_ROWS',
      max: 5,
      actual: 6,
    });
  });

  it.each([
    {
      what: 'a CSV of a declared content length',
      body: `label,a\n0,${'1'.repeat(120)}\n1,${'2'.repeat(120)}\n`,
      send: (body: string) => postCsv(body, '', tight),
    },
    {
      what: 'a JSON upload',
      body: JSON.stringify({
        features: Array.from({ length: 4 }, () => [123456789.123, 123456789.123, 123456789.123]),
        labels: [0, 1, 0, 1],
        name: 'x'.repeat(60),
      }),
      send: (body: string) => postJson(body, '', tight),
    },
  ])('LIMIT_UPLOAD_BYTES: $what above it is 413 naming the limit', async ({ body, send }) => {
    expect(Buffer.byteLength(body)).toBeGreaterThan(200);
    const res = await rejected(tight, () => send(body));
    const error = expectError(res, 413, 'BP_ERR_PAYLOAD_TOO_LARGE');
    expect(error.details).toMatchObject({ limit: 'LIMIT_UPLOAD_BYTES', max: 200 });
    expect(error.message).toContain('LIMIT_UPLOAD_BYTES');
  });

  it('LIMIT_UPLOAD_BYTES: a streamed CSV without a length is cut off at the limit with 413', async () => {
    // three long rows: past 200 bytes before any other limit is reached
    const lines = ['label,a\n', ...Array.from({ length: 3 }, (_, i) => `${i % 2},${'1'.repeat(90)}\n`)];
    const res = await rejected(tight, () =>
      tight.app.inject({
        method: 'POST',
        url: '/v1/datasets',
        headers: { 'content-type': 'text/csv' },
        payload: Readable.from(lines.map((l) => Buffer.from(l))),
      }),
    );
    const body = expectError(res, 413, 'BP_ERR_PAYLOAD_TOO_LARGE');
    expect(body.details).toMatchObject({ limit: 'LIMIT_UPLOAD_BYTES', max: 200 });
    // counted while streaming, not from a declared length
    expect(body.message).toContain('bytes so far');
  });

  it('LIMIT_DATASET_COLUMNS: too many feature columns (CSV header, JSON rows)', async () => {
    const res = await rejected(tight, () => postCsv('label,a,b,c,d\n0,1,2,3,4\n', '', tight));
    expect(expectError(res, 422, 'BP_ERR_LIMIT_EXCEEDED').details).toEqual({
      limit: 'LIMIT_DATASET_COLUMNS',
      actual: 4,
      max: 3,
    });
    const json = await rejected(tight, () => postJson({ features: [[1, 2, 3, 4]], labels: [0] }, '', tight));
    expect(expectError(json, 422, 'BP_ERR_LIMIT_EXCEEDED').details).toMatchObject({
      limit: 'LIMIT_DATASET_COLUMNS',
    });
  });

  it('LIMIT_DATASET_VALUES: rows × features above it', async () => {
    // 5 rows × 3 features = 15 > 12, within the row and column limits
    const res = await rejected(tight, () =>
      postCsv('label,a,b,c\n0,1,2,3\n1,1,2,3\n0,1,2,3\n1,1,2,3\n0,1,2,3\n', '', tight),
    );
    const body = expectError(res, 422, 'BP_ERR_LIMIT_EXCEEDED');
    expect(body.details).toMatchObject({ limit: 'LIMIT_DATASET_VALUES', max: 12 });
    expect(body.message).toContain('LIMIT_DATASET_VALUES');
  });

  it('LIMIT_CLASSES: more distinct labels than allowed', async () => {
    const res = await rejected(tight, () => postCsv('label,a\na,1\nb,2\nc,3\nd,4\n', '', tight));
    const body = expectError(res, 422, 'BP_ERR_LIMIT_EXCEEDED');
    expect(body.details).toEqual({ limit: 'LIMIT_CLASSES', actual: 4, max: 3 });
    expect(body.message).toContain('LIMIT_CLASSES');
    const json = await rejected(tight, () =>
      postJson({ features: [[1], [2], [3], [4]], labels: ['a', 'b', 'c', 'd'] }, '', tight),
    );
    expect(expectError(json, 422, 'BP_ERR_LIMIT_EXCEEDED').details).toMatchObject({ limit: 'LIMIT_CLASSES' });
  });
});

describe('GET /v1/datasets', () => {
  let pager: ApiContext;
  beforeAll(async () => {
    pager = await createApiContext();
  });
  afterAll(async () => pager?.close());

  it('lists newest first, page by page, with nextCursor null at the end', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await postCsv(`label,a\n0,${i}\n1,${i + 1}\n`, `?name=d${i}`, pager);
      expect(res.statusCode).toBe(201);
      ids.push(res.json().id);
      // distinct createdAt (millisecond precision), so "newest first" is the creation order
      await new Promise((r) => setTimeout(r, 3));
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
      const res = await pager.app.inject({ method: 'GET', url: `/v1/datasets${query}` });
      expect(res.statusCode).toBe(200);
      const page = res.json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((d: { id: string }) => d.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
    const all = await pager.app.inject({ method: 'GET', url: '/v1/datasets' });
    expect(all.json().items.map((d: { name: string }) => d.name)).toEqual(['d4', 'd3', 'd2', 'd1', 'd0']);
    expect(all.json().nextCursor).toBeNull();
  });

  it('rejects a bad limit and unknown query parameters with 400', async () => {
    for (const query of ['?limit=0', '?limit=101', '?limit=abc', '?limit=1.5', '?sort=name']) {
      const res = await pager.app.inject({ method: 'GET', url: `/v1/datasets${query}` });
      expect(expectError(res, 400, 'BP_ERR_VALIDATION').message).toContain('querystring');
    }
  });

  it('rejects a cursor it did not produce with 400 naming the cursor', async () => {
    for (const cursor of ['garbage', Buffer.from('[1,2]').toString('base64url')]) {
      const res = await pager.app.inject({ method: 'GET', url: `/v1/datasets?cursor=${cursor}` });
      expect(expectError(res, 400, 'BP_ERR_VALIDATION').message).toContain('cursor');
    }
  });
});

describe('GET and DELETE /v1/datasets/:id', () => {
  it('GET: 400 for an id that is not a UUID, 404 for an unknown one', async () => {
    const bad = await ctx.app.inject({ method: 'GET', url: '/v1/datasets/not-a-uuid' });
    expect(expectError(bad, 400, 'BP_ERR_VALIDATION').message).toContain('params.id');
    const unknown = await ctx.app.inject({ method: 'GET', url: `/v1/datasets/${UNKNOWN_ID}` });
    expect(expectError(unknown, 404, 'BP_ERR_DATASET_NOT_FOUND').message).toContain(UNKNOWN_ID);
  });

  it('DELETE: 204, then 404 for GET and DELETE; the row is gone', async () => {
    const created = await postCsv('label,a\n0,1\n1,2\n');
    const { id } = created.json();
    const del = await ctx.app.inject({ method: 'DELETE', url: `/v1/datasets/${id}` });
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe('');
    expect(await ctx.database.db.dataset.findUnique({ where: { id } })).toBeNull();
    expectError(
      await ctx.app.inject({ method: 'GET', url: `/v1/datasets/${id}` }),
      404,
      'BP_ERR_DATASET_NOT_FOUND',
    );
    expectError(
      await ctx.app.inject({ method: 'DELETE', url: `/v1/datasets/${id}` }),
      404,
      'BP_ERR_DATASET_NOT_FOUND',
    );
    expectError(
      await ctx.app.inject({ method: 'DELETE', url: '/v1/datasets/nope' }),
      400,
      'BP_ERR_VALIDATION',
    );
  });

  async function datasetWithJob() {
    const datasetId: string = (await postCsv('label,a,b\n0,1,2\n1,2,3\n0,3,1\n1,0,0\n')).json().id;
    return { datasetId, jobId: await queueJobOn(ctx.app, datasetId, 2) };
  }

  it('DELETE: 409 BP_ERR_DATASET_IN_USE while a queued job uses it; the dataset stays', async () => {
    const { datasetId } = await datasetWithJob();
    const res = await ctx.app.inject({ method: 'DELETE', url: `/v1/datasets/${datasetId}` });
    expect(expectError(res, 409, 'BP_ERR_DATASET_IN_USE').message).toContain(datasetId);
    expect((await ctx.app.inject({ method: 'GET', url: `/v1/datasets/${datasetId}` })).statusCode).toBe(200);
  });

  it('DELETE: 204 when only finished jobs refer to it; its values go, its row stays marked deleted', async () => {
    const { datasetId, jobId } = await datasetWithJob();
    const cancel = await ctx.app.inject({ method: 'POST', url: `/v1/jobs/${jobId}/cancel` });
    expect(cancel.json().status).toBe('cancelled');
    const res = await ctx.app.inject({ method: 'DELETE', url: `/v1/datasets/${datasetId}` });
    expect(res.statusCode, res.body).toBe(204);
    const shown = await ctx.app.inject({ method: 'GET', url: `/v1/datasets/${datasetId}` });
    expect(shown.statusCode).toBe(200);
    expect(shown.json()).toMatchObject({ id: datasetId, samples: 4, features: 2, byteSize: 0 });
    expect(shown.json().deletedAt).not.toBeNull();
  });
});
