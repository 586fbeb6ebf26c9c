import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext } from '../../../harness/api-context.ts';
import { expectError, postBody, postJson, UNKNOWN_ID } from './support.ts';

let ctx: ApiContext;
/** Small limits: 3 layers, 10 units per layer, 100 parameters, 8 inputs, 400-byte bodies. */
let tight: ApiContext;
beforeAll(async () => {
  [ctx, tight] = await Promise.all([
    createApiContext(),
    createApiContext({
      LIMIT_LAYERS: '3',
      LIMIT_UNITS_PER_LAYER: '10',
      LIMIT_PARAMETERS: '100',
      LIMIT_DATASET_COLUMNS: '8',
      LIMIT_BODY_BYTES: '400',
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([ctx?.close(), tight?.close()]);
});

const postNetwork = (body: unknown, c: ApiContext = ctx) => postJson(c, '/v1/networks', body);

/** A rejected create stores no network. */
async function rejected(c: ApiContext, body: unknown) {
  const before = await c.database.db.network.count();
  const res = await postNetwork(body, c);
  expect(res.statusCode).toBeGreaterThanOrEqual(400);
  expect(await c.database.db.network.count()).toBe(before);
  return res;
}

/** Σ n[l]·n[l-1] + n[l], computed independently of the API. */
function count(inputSize: number, units: number[]): number {
  let total = 0;
  let prev = inputSize;
  for (const n of units) {
    total += n * prev + n;
    prev = n;
  }
  return total;
}

describe('POST /v1/networks', () => {
  it('creates a network: 201, Location, parameterCount, He init for relu hidden layers', async () => {
    const layers = [
      { units: 4, activation: 'relu' },
      { units: 3, activation: 'relu' },
      { units: 1, activation: 'sigmoid' },
    ];
    const res = await postNetwork({ name: 'deep', inputSize: 2, layers });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ name: 'deep', inputSize: 2, layers, init: 'he' });
    expect(body.parameterCount).toBe(4 * 2 + 4 + (3 * 4 + 3) + (1 * 3 + 1));
    expect(body.parameterCount).toBe(31);
    expect(res.headers.location).toBe(`/v1/networks/${body.id}`);
    const row = await ctx.database.db.network.findUniqueOrThrow({ where: { id: body.id } });
    expect(row).toMatchObject({ inputSize: 2, init: 'he', parameterCount: 31, layers });
    const got = await ctx.app.inject({ method: 'GET', url: `/v1/networks/${body.id}` });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual(body);
  });

  it('defaults: Xavier for tanh or sigmoid hidden layers, He for leaky_relu, a generated name', async () => {
    const layer = (units: number, activation: string) => ({ units, activation });
    const cases: [{ units: number; activation: string }[], string][] = [
      [[layer(5, 'tanh'), layer(1, 'sigmoid')], 'xavier'],
      [[layer(5, 'sigmoid'), layer(3, 'softmax')], 'xavier'],
      [[layer(5, 'relu'), layer(5, 'tanh'), layer(1, 'linear')], 'xavier'],
      [[layer(5, 'leaky_relu'), layer(1, 'linear')], 'he'],
    ];
    for (const [layers, init] of cases) {
      const res = await postNetwork({ inputSize: 3, layers });
      expect(res.statusCode, res.body).toBe(201);
      const body = res.json();
      expect(body.init).toBe(init);
      expect(body.layers).toEqual(layers);
      expect(body.name).toMatch(/^network-/);
      expect(body.parameterCount).toBe(
        count(
          3,
          layers.map((l) => l.units),
        ),
      );
    }
  });

  it('keeps a leaky_relu slope', async () => {
    const layers = [
      { units: 5, activation: 'leaky_relu', slope: 0.2 },
      { units: 1, activation: 'linear' },
    ];
    const res = await postNetwork({ inputSize: 3, layers });
    expect(res.statusCode).toBe(201);
    expect(res.json().layers).toEqual(layers);
    const got = await ctx.app.inject({ method: 'GET', url: `/v1/networks/${res.json().id}` });
    expect(got.json().layers).toEqual(layers);
  });

  it('a network without hidden layers (logistic regression) defaults to random init', async () => {
    const res = await postNetwork({ inputSize: 7, layers: [{ units: 1, activation: 'sigmoid' }] });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ init: 'random', parameterCount: 8 });
  });

  it('keeps an explicit init', async () => {
    const res = await postNetwork({
      inputSize: 2,
      layers: [
        { units: 4, activation: 'relu' },
        { units: 1, activation: 'sigmoid' },
      ],
      init: 'xavier',
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().init).toBe('xavier');
  });

  it('refuses activations in the wrong position, naming the layer', async () => {
    const cases: [unknown[], string, string][] = [
      [
        [
          { units: 4, activation: 'softmax' },
          { units: 1, activation: 'sigmoid' },
        ],
        'body.layers.0.activation',
        'a hidden layer takes one of sigmoid, tanh, relu, leaky_relu',
      ],
      [
        [
          { units: 4, activation: 'linear' },
          { units: 1, activation: 'sigmoid' },
        ],
        'body.layers.0.activation',
        'a hidden layer',
      ],
      [
        [
          { units: 4, activation: 'tanh' },
          { units: 1, activation: 'relu' },
        ],
        'body.layers.1.activation',
        'the output layer takes one of sigmoid, softmax, linear',
      ],
      [[{ units: 1, activation: 'tanh' }], 'body.layers.0.activation', 'the output layer'],
      [[{ units: 1, activation: 'swish' }], 'body.layers.0.activation', ''],
    ];
    for (const [layers, field, reason] of cases) {
      const res = await rejected(ctx, { inputSize: 2, layers });
      const body = expectError(res, 400, 'BP_ERR_VALIDATION');
      expect(body.message).toContain(`${field}: ${reason}`);
      expect(body.details).toMatchObject({
        issues: expect.arrayContaining([expect.objectContaining({ path: field })]),
      });
    }
  });

  it('refuses a sigmoid output with 2 units and a softmax output with 1', async () => {
    const sigmoid = await rejected(ctx, {
      inputSize: 2,
      layers: [
        { units: 3, activation: 'tanh' },
        { units: 2, activation: 'sigmoid' },
      ],
    });
    expect(expectError(sigmoid, 400, 'BP_ERR_VALIDATION').message).toContain(
      'body.layers.1.units: a sigmoid output layer has 1 unit',
    );
    const softmax = await rejected(ctx, { inputSize: 2, layers: [{ units: 1, activation: 'softmax' }] });
    expect(expectError(softmax, 400, 'BP_ERR_VALIDATION').message).toContain(
      'body.layers.0.units: a softmax output layer has one unit per class',
    );
  });

  it('refuses units that are 0, negative, not integers or not numbers', async () => {
    // raw JSON texts: 1e309 parses as Infinity
    for (const units of ['0', '-1', '1.5', '"4"', 'null', '1e309']) {
      const raw = JSON.stringify({
        inputSize: 2,
        layers: [
          { units: 'UNITS', activation: 'relu' },
          { units: 1, activation: 'sigmoid' },
        ],
      }).replace('"UNITS"', units);
      const res = await rejected(ctx, raw);
      expect(expectError(res, 400, 'BP_ERR_VALIDATION').message).toContain('body.layers.0.units');
    }
  });

  it('refuses a bad inputSize, no layers, a missing field', async () => {
    const cases: [unknown, string][] = [
      [{ inputSize: 0, layers: [{ units: 1, activation: 'sigmoid' }] }, 'body.inputSize'],
      [{ inputSize: 2.5, layers: [{ units: 1, activation: 'sigmoid' }] }, 'body.inputSize'],
      [{ inputSize: '2', layers: [{ units: 1, activation: 'sigmoid' }] }, 'body.inputSize'],
      [{ layers: [{ units: 1, activation: 'sigmoid' }] }, 'body.inputSize'],
      [{ inputSize: 2, layers: [] }, 'body.layers'],
      [{ inputSize: 2 }, 'body.layers'],
      [{ inputSize: 2, layers: [{ units: 1 }] }, 'body.layers.0.activation'],
      [{ inputSize: 2, layers: [{ units: 1, activation: 'sigmoid' }], init: 'zeros' }, 'body.init'],
      [{ inputSize: 2, layers: [{ units: 1, activation: 'sigmoid' }], name: '' }, 'body.name'],
    ];
    for (const [body, field] of cases) {
      const res = await rejected(ctx, body);
      expect(expectError(res, 400, 'BP_ERR_VALIDATION').message).toContain(field);
    }
  });

  it('refuses unknown fields, at the top and in a layer', async () => {
    const top = await rejected(ctx, {
      inputSize: 2,
      layers: [{ units: 1, activation: 'sigmoid' }],
      dropout: 0.5,
    });
    expect(expectError(top, 400, 'BP_ERR_VALIDATION').message).toContain('dropout');
    const layer = await rejected(ctx, {
      inputSize: 2,
      layers: [{ units: 1, activation: 'sigmoid', bias: false }],
    });
    const body = expectError(layer, 400, 'BP_ERR_VALIDATION');
    expect(body.message).toContain('body.layers.0');
    expect(body.message).toContain('bias');
  });

  it('refuses a slope on anything but leaky_relu, and a slope out of range', async () => {
    const relu = await rejected(ctx, {
      inputSize: 2,
      layers: [
        { units: 2, activation: 'relu', slope: 0.1 },
        { units: 1, activation: 'sigmoid' },
      ],
    });
    expect(expectError(relu, 400, 'BP_ERR_VALIDATION').message).toContain(
      'body.layers.0.slope: slope applies to leaky_relu only',
    );
    const big = await rejected(ctx, {
      inputSize: 2,
      layers: [
        { units: 2, activation: 'leaky_relu', slope: 2 },
        { units: 1, activation: 'sigmoid' },
      ],
    });
    expect(expectError(big, 400, 'BP_ERR_VALIDATION').message).toContain('body.layers.0.slope');
  });

  it('refuses a body that is not JSON or not an object', async () => {
    expectError(await rejected(ctx, '[1,2]'), 400, 'BP_ERR_VALIDATION');
    expect(expectError(await rejected(ctx, '{"inputSize": 2,'), 400, 'BP_ERR_VALIDATION').message).toContain(
      'not valid JSON',
    );
    const form = await postBody(ctx, '/v1/networks', 'application/x-www-form-urlencoded', 'inputSize=2');
    expectError(form, 415, 'BP_ERR_UNSUPPORTED_MEDIA_TYPE');
    const truncated = await postBody(ctx, '/v1/networks', 'application/json', '{"inputSize":1}', {
      'content-length': '100',
    });
    expect(expectError(truncated, 400, 'BP_ERR_VALIDATION').message).toContain('Content-Length');
  });
});

describe('POST /v1/networks: limits', () => {
  const sigmoid = { units: 1, activation: 'sigmoid' };

  it('accepts a network right at the limits', async () => {
    // 3 layers, 8 inputs, at most 10 units: 8·5+5 + 5·5+5 + 1·5+1 = 81 parameters
    const res = await postNetwork(
      {
        inputSize: 8,
        layers: [
          { units: 5, activation: 'tanh' },
          { units: 5, activation: 'tanh' },
          { units: 1, activation: 'sigmoid' },
        ],
      },
      tight,
    );
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().parameterCount).toBe(81);
    const wide = await postNetwork({ inputSize: 1, layers: [{ units: 10, activation: 'softmax' }] }, tight);
    expect(wide.statusCode, wide.body).toBe(201);
  });

  it.each([
    {
      limit: 'LIMIT_LAYERS',
      network: { inputSize: 2, layers: [...Array(3).fill({ units: 2, activation: 'relu' }), sigmoid] },
      actual: 4,
      max: 3,
      named: 'LIMIT_LAYERS',
    },
    {
      limit: 'LIMIT_UNITS_PER_LAYER',
      network: {
        inputSize: 1,
        layers: [
          { units: 2, activation: 'relu' },
          { units: 11, activation: 'softmax' },
        ],
      },
      actual: 11,
      max: 10,
      named: 'layers.1.units',
    },
    {
      limit: 'LIMIT_PARAMETERS', // 8·10+10 + 10·1+1 = 101 > 100
      network: { inputSize: 8, layers: [{ units: 10, activation: 'relu' }, sigmoid] },
      actual: 101,
      max: 100,
      named: 'LIMIT_PARAMETERS',
    },
  ])('$limit: 422 naming $named', async ({ limit, network, actual, max, named }) => {
    const body = expectError(await rejected(tight, network), 422, 'BP_ERR_LIMIT_EXCEEDED');
    expect(body.details).toEqual({ limit, actual, max });
    expect(body.message).toContain(named);
  });

  it('an inputSize above LIMIT_DATASET_COLUMNS', async () => {
    const res = await rejected(tight, { inputSize: 9, layers: [sigmoid] });
    expect(expectError(res, 422, 'BP_ERR_LIMIT_EXCEEDED').details).toMatchObject({
      limit: 'LIMIT_DATASET_COLUMNS',
    });
  });

  it('LIMIT_BODY_BYTES: a body above it is 413 naming the limit', async () => {
    const body = JSON.stringify({
      name: 'n'.repeat(150),
      inputSize: 2,
      layers: [{ units: 1, activation: 'sigmoid' }],
    });
    const padded = `${body.slice(0, -1)}${' '.repeat(401 - body.length)}}`;
    expect(Buffer.byteLength(padded)).toBe(401);
    const res = await rejected(tight, padded);
    const error = expectError(res, 413, 'BP_ERR_PAYLOAD_TOO_LARGE');
    expect(error.details).toEqual({ limit: 'LIMIT_BODY_BYTES', max: 400 });
    expect(error.message).toContain('LIMIT_BODY_BYTES');
    const fits = await postNetwork(padded.replace('  }', ' }'), tight);
    expect(fits.statusCode, fits.body).toBe(201);
  });

  it.each([
    { inputSize: 20_000, units: 20_000, limit: 'LIMIT_PARAMETERS' },
    { inputSize: 2, units: 2 ** 40, limit: 'LIMIT_UNITS_PER_LAYER' },
  ])(
    'huge sizes ($units units) are refused by $limit, not by an overflow',
    async ({ inputSize, units, limit }) => {
      const res = await rejected(ctx, { inputSize, layers: [{ units, activation: 'relu' }, sigmoid] });
      expect(expectError(res, 422, 'BP_ERR_LIMIT_EXCEEDED').details).toMatchObject({ limit });
    },
  );
});

describe('GET /v1/networks', () => {
  let pager: ApiContext;
  beforeAll(async () => {
    pager = await createApiContext();
  });
  afterAll(async () => pager?.close());

  it('lists newest first, page by page, nextCursor null at the end', async () => {
    const ids: string[] = [];
    for (let i = 1; i <= 5; i++) {
      const res = await postNetwork(
        { name: `n${i}`, inputSize: i, layers: [{ units: 1, activation: 'sigmoid' }] },
        pager,
      );
      ids.push(res.json().id);
      // distinct createdAt (millisecond precision), so "newest first" is the creation order
      await new Promise((r) => setTimeout(r, 3));
    }
    const first = (await pager.app.inject({ method: 'GET', url: '/v1/networks?limit=3' })).json();
    expect(first.items.map((n: { id: string }) => n.id)).toEqual([ids[4], ids[3], ids[2]]);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = (
      await pager.app.inject({ method: 'GET', url: `/v1/networks?limit=3&cursor=${first.nextCursor}` })
    ).json();
    expect(second.items.map((n: { id: string }) => n.id)).toEqual([ids[1], ids[0]]);
    expect(second.nextCursor).toBeNull();
    expect(second.items[1]).toMatchObject({ name: 'n1', inputSize: 1, parameterCount: 2, init: 'random' });
    const exact = (await pager.app.inject({ method: 'GET', url: '/v1/networks?limit=5' })).json();
    expect(exact.items).toHaveLength(5);
    expect(exact.nextCursor).toBeNull();
  });

  it('400 for a bad limit or cursor', async () => {
    expectError(
      await pager.app.inject({ method: 'GET', url: '/v1/networks?limit=0' }),
      400,
      'BP_ERR_VALIDATION',
    );
    expectError(
      await pager.app.inject({ method: 'GET', url: '/v1/networks?cursor=xyz' }),
      400,
      'BP_ERR_VALIDATION',
    );
  });

  it('GET /v1/networks/:id: 404 for an unknown id, 400 for a malformed one', async () => {
    const unknown = await ctx.app.inject({ method: 'GET', url: `/v1/networks/${UNKNOWN_ID}` });
    expect(expectError(unknown, 404, 'BP_ERR_NETWORK_NOT_FOUND').message).toContain(UNKNOWN_ID);
    const bad = await ctx.app.inject({ method: 'GET', url: '/v1/networks/123' });
    expect(expectError(bad, 400, 'BP_ERR_VALIDATION').message).toContain('params.id');
  });
});
