/**
 * RELIABILITY.md scenario 21, input fuzzing of every route. Requests are generated from the
 * OpenAPI document the API serves (/openapi.json: the zod contracts as JSON Schema), so a new
 * route or field is fuzzed without touching this file. Each part of a request (path id, query,
 * headers, body) is mostly valid for its schema, with invalid values mixed in at every level:
 * wrong types, boundary and non-finite numbers written as JSON literals (1e999, -0, 1e-999),
 * huge and empty arrays, deep nesting, odd unicode, unknown and missing fields, wrong content
 * types, bad keys. What must hold: never a 5xx; every 4xx in the error shape; a refused request
 * changes no row and no queue entry; the process stays up and its memory bounded. Fixed seed,
 * bounded runs.
 */
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext, XOR_DATASET } from '../../../harness/api-context.ts';
import { completeByHand } from './by-hand.ts';
import { expectErrorShape, fingerprint } from './support.ts';

const SEED = 1126;
const RUNS_PER_OPERATION = 80;

let ctx: ApiContext;
let other: { apiKey: string };
let doc: OpenApi;
let ids: Record<'dataset' | 'network' | 'job' | 'model' | 'evaluation' | 'foreign', string[]>;

interface JsonSchema {
  $ref?: string;
  title?: string;
  type?: string | string[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
}
interface Parameter {
  in: 'path' | 'query' | 'header';
  name: string;
  required?: boolean;
  schema: JsonSchema;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, { content?: Record<string, unknown> }>;
}
interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, JsonSchema> };
}

beforeAll(async () => {
  ctx = await createApiContext({ RATE_LIMIT_MAX: '1000000' });
  other = await ctx.createTenantKey('fuzz-other');
  doc = (await ctx.anonymous({ method: 'GET', url: '/openapi.json' })).json();
  // A few real rows, own and another tenant's, so that generated ids reach past the 404s.
  const post = async (url: string, payload: object, apiKey = ctx.apiKey) => {
    const res = await ctx.anonymous({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${apiKey}` },
      payload,
    });
    expect(res.statusCode, res.body).toBeLessThan(300);
    return res.json().id as string;
  };
  const layers = [
    { units: 2, activation: 'tanh' },
    { units: 1, activation: 'sigmoid' },
  ];
  const dataset = await post('/v1/datasets', XOR_DATASET);
  const network = await post('/v1/networks', { inputSize: 2, layers });
  const jobPayload = {
    datasetId: dataset,
    networkId: network,
    training: { learningRate: 0.1, iterations: 2 },
  };
  const job = await post('/v1/jobs', jobPayload);
  const done = await post('/v1/jobs', jobPayload);
  const model = await completeByHand(ctx.database.db, done, { inputSize: 2, layers, parameters: 0.3 });
  const foreign = await post('/v1/networks', { inputSize: 2, layers }, other.apiKey);
  const evaluation = await post(`/v1/models/${model}/evaluations`, { datasetId: dataset });
  ids = {
    dataset: [dataset],
    network: [network],
    job: [job, done],
    model: [model],
    evaluation: [evaluation],
    foreign: [foreign],
  };
});
afterAll(async () => ctx?.close());

// ---- JSON text with literals JSON.stringify cannot write ------------------------------------

/** A JSON fragment written as is: 1e999 (parses to Infinity), -0, huge nesting, ... */
class Raw {
  constructor(readonly text: string) {}
}

function toJson(value: unknown): string {
  if (value instanceof Raw) return value.text;
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(toJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

// ---- invalid and boundary values ---------------------------------------------------------------

const nastyNumber = fc.constantFrom<unknown>(
  0,
  -0,
  -1,
  0.5,
  1e308,
  -1e308,
  5e-324,
  2 ** 53 + 2,
  -(2 ** 31),
  new Raw('1e999'),
  new Raw('-1e999'),
  new Raw('1e-999'),
  new Raw('123456789012345678901234567890'),
  new Raw('0.1e1'),
);
const nastyString = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }), // lone surrogates included
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\ufeff',
    '__proto__',
    'constructor',
    '../../etc/passwd',
    `'; DROP TABLE "Dataset"; --`,
    ['$', '{jndi:ldap://x}'].join(''), // a log4shell probe, kept out of template syntax
    'NaN',
    'Infinity',
    '1e999',
    '𝕏'.repeat(201),
    'a'.repeat(5000),
  ),
);
/** Deep nesting and huge arrays, as text (cheap to generate, and no recursion on our side). */
const nastyShape = fc.oneof(
  fc.integer({ min: 1, max: 5000 }).map((d) => new Raw(`${'['.repeat(d)}1${']'.repeat(d)}`)),
  fc.integer({ min: 1, max: 2000 }).map((d) => new Raw(`${'{"a":'.repeat(d)}1${'}'.repeat(d)}`)),
  fc.integer({ min: 1000, max: 100_000 }).map((n) => new Raw(`[${'1,'.repeat(n)}1]`)),
  fc.integer({ min: 1000, max: 50_000 }).map((n) => new Raw(`[${'[true],'.repeat(n)}[]]`)),
  fc.constant([]),
  fc.constant({}),
);
const nasty: fc.Arbitrary<unknown> = fc.oneof(
  nastyNumber,
  nastyString,
  nastyShape,
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }),
);

/** `arbitrary` once in `n` draws, null otherwise. */
function rarely<T>(arbitrary: fc.Arbitrary<T>, n: number): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: n - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary });
}

// ---- values from a JSON schema ---------------------------------------------------------------

function resolve(schema: JsonSchema): JsonSchema {
  if (!schema.$ref) return schema;
  const name = schema.$ref.replace('#/components/schemas/', '');
  return resolve(doc.components.schemas[name]!);
}

/**
 * An id: mostly one of the rows the hint names (a field name like datasetId, or the kind of a
 * path), sometimes a row of another kind or tenant, or an id that never existed.
 */
/** One of the ids, or any uuid once the deletes have emptied the pool. */
function fromPool(pool: readonly string[]): fc.Arbitrary<string> {
  return pool.length > 0 ? fc.constantFrom(...pool) : fc.uuid();
}

function idArbitrary(hint = ''): fc.Arbitrary<unknown> {
  const kind = (['dataset', 'network', 'job', 'model'] as const).find((k) => hint.startsWith(k));
  const all = [...ids.dataset, ...ids.network, ...ids.job, ...ids.model];
  return fc.oneof(
    { weight: 6, arbitrary: fromPool(kind ? ids[kind] : all) },
    { weight: 1, arbitrary: fromPool([...all, ...ids.foreign]) },
    { weight: 1, arbitrary: fc.uuid() },
  );
}

/** Mostly valid for `schema`, sometimes (and at any depth) something else. */
function value(schema: JsonSchema, depth: number, hint = ''): fc.Arbitrary<unknown> {
  const good = valid(resolve(schema), depth, hint);
  return depth > 5 ? good : fc.oneof({ weight: 24, arbitrary: good }, { weight: 1, arbitrary: nasty });
}

function valid(schema: JsonSchema, depth: number, hint: string): fc.Arbitrary<unknown> {
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((s) => value(s, depth + 1, hint)));
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.const !== undefined) return fc.constant(schema.const);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string': {
      if (schema.format === 'uuid') return idArbitrary(hint);
      if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern));
      const min = schema.minLength ?? 0;
      return fc.oneof(
        fc.string({ minLength: min, maxLength: Math.max(min, Math.min(schema.maxLength ?? 20, 20)) }),
        fc.constantFrom(
          ...[min, schema.maxLength, (schema.maxLength ?? 0) + 1]
            .filter((n) => n !== undefined)
            .map((n) => 'x'.repeat(n!)),
        ),
      );
    }
    case 'integer':
    case 'number': {
      const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum : -1e6);
      const max = schema.maximum ?? 1e6;
      const small =
        type === 'integer'
          ? fc.integer({ min: Math.max(min, -1e6), max: Math.min(max, Math.max(min, -1e6) + 50) })
          : fc.double({
              min: Math.max(min, -1e3),
              max: Math.min(max, 1e3),
              noNaN: true,
              noDefaultInfinity: true,
            });
      const bounds = [min, max, min - 1, max + 1, schema.exclusiveMinimum].filter(
        (n): n is number => n !== undefined,
      );
      return fc.oneof({ weight: 9, arbitrary: small }, { weight: 1, arbitrary: fc.constantFrom(...bounds) });
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const min = schema.minItems ?? 0;
      const item = schema.items ? value(schema.items, depth + 1, hint) : fc.jsonValue({ maxDepth: 1 });
      return fc.array(item, { minLength: min, maxLength: Math.max(min, Math.min(schema.maxItems ?? 4, 4)) });
    }
    case 'object': {
      const properties = schema.properties ?? {};
      const required = new Set(schema.required ?? []);
      const record = fc.record(
        Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, value(s, depth + 1, k)])),
        { requiredKeys: [...required] },
      );
      const extra = schema.additionalProperties;
      const dictionary =
        typeof extra === 'object'
          ? fc.dictionary(
              schema.propertyNames?.pattern
                ? fc.oneof(
                    { weight: 5, arbitrary: fc.stringMatching(new RegExp(schema.propertyNames.pattern)) },
                    { weight: 1, arbitrary: nastyString },
                  )
                : fc.string(),
              value(extra, depth + 1, hint),
              { maxKeys: 4 },
            )
          : fc.constant({});
      // Now and then an unknown key, or a required key left out.
      return fc
        .tuple(
          record,
          dictionary,
          rarely(fc.tuple(nastyString, nasty), 12),
          rarely(fc.constantFrom(...required, ''), 12),
        )
        .map(([known, more, unknown, drop]) => {
          const out: Record<string, unknown> = { ...more, ...(known as object) };
          if (unknown)
            Object.defineProperty(out, unknown[0], {
              value: unknown[1],
              enumerable: true,
              configurable: true,
              writable: true,
            });
          if (drop) delete out[drop];
          return out;
        });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/**
 * Valid bodies to start from, by schema: the schemas cannot say that rows have one length or that
 * there is one label per row, so generated bodies are almost never accepted. These are, and
 * bodyValue also swaps one of their fields for a bad value.
 */
function corpus(schema: JsonSchema): fc.Arbitrary<Record<string, unknown>> | null {
  // Request bodies are inline in the document, named by their title.
  const name = schema.title ?? schema.$ref?.replace('#/components/schemas/', '');
  const id = (kind: 'dataset' | 'network') => fromPool(ids[kind]);
  switch (name) {
    case 'CreateDatasetJson':
      return fc
        .tuple(
          fc.constantFrom(
            [
              [0, 1],
              [1, 0],
              [1, 1],
            ],
            [[-0.5], [2], [1e6]],
          ),
          fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: undefined }),
        )
        .map(([features, name]) => ({
          features,
          labels: features.map((_, i) => (i % 2 === 0 ? 'yes' : 'no')),
          ...(name === undefined ? {} : { name }),
        }));
    case 'CreateNetwork':
      return fc.record({
        inputSize: fc.integer({ min: 1, max: 4 }),
        layers: fc.constantFrom<unknown[]>(
          [{ units: 1, activation: 'sigmoid' }],
          [
            { units: 3, activation: 'leaky_relu', slope: 0.2 },
            { units: 2, activation: 'softmax' },
          ],
          [
            { units: 2, activation: 'tanh' },
            { units: 1, activation: 'linear' },
          ],
        ),
      });
    case 'CreateJob':
      return fc
        .record({
          // the first dataset and network (made for each other) or any pair
          refs: fc.oneof(
            fc.constant([ids.dataset[0], ids.network[0]]),
            fc.tuple(id('dataset'), id('network')),
          ),
          training: fc.constantFrom<Record<string, unknown>>(
            { learningRate: 0.1, iterations: 2 },
            { learningRate: 0.01, epochs: 1, batchSize: 2, optimizer: 'adam', normalize: 'minmax' },
            {
              learningRate: 1,
              iterations: 3,
              initialParameters: {
                W1: [
                  [0, 0],
                  [0, 0],
                ],
                b1: [[0], [0]],
                W2: [[1, 1]],
                b2: [[0]],
              },
            },
          ),
        })
        .map(({ refs: [datasetId, networkId], training }) => ({ datasetId, networkId, training }));
    case 'PredictRequest': {
      const x = fc.double({ min: -10, max: 10, noNaN: true });
      return fc.record({ samples: fc.array(fc.tuple(x, x), { minLength: 1, maxLength: 3 }) });
    }
    default:
      return null;
  }
}

/** A request body: from the corpus, a corpus body with one field made bad, or generated. */
function bodyValue(schema: JsonSchema): fc.Arbitrary<unknown> {
  const seeds = corpus(schema);
  const generated = value(schema, 0);
  if (!seeds) return generated;
  const mutated = fc.tuple(seeds, fc.nat(), nasty).map(([body, n, bad]) => {
    const keys = Object.keys(body);
    return { ...body, [keys[n % keys.length]!]: bad };
  });
  return fc.oneof(
    { weight: 3, arbitrary: seeds },
    { weight: 1, arbitrary: mutated },
    { weight: 2, arbitrary: generated },
  );
}

// ---- whole requests --------------------------------------------------------------------------

interface Request {
  method: string;
  remoteAddress: string;
  url: string;
  headers: Record<string, string>;
  payload?: string;
}

const csvText = fc.oneof(
  // valid: a label column and numeric features
  fc
    .array(
      fc.tuple(
        fc.constantFrom('0', '1'),
        fc.integer({ min: -9, max: 9 }),
        fc.double({ min: -1, max: 1, noNaN: true }),
      ),
      {
        minLength: 1,
        maxLength: 5,
      },
    )
    .map((rows) => ['label,a,b', ...rows.map((r) => r.join(','))].join('\n')),
  fc
    .tuple(
      fc.array(fc.oneof(fc.constantFrom('label', 'a', 'b', ''), nastyString), { minLength: 0, maxLength: 4 }),
      fc.array(
        fc.array(
          fc.oneof(
            fc.integer({ min: -5, max: 5 }).map(String),
            fc.constantFrom('NaN', '1e999', '-0', '', '"a""b"', '"x', 'x'),
            nastyString,
          ),
          { maxLength: 4 },
        ),
        { maxLength: 6 },
      ),
      fc.constantFrom('\n', '\r\n', '\r'),
    )
    .map(([header, rows, eol]) => [header.join(','), ...rows.map((r) => r.join(','))].join(eol)),
);

function requestArbitrary(method: string, path: string, op: Operation): fc.Arbitrary<Request> {
  const params = op.parameters ?? [];
  const pathArb = path.includes('{id}')
    ? fc
        .oneof(
          { weight: 6, arbitrary: idArbitrary(path.split('/')[2]) },
          { weight: 1, arbitrary: nastyString.filter((s) => s.length > 0) },
        )
        .map((id) => path.replace('{id}', encodeURIComponent(String(id))))
    : fc.constant(path);
  const query = fc
    .tuple(
      // Each parameter of the route in one request of three (a random cursor is always a 400).
      fc.record(
        Object.fromEntries(
          params.filter((p) => p.in === 'query').map((p) => [p.name, rarely(value(p.schema, 3, p.name), 3)]),
        ),
      ),
      rarely(fc.tuple(fc.constantFrom('status', 'tenantId', 'limit', 'x', '__proto__'), nastyString), 8),
    )
    .map(([known, unknown]) => {
      const search = new URLSearchParams();
      for (const [k, v] of Object.entries(known)) {
        if (v !== null) search.append(k, typeof v === 'string' ? v : toJson(v));
      }
      if (unknown) search.append(unknown[0], unknown[1]);
      const text = search.toString();
      return text ? `?${text}` : '';
    });
  const idempotency = params.find((p) => p.in === 'header' && p.name === 'idempotency-key');
  const headers = fc.record({
    authorization: fc.oneof(
      { weight: 12, arbitrary: fc.constant(`Bearer ${ctx.apiKey}`) },
      { weight: 1, arbitrary: fc.constant(`Bearer ${other.apiKey}`) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          '',
          'Bearer',
          'Basic x',
          `bearer ${ctx.apiKey}`,
          `Bearer ${ctx.apiKey}\u0000`,
        ),
      },
    ),
    idempotency: idempotency
      ? rarely(fc.oneof(fc.string({ minLength: 1, maxLength: 30 }), fc.constant('k'.repeat(201))), 2)
      : fc.constant(null),
    // Many client addresses: the per-address limit on failed authentication is not what this tests.
    remoteAddress: fc.oneof(fc.ipV4(), fc.ipV6()),
  });
  const content = op.requestBody?.content ?? {};
  const types = Object.keys(content);
  const body: fc.Arbitrary<{ type: string | null; payload?: string }> =
    types.length === 0
      ? fc.oneof(
          { weight: 8, arbitrary: fc.constant({ type: null }) },
          {
            weight: 1,
            arbitrary: fc.jsonValue().map((v) => ({ type: 'application/json', payload: JSON.stringify(v) })),
          },
        )
      : fc.oneof(
          ...types.map((type) => ({
            weight: 8,
            arbitrary: (type === 'text/csv' ? csvText : bodyValue(content[type]!.schema).map(toJson)).map(
              (payload) => ({ type, payload }),
            ),
          })),
          {
            weight: 2,
            arbitrary: fc
              .tuple(
                fc.constantFrom(
                  'text/plain',
                  'application/xml',
                  'multipart/form-data; boundary=x',
                  'application/json; charset=utf-16',
                  'application/x-www-form-urlencoded',
                  'application/json',
                  'text/csv',
                ),
                fc.oneof(
                  fc.jsonValue().map((v) => JSON.stringify(v)),
                  nastyString,
                  fc.constantFrom(
                    '',
                    '{',
                    '{"a":',
                    'NaN',
                    '[1e999]',
                    '\ufeff{}',
                    'null',
                    '{"__proto__":{"x":1}}',
                  ),
                ),
              )
              .map(([type, payload]) => ({ type, payload })),
          },
          { weight: 1, arbitrary: fc.constant({ type: null }) },
        );
  // A second path id (an evaluation's): mostly one that exists.
  const fullPathArb = path.includes('{evaluationId}')
    ? fc
        .tuple(
          pathArb,
          fc.oneof(
            { weight: 6, arbitrary: fc.constantFrom(...ids.evaluation) },
            { weight: 1, arbitrary: fc.uuid() },
          ),
        )
        .map(([p, evaluationId]) => p.replace('{evaluationId}', evaluationId))
    : pathArb;
  return fc.tuple(fullPathArb, query, headers, body).map(([url, search, h, b]) => {
    const out: Request = { method, url: `${url}${search}`, headers: {}, remoteAddress: h.remoteAddress };
    if (h.authorization) out.headers['authorization'] = h.authorization;
    if (h.idempotency) out.headers['idempotency-key'] = h.idempotency;
    if (b.type !== null) {
      out.headers['content-type'] = b.type;
      out.payload = b.payload ?? '';
    }
    return out;
  });
}

describe('fuzzing every route from its OpenAPI schemas', () => {
  it('the document lists the operations this file fuzzes, with their schemas', () => {
    const operations = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m} ${p}`),
    );
    expect(operations.filter((o) => o.includes(' /v1/')).length).toBeGreaterThanOrEqual(16);
    expect(doc.paths['/v1/jobs']!['post']!.requestBody!.content['application/json']).toBeDefined();
    // Bodies that may be left out are documented as such.
    expect(doc.paths['/v1/jobs/{id}/cancel']!['post']!.requestBody!.required).toBe(false);
    expect(doc.paths['/v1/jobs']!['post']!.requestBody!.required).toBe(true);
  });

  it(`never a 5xx; refusals in the error shape with nothing changed (${RUNS_PER_OPERATION} requests per operation)`, async () => {
    const statuses = new Map<string, Map<number, number>>();
    const rssStart = process.memoryUsage().rss;
    let rssPeak = rssStart;
    // Deletes last, so that the reads and writes before them find the rows they would remove
    // (and a job delete finds cancelled jobs to succeed on).
    // An event stream (text/event-stream) stays open until its job ends, and an injected request
    // waits for the end: its refusals are tested in events.test.ts instead.
    const streams = (op: Operation) =>
      Object.keys(op.responses['200']?.content ?? {}).includes('text/event-stream');
    const operations = Object.entries(doc.paths)
      .filter(([p]) => p.startsWith('/v1/'))
      .flatMap(([p, ops]) => Object.entries(ops).map(([m, op]) => [m.toUpperCase(), p, op] as const))
      .filter(([, , op]) => !streams(op))
      .sort(([a], [b]) => Number(a === 'DELETE') - Number(b === 'DELETE'));
    for (const [method, path, op] of operations) {
      const name = `${method} ${path}`;
      const seen = new Map<number, number>();
      statuses.set(name, seen);
      await fc.assert(
        fc.asyncProperty(requestArbitrary(method, path, op), async (request) => {
          const before = await fingerprint(ctx.database.db, ctx.app);
          const res: LightMyRequestResponse = await ctx.anonymous({
            method: request.method as 'GET',
            url: request.url,
            headers: request.headers,
            remoteAddress: request.remoteAddress,
            ...(request.payload === undefined ? {} : { payload: request.payload }),
          });
          seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1);
          // Rows created along the way join the pools the next operations draw ids from.
          if ((res.statusCode === 201 || res.statusCode === 202) && request.method === 'POST') {
            const kind = path.endsWith('/evaluations')
              ? 'evaluation'
              : (path.split('/')[2]!.replace(/s$/, '') as 'dataset' | 'network' | 'job');
            ids[kind].push(res.json().id);
          }
          if (res.statusCode === 204 && path.includes('{evaluationId}')) {
            const gone = decodeURIComponent(request.url.split('/')[5]!.split('?')[0]!);
            ids.evaluation = ids.evaluation.filter((id) => id !== gone);
          } else if (res.statusCode === 204) {
            const kind = path.split('/')[2]!.replace(/s$/, '') as 'dataset' | 'network' | 'job' | 'model';
            const gone = decodeURIComponent(request.url.split('/')[3]!.split('?')[0]!);
            ids[kind] = ids[kind].filter((id) => id !== gone);
          }
          const where = `${request.method} ${request.url.slice(0, 200)} ${JSON.stringify(request.headers).slice(0, 200)} ${(request.payload ?? '').slice(0, 300)}`;
          expect(res.statusCode, `${where} → ${res.body.slice(0, 500)}`).toBeLessThan(500);
          if (res.statusCode >= 400) {
            expectErrorShape(res, where);
            expect(await fingerprint(ctx.database.db, ctx.app), where).toEqual(before);
          } else if (res.statusCode !== 204) {
            expect(Object.keys(op.responses), where).toContain(String(res.statusCode));
            // A documented media type (JSON, or an event stream or export file where documented)
            const mediaType = String(res.headers['content-type'] ?? '').split(';')[0]!;
            const documented = Object.keys(op.responses[String(res.statusCode)]?.content ?? {});
            expect(documented, where).toContain(mediaType);
            if (mediaType === 'application/json') expect(() => res.json(), where).not.toThrow();
          }
          rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
        }),
        { seed: SEED, numRuns: RUNS_PER_OPERATION, endOnFailure: true },
      );
    }
    const summary = Object.fromEntries([...statuses].map(([k, v]) => [k, Object.fromEntries(v)]));
    // Not vacuous: most operations saw both successes and refusals.
    const refusedOnly = [...statuses]
      .filter(([, s]) => !([...s.keys()].some((c) => c < 300) && [...s.keys()].some((c) => c >= 400)))
      .map(([name]) => name);
    // Known gap: the generators do not yet make valid registry names, aliases, webhook ids or
    // evaluation deletes, so these see refusals only (their successes are in their own tests).
    // Any other operation must see both; a new route the generators cannot reach fails here.
    const notYetGenerated = new Set([
      'GET /v1/registry/{name}',
      'PUT /v1/registry/{name}/aliases/{alias}',
      'POST /v1/registry/{name}/aliases/{alias}/predictions',
      'DELETE /v1/registry/{name}/aliases/{alias}',
      'POST /v1/webhooks',
      'GET /v1/webhooks/{id}',
      'GET /v1/webhooks/{id}/deliveries',
      'DELETE /v1/webhooks/{id}',
      'DELETE /v1/models/{id}/evaluations/{evaluationId}',
    ]);
    expect(
      refusedOnly.filter((name) => !notYetGenerated.has(name)),
      JSON.stringify(summary),
    ).toHaveLength(0);
    expect((rssPeak - rssStart) / 1024 / 1024, 'RSS growth in MB').toBeLessThan(300);
    // The API still answers normally afterwards.
    expect((await ctx.app.inject({ method: 'GET', url: '/v1/usage' })).statusCode).toBe(200);
    // 80 requests for each of 40-odd operations, each with two database fingerprints: minutes on a
    // loaded machine, and the count grows with the API.
  }, 900_000);
});
