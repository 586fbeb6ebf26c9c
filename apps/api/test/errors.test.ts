/**
 * Error and log hygiene (issue 7): every refusal, the ones Node and Fastify make before a route
 * runs included, is in the error catalog's shape; `details` has one documented schema; and
 * credentials never reach the log, checked on the real pino output.
 */
import net, { type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { ERRORS, ErrorBody } from '@backprop/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext } from '../../../harness/api-context.ts';
import { expectError, postBody } from './support.ts';

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** An HTTP answer as it came over the socket: the status line, the headers, the body. */
function parseAnswer(received: string): RawResponse {
  const [head = '', ...rest] = received.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(
    lines.map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
    }),
  );
  return { status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') };
}

/** Sends `request` bytes on a fresh socket and reads the answer until the server closes or ends it. */
function raw(port: number, request: string | Buffer, { settleMs = 0 } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    const finish = () => resolve(parseAnswer(received));
    socket.on('connect', () => {
      if (settleMs === 0) socket.write(request);
      else setTimeout(() => socket.write(request), settleMs);
    });
    socket.on('data', (d) => {
      received += d.toString('latin1');
      // A keep-alive answer does not close the socket: stop once its body is complete.
      const length = /content-length: *(\d+)/i.exec(received);
      const bodyStart = received.indexOf('\r\n\r\n');
      if (length && bodyStart !== -1 && received.length - bodyStart - 4 >= Number(length[1])) {
        socket.end();
      }
    });
    socket.on('error', (err) => (received ? finish() : reject(err)));
    socket.on('close', finish);
    socket.setTimeout(15_000, () => socket.destroy(new Error('no answer within 15 s')));
  });
}

/** The answer is a JSON error body in the catalog's shape, with this status and code. */
function expectCatalogError(res: RawResponse, status: number, code: string, context: string) {
  const where = `${context}: ${res.status} ${JSON.stringify(res.headers)} ${res.body.slice(0, 300)}`;
  expect(res.status, where).toBe(status);
  expect(res.headers['content-type'], where).toMatch(/^application\/json/);
  const parsed = ErrorBody.safeParse(JSON.parse(res.body));
  expect(parsed.success, `${where} ${parsed.error?.message}`).toBe(true);
  const body = parsed.data!;
  expect(body.statusCode, where).toBe(status);
  expect(body.code, where).toBe(code);
  expect(ERRORS[code as keyof typeof ERRORS]?.statusCode, where).toBe(status);
  return body;
}

describe('refusals made before any route runs are in the catalog shape', () => {
  let ctx: ApiContext;
  let port: number;
  beforeAll(async () => {
    ctx = await createApiContext({
      REQUEST_TIMEOUT_MS: '1500',
      LIMIT_BODY_BYTES: '1000',
      LIMIT_HEADER_BYTES: '4096',
    });
    await ctx.app.listen({ host: '127.0.0.1', port: 0 });
    port = (ctx.app.server.address() as AddressInfo).port;
  });
  afterAll(async () => ctx?.close());

  it('431: headers larger than LIMIT_HEADER_BYTES, named in the error', async () => {
    const fits = await raw(
      port,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: ${'a'.repeat(3000)}\r\n\r\n`,
    );
    expect(fits.status).toBe(200);
    const res = await raw(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(5000)}\r\n\r\n`);
    const body = expectCatalogError(res, 431, 'BP_ERR_HEADERS_TOO_LARGE', 'big header');
    expect(body.details).toEqual({ limit: 'LIMIT_HEADER_BYTES', max: 4096 });
  });

  it('431: a URL longer than the header limit (Node answers it as headers too large, not 414)', async () => {
    const res = await raw(port, `GET /v1/datasets?cursor=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expectCatalogError(res, 431, 'BP_ERR_HEADERS_TOO_LARGE', 'long URL');
  });

  it('400: bytes that are not HTTP', async () => {
    const garbage = await raw(port, 'HELLO THERE\r\n\r\n');
    expectCatalogError(garbage, 400, 'BP_ERR_VALIDATION', 'not HTTP');
    const badHeader = await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n');
    expectCatalogError(badHeader, 400, 'BP_ERR_VALIDATION', 'header without a colon');
  });

  it('408: a request that does not arrive within REQUEST_TIMEOUT_MS', async () => {
    // The headers never end: the server's timeout answers.
    const res = await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n');
    expectCatalogError(res, 408, 'BP_ERR_REQUEST_TIMEOUT', 'slow headers');
  });

  it('404 of an unknown route, and of a method no route takes', async () => {
    expectCatalogError(
      await raw(port, 'GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      404,
      'BP_ERR_NOT_FOUND',
      'unknown route',
    );
    expectCatalogError(
      await raw(port, 'PATCH /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      404,
      'BP_ERR_NOT_FOUND',
      'PATCH',
    );
    expectCatalogError(
      await raw(port, 'PROPFIND /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      404,
      'BP_ERR_NOT_FOUND',
      'PROPFIND',
    );
  });

  it('413, 415 and malformed JSON from the body parsers', async () => {
    const big = await postBody(ctx, '/v1/networks', 'application/json', `{"name":"${'a'.repeat(2000)}"}`);
    expectError(big, 413, 'BP_ERR_PAYLOAD_TOO_LARGE');
    const xml = await postBody(ctx, '/v1/networks', 'application/xml', '<a/>');
    expectError(xml, 415, 'BP_ERR_UNSUPPORTED_MEDIA_TYPE');
    const malformed = await postBody(ctx, '/v1/networks', 'application/json', '{"name":');
    expectError(malformed, 400, 'BP_ERR_VALIDATION');
  });
});

describe('503 while the server closes', () => {
  it('a request that arrives during shutdown gets 503 in the catalog shape', async () => {
    const ctx = await createApiContext();
    try {
      await ctx.app.listen({ host: '127.0.0.1', port: 0 });
      const port = (ctx.app.server.address() as AddressInfo).port;
      // A request whose headers have begun: the connection is not idle, so closing waits for it.
      const socket = net.connect(port, '127.0.0.1');
      await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
      const answer = new Promise<string>((resolve) => {
        let text = '';
        socket.on('data', (d) => {
          text += d.toString('latin1');
        });
        socket.on('error', () => undefined);
        socket.on('close', () => resolve(text));
      });
      const closing = ctx.app.close();
      await new Promise((r) => setTimeout(r, 100));
      socket.write('\r\n');
      const received = await answer;
      await closing;
      expectCatalogError(parseAnswer(received), 503, 'BP_ERR_UNAVAILABLE', 'closing');
    } finally {
      await ctx.close().catch(() => undefined);
    }
  });
});

describe('error details', () => {
  let ctx: ApiContext;
  beforeAll(async () => {
    ctx = await createApiContext({ LIMIT_LAYERS: '2' });
  });
  afterAll(async () => ctx?.close());

  it('an unknown hidden activation does not offer the output-only ones as if a hidden layer took them', async () => {
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/v1/networks',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({
        inputSize: 2,
        layers: [
          { units: 3, activation: 'swish' },
          { units: 1, activation: 'sigmoid' },
        ],
      }),
    });
    const body = expectError(res, 400, 'BP_ERR_VALIDATION');
    expect(body.message).toContain('body.layers.0.activation');
    expect(body.message).not.toMatch(/one of[^;]*softmax/);
    expect(body.message).toContain('the output layer takes sigmoid, softmax, linear');
    expect(body.message).toContain('hidden layers take sigmoid, tanh, relu, leaky_relu;');
  });

  it('every details shape the API answers with is one of the documented ones (ErrorBody in contracts)', async () => {
    const json = (method: 'POST' | 'GET' | 'DELETE', url: string, payload?: unknown) =>
      ctx.app.inject({
        method,
        url,
        ...(payload === undefined
          ? {}
          : { headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) }),
      });
    const csv = (text: string) =>
      ctx.app.inject({
        method: 'POST',
        url: '/v1/datasets',
        headers: { 'content-type': 'text/csv' },
        payload: text,
      });
    const answers = [
      await json('POST', '/v1/networks', { inputSize: 'x', layers: [] }), // issues
      await json('POST', '/v1/datasets', { features: [[1], [2]], labels: [1] }), // field
      await csv('label,x1\n0,1\n1,abc\n'), // line and column
      await json('POST', '/v1/networks', {
        inputSize: 1,
        layers: [
          { units: 1, activation: 'tanh' },
          { units: 1, activation: 'tanh' },
          { units: 1, activation: 'sigmoid' },
        ],
      }), // limit
      await json('GET', '/v1/networks/00000000-0000-4000-8000-000000000000'), // none
    ];
    const shapes = new Set<string>();
    for (const res of answers) {
      expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400);
      const parsed = ErrorBody.safeParse(res.json());
      expect(parsed.success, `${res.body} ${parsed.error?.message}`).toBe(true);
      shapes.add(
        Object.keys(res.json().details ?? {})
          .sort()
          .join(','),
      );
    }
    expect(shapes.size).toBe(answers.length);
    // And the schema refuses what is not one of them.
    const stray = { statusCode: 400, code: 'BP_ERR_VALIDATION', error: 'Bad Request', message: 'm' };
    expect(ErrorBody.safeParse({ ...stray, details: { whatever: 1 } }).success).toBe(false);
    expect(ErrorBody.safeParse({ ...stray, details: { field: 'a' } }).success).toBe(true);
  });

  it('the OpenAPI document describes details as the union of its shapes', async () => {
    const doc = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const error = doc.components.schemas.Error;
    expect(
      error.properties.details.anyOf ?? error.properties.details.oneOf,
      JSON.stringify(error),
    ).toBeDefined();
  });
});

describe('credentials never reach the log', () => {
  const lines: string[] = [];
  let ctx: ApiContext;
  let port: number;
  const SECRET = 'bp_ThisIsNotARealKeyButLooksLikeOne0123456789ab';

  beforeAll(async () => {
    const stream = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        callback();
      },
    });
    ctx = await createApiContext({ LOG_LEVEL: 'trace' }, { logStream: stream });
    await ctx.app.listen({ host: '127.0.0.1', port: 0 });
    port = (ctx.app.server.address() as AddressInfo).port;
  });
  afterAll(async () => ctx?.close());

  it('query parameters that may carry a key, bp_ tokens anywhere, Authorization and Cookie are redacted', async () => {
    const urls = [
      `/v1/datasets?api_key=${SECRET}`,
      `/v1/datasets?key=s3cr3t-one&limit=5`,
      `/v1/datasets?token=s3cr3t-two`,
      `/v1/datasets?access_token=s3cr3t-three`,
      `/v1/datasets?apikey=s3cr3t-four`,
      `/v1/datasets?cursor=${SECRET}`,
      `/v1/${SECRET}/datasets`,
      `/v1/datasets?x=${encodeURIComponent(SECRET)}`,
      `/v1/datasets?x=bp%5F${SECRET.slice(3)}`,
    ];
    for (const url of urls) {
      await ctx.anonymous({
        method: 'GET',
        url,
        headers: { authorization: `Bearer ${SECRET}`, cookie: `session=${SECRET}` },
      });
    }
    // A request Node refuses (431): its raw bytes hold the Authorization header.
    await raw(
      port,
      `GET /v1/datasets?token=s3cr3t-five HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${SECRET}\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    await new Promise((r) => setTimeout(r, 200));
    const log = lines.join('\n');
    expect(lines.length).toBeGreaterThan(urls.length);
    for (const secret of [
      SECRET.slice(3),
      's3cr3t-one',
      's3cr3t-two',
      's3cr3t-three',
      's3cr3t-four',
      's3cr3t-five',
    ]) {
      expect(log, secret).not.toContain(secret);
    }
    // The rest of the URL is still there to read.
    const urlsLogged = lines
      .map((l) => JSON.parse(l))
      .flatMap((entry) => (entry.req?.url ? [entry.req.url] : []));
    expect(urlsLogged).toContain('/v1/datasets?key=[REDACTED]&limit=5');
    expect(urlsLogged).toContain('/v1/datasets?cursor=[REDACTED]');
  });
});
