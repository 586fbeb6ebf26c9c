/**
 * Values that storage cannot take (issue 7): strings Postgres refuses or silently alters (NUL,
 * lone UTF-16 surrogates), and finite numbers so large that statistics over them overflow. Each
 * is refused with a 400 naming the field, or stored and used correctly: never a 500, never NaN.
 */
import type { Prisma } from '@backprop/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext } from '../../../harness/api-context.ts';
import { storeModel } from './by-hand.ts';
import { expectError, fingerprint, postJson } from './support.ts';

let ctx: ApiContext;
beforeAll(async () => {
  ctx = await createApiContext();
});
afterAll(async () => ctx?.close());

function postCsv(csv: string, query = '') {
  return ctx.app.inject({
    method: 'POST',
    url: `/v1/datasets${query}`,
    headers: { 'content-type': 'text/csv' },
    payload: csv,
  });
}

/** A request that must be a 400 naming `field`, and change nothing stored. */
async function refusedNaming(field: string, send: () => Promise<{ statusCode: number; body: string }>) {
  const before = await fingerprint(ctx.database.db);
  const res = await send();
  const body = expectError(res as Parameters<typeof expectError>[0], 400, 'BP_ERR_VALIDATION', field);
  expect(body.message, res.body).toContain(field);
  expect(await fingerprint(ctx.database.db)).toEqual(before);
  return body;
}

const NUL = '\u0000';
/** A high surrogate without its low half: JSON can spell it, UTF-8 cannot encode it. */
const LONE = '\ud800';

describe('strings that storage cannot keep as sent', () => {
  const cases = [
    { what: 'NUL', bad: `a${NUL}b` },
    { what: 'a lone surrogate', bad: `a${LONE}b` },
  ];

  for (const { what, bad } of cases) {
    it(`${what} in a network name is a 400 naming body.name`, async () => {
      await refusedNaming('body.name', () =>
        postJson(ctx, '/v1/networks', {
          name: bad,
          inputSize: 1,
          layers: [{ units: 1, activation: 'sigmoid' }],
        }),
      );
    });

    it(`${what} in a JSON dataset's name, label or feature name is a 400 naming the field`, async () => {
      const base = { features: [[1], [2]], labels: ['a', 'b'] };
      await refusedNaming('body.name', () => postJson(ctx, '/v1/datasets', { ...base, name: bad }));
      await refusedNaming('body.labels.1', () =>
        postJson(ctx, '/v1/datasets', { ...base, labels: ['a', bad] }),
      );
      await refusedNaming('body.featureNames.0', () =>
        postJson(ctx, '/v1/datasets', { ...base, featureNames: [bad] }),
      );
    });
  }

  it('NUL in ?name= or ?label= is a 400 naming the query parameter', async () => {
    // (A lone surrogate cannot be sent here: %ED%A0%80 is not UTF-8, and stays as literal text.)
    await refusedNaming('querystring.name', () => postCsv('label,x1\n0,1\n1,2\n', '?name=a%00b'));
    await refusedNaming('querystring.label', () => postCsv('label,x1\n0,1\n1,2\n', '?label=a%00b'));
  });

  it('NUL in a CSV header is a 400 naming the column', async () => {
    await refusedNaming('header', () => postCsv(`label,x${NUL}1\n0,1\n1,2\n`));
    await refusedNaming('header', () => postCsv(`label,x1,${NUL}\n0,1,2\n1,2,3\n`));
  });

  it('NUL in a CSV label is a 400 naming the sample', async () => {
    await refusedNaming('labels.1', () => postCsv(`label,x1\ncat,1\nd${NUL}og,2\n`));
  });

  it('other control characters, tabs and emoji are stored and read back exactly', async () => {
    const name = 'tab\there \u0001 \u{1F600} é';
    const res = await postJson(ctx, '/v1/datasets', {
      name,
      features: [[1], [2]],
      labels: ['\u{1F431}', 'b\u0007'],
      featureNames: ['x\u{1F600}'],
    });
    expect(res.statusCode, res.body).toBe(201);
    const again = (await ctx.app.inject({ method: 'GET', url: `/v1/datasets/${res.json().id}` })).json();
    expect(again.name).toBe(name);
    expect(again.classes).toEqual(['b\u0007', '\u{1F431}']);
    expect(again.featureStats[0].name).toBe('x\u{1F600}');
  });
});

describe('large finite numbers', () => {
  interface Stat {
    name: string;
    mean: number;
    std: number;
    min: number;
    max: number;
  }
  const statsOf = (res: { json(): unknown }) => (res.json() as { featureStats: Stat[] }).featureStats;

  it('a CSV column with 1e200 gets a finite standard deviation, not a 500', async () => {
    const res = await postCsv('label,x1\n0,1e200\n1,0\n');
    expect(res.statusCode, res.body).toBe(201);
    expect(statsOf(res)).toEqual([{ name: 'x1', mean: 5e199, std: 5e199, min: 0, max: 1e200 }]);
  });

  it('a JSON dataset with ±1.7e308 gets finite statistics (max − min overflows)', async () => {
    const res = await postJson(ctx, '/v1/datasets', { features: [[1.7e308], [-1.7e308]], labels: [0, 1] });
    expect(res.statusCode, res.body).toBe(201);
    expect(statsOf(res)).toEqual([{ name: 'x1', mean: 0, std: 1.7e308, min: -1.7e308, max: 1.7e308 }]);
  });

  it('a constant column has std 0 and its value as the mean, exactly (no rounding noise)', async () => {
    const res = await postJson(ctx, '/v1/datasets', {
      features: Array.from({ length: 3 }, () => [1e300, 0.1]),
      labels: [0, 1, 1],
    });
    expect(res.statusCode, res.body).toBe(201);
    // Before: 0.1 + 0.1 + 0.1 = 0.30000000000000004, so the mean was 0.10000000000000002 and the
    // std 1.4e-17, which standard normalisation then divided by.
    expect(statsOf(res)).toEqual([
      { name: 'x1', mean: 1e300, std: 0, min: 1e300, max: 1e300 },
      { name: 'x2', mean: 0.1, std: 0, min: 0.1, max: 0.1 },
    ]);
  });

  it('ordinary columns keep bit-exact statistics (sum / n, then the root of the mean square)', async () => {
    const values = [0.1, 0.7, 1e-3, 123.456, -9.87, 3.3];
    const res = await postJson(ctx, '/v1/datasets', {
      features: values.map((v) => [v]),
      labels: [0, 1, 0, 1, 0, 1],
    });
    expect(res.statusCode, res.body).toBe(201);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
    expect(statsOf(res)[0]).toMatchObject({ mean, std });
  });
});

describe('predictions with extreme normalisation statistics', () => {
  /** A 1 → 1 linear model (W = 1, b = 0): the prediction is the normalised input itself. */
  async function identityModel(normalization: Prisma.InputJsonObject, normalize: 'standard' | 'minmax') {
    const { modelId } = await storeModel(ctx, {
      features: [[0], [1], [2]],
      labels: [0.5, 1.5, 2.5],
      layers: [{ units: 1, activation: 'linear' }],
      parameters: { W1: [[1]], b1: [[0]] },
      task: 'regression',
      normalization,
      normalize,
    });
    return modelId;
  }

  async function predict(modelId: string, samples: number[][]) {
    const res = await postJson(ctx, `/v1/models/${modelId}/predictions`, { samples });
    expect(res.statusCode, res.body).toBe(200);
    return (res.json() as { predictions: { value: number }[] }).predictions.map((p) => p.value);
  }

  it('min-max whose max − min overflows still maps min → 0 and max → 1', async () => {
    const id = await identityModel({ kind: 'minmax', min: [-1.7e308], max: [1.7e308] }, 'minmax');
    expect(await predict(id, [[-1.7e308], [1.7e308], [0]])).toEqual([0, 1, 0.5]);
  });

  it('min-max of a constant column (max = min = 1e300) shifts only: no NaN', async () => {
    const id = await identityModel({ kind: 'minmax', min: [1e300], max: [1e300] }, 'minmax');
    expect(await predict(id, [[1e300], [0]])).toEqual([0, -1e300]);
  });

  it('standard whose x − mean overflows still gives (x − mean) / std', async () => {
    const id = await identityModel({ kind: 'standard', mean: [-1e308], std: [1e308] }, 'standard');
    expect(await predict(id, [[1.5e308], [-1e308]])).toEqual([2.5, 0]);
  });

  it('standard of a constant column (std = 0) shifts only: no NaN', async () => {
    const id = await identityModel({ kind: 'standard', mean: [1e300], std: [0] }, 'standard');
    expect(await predict(id, [[1e300], [0]])).toEqual([0, -1e300]);
  });

  it('an input whose normalised value overflows is a 422 naming the sample, not NaN', async () => {
    const id = await identityModel({ kind: 'standard', mean: [0], std: [1e-300] }, 'standard');
    const res = await postJson(ctx, `/v1/models/${id}/predictions`, { samples: [[1], [1e300]] });
    const body = expectError(res, 422, 'BP_ERR_BAD_DATA');
    expect(body.message).toContain('samples.1');
  });
});
