/**
 * RELIABILITY.md scenario 20, authentication and rate limits: every /v1 route refuses a missing,
 * malformed or unknown key; requests are limited per API key after authentication (in Redis, so
 * API processes share the count), and failed authentication is limited per client address, so
 * guessing keys is throttled. Every 429 is our error shape with Retry-After.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext } from '../../../harness/api-context.ts';
import { createApi } from '../src/api.ts';
import { expectError, fingerprint, UNKNOWN_ID } from './support.ts';

const PER_KEY = 5;
const PER_ADDRESS = 3;
let ctx: ApiContext;
beforeAll(async () => {
  ctx = await createApiContext({
    RATE_LIMIT_MAX: String(PER_KEY),
    RATE_LIMIT_WINDOW_MS: '60000',
    RATE_LIMIT_UNAUTHENTICATED_MAX: String(PER_ADDRESS),
  });
});
afterAll(async () => ctx?.close());

/** Each test uses its own client address, so the per-address counts do not mix. */
let lastOctet = 0;
const freshAddress = () => `198.51.100.${++lastOctet}`;

const as = (apiKey: string, remoteAddress: string, options: InjectOptions) =>
  ctx.anonymous({
    remoteAddress,
    ...options,
    headers: { authorization: `Bearer ${apiKey}`, ...options.headers },
  });

function expectRateLimited(res: Awaited<ReturnType<typeof ctx.anonymous>>, limit: string, max: number) {
  const body = expectError(res, 429, 'BP_ERR_RATE_LIMITED');
  const retryAfter = Number(res.headers['retry-after']);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(body.details).toEqual({ limit, max, windowMs: 60_000, retryAfterSeconds: retryAfter });
  expect(body.message).toContain(limit);
  return body;
}

describe('authentication on every route', () => {
  it('every /v1 route of the OpenAPI document is 401 without a valid key, in the error shape', async () => {
    const doc = (await ctx.anonymous({ method: 'GET', url: '/openapi.json' })).json();
    const operations = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .filter(([path]) => path.startsWith('/v1/'))
      .flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => [m.toUpperCase(), path.replace('{id}', UNKNOWN_ID)]),
      );
    expect(operations.length).toBeGreaterThanOrEqual(16);
    const credentials = [
      undefined,
      'Basic dXNlcjpwYXNz',
      'Bearer',
      'Bearer  ',
      `Bearer ${ctx.apiKey}x`,
      `Bearer ${ctx.apiKey.slice(0, -1)}`,
      `Token ${ctx.apiKey}`,
      ctx.apiKey,
    ];
    for (const [method, url] of operations) {
      for (const authorization of credentials) {
        // A fresh address each time: this test is about 401, not the per-address limit.
        const res = await ctx.anonymous({
          method: method as 'GET',
          url: url!,
          remoteAddress: freshAddress(),
          headers: authorization === undefined ? {} : { authorization },
        });
        expectError(res, 401, 'BP_ERR_UNAUTHORIZED', `${method} ${url} with ${authorization}`);
        expect(res.headers['www-authenticate']).toBe('Bearer realm="backprop"');
      }
    }
  });
});

describe('per API key', () => {
  it(`allows RATE_LIMIT_MAX = ${PER_KEY} requests per window, counting down, then 429 with Retry-After`, async () => {
    const { apiKey } = await ctx.createTenantKey('burst');
    const address = freshAddress();
    for (let i = 1; i <= PER_KEY; i++) {
      const res = await as(apiKey, address, { method: 'GET', url: '/v1/networks' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-ratelimit-limit']).toBe(String(PER_KEY));
      expect(res.headers['x-ratelimit-remaining']).toBe(String(PER_KEY - i));
    }
    const res = await as(apiKey, address, { method: 'GET', url: '/v1/networks' });
    expectRateLimited(res, 'RATE_LIMIT_MAX', PER_KEY);
    expect(res.headers['x-ratelimit-remaining']).toBe('0');
    // Still limited on other routes: the budget is the key's, not a route's.
    expectRateLimited(
      await as(apiKey, address, { method: 'GET', url: '/v1/usage' }),
      'RATE_LIMIT_MAX',
      PER_KEY,
    );
  });

  it('is keyed by the API key, not the address: another key from the same address is served', async () => {
    const address = freshAddress();
    const spent = await ctx.createTenantKey('spent');
    for (let i = 0; i <= PER_KEY; i++) await as(spent.apiKey, address, { method: 'GET', url: '/v1/jobs' });
    expect((await as(spent.apiKey, address, { method: 'GET', url: '/v1/jobs' })).statusCode).toBe(429);
    const fresh = await ctx.createTenantKey('fresh');
    expect((await as(fresh.apiKey, address, { method: 'GET', url: '/v1/jobs' })).statusCode).toBe(200);
    // ... and the spent key is limited from any address.
    expect((await as(spent.apiKey, freshAddress(), { method: 'GET', url: '/v1/jobs' })).statusCode).toBe(429);
  });

  it('refuses before the body is read or anything is stored', async () => {
    const { apiKey } = await ctx.createTenantKey('flooder');
    const address = freshAddress();
    for (let i = 0; i < PER_KEY; i++) await as(apiKey, address, { method: 'GET', url: '/v1/datasets' });
    const before = await fingerprint(ctx.database.db, ctx.app);
    const res = await as(apiKey, address, {
      method: 'POST',
      url: '/v1/datasets',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ features: [[1], [2]], labels: [0, 1] }),
    });
    expectRateLimited(res, 'RATE_LIMIT_MAX', PER_KEY);
    // Even a body that would be a 400 gets the 429: it is never parsed.
    const invalid = await as(apiKey, address, {
      method: 'POST',
      url: '/v1/networks',
      headers: { 'content-type': 'application/json' },
      payload: '{ not json',
    });
    expect(invalid.statusCode).toBe(429);
    expect(await fingerprint(ctx.database.db, ctx.app)).toEqual(before);
  });

  it('is shared by API processes through Redis: a second app sees the same count', async () => {
    const { apiKey } = await ctx.createTenantKey('two-processes');
    const second: FastifyInstance = await createApi(ctx.env, { db: ctx.database.db });
    await second.deps.queue.waitUntilReady();
    try {
      const headers = { authorization: `Bearer ${apiKey}` };
      for (let i = 0; i < PER_KEY; i++) {
        const app = i % 2 === 0 ? ctx.app : second;
        expect(
          (await app.inject({ method: 'GET', url: `/v1/models/${UNKNOWN_ID}`, headers })).statusCode,
        ).toBe(404);
      }
      expect((await second.inject({ method: 'GET', url: '/v1/networks', headers })).statusCode).toBe(429);
      expect((await ctx.anonymous({ method: 'GET', url: '/v1/networks', headers })).statusCode).toBe(429);
    } finally {
      await second.close();
    }
  });

  it('starts afresh after the window', async () => {
    const short = await createApiContext({ RATE_LIMIT_MAX: '2', RATE_LIMIT_WINDOW_MS: '1000' });
    try {
      const get = () => short.app.inject({ method: 'GET', url: '/v1/datasets' });
      expect((await get()).statusCode).toBe(200);
      expect((await get()).statusCode).toBe(200);
      const limited = await get();
      expect(limited.statusCode).toBe(429);
      const retryAfter = Number(limited.headers['retry-after']);
      expect(retryAfter).toBe(1);
      await new Promise((r) => setTimeout(r, retryAfter * 1000 + 100));
      expect((await get()).statusCode).toBe(200);
    } finally {
      await short.close();
    }
  });
});

describe('per client address, for failed authentication', () => {
  it(`after RATE_LIMIT_UNAUTHENTICATED_MAX = ${PER_ADDRESS} failures, the address gets 429, even with a valid key`, async () => {
    const address = freshAddress();
    for (let i = 0; i < PER_ADDRESS; i++) {
      const res = await ctx.anonymous({
        method: 'GET',
        url: '/v1/jobs',
        remoteAddress: address,
        headers: { authorization: `Bearer bp_guess${i}` },
      });
      expectError(res, 401, 'BP_ERR_UNAUTHORIZED');
    }
    const blocked = await ctx.anonymous({
      method: 'GET',
      url: '/v1/jobs',
      remoteAddress: address,
      headers: { authorization: 'Bearer bp_guess-next' },
    });
    expectRateLimited(blocked, 'RATE_LIMIT_UNAUTHENTICATED_MAX', PER_ADDRESS);
    expect(blocked.headers['www-authenticate']).toBeUndefined();
    // A right guess from the blocked address is refused too, or blocking would not slow guessing.
    const right = await as(ctx.apiKey, address, { method: 'GET', url: '/v1/jobs' });
    expectRateLimited(right, 'RATE_LIMIT_UNAUTHENTICATED_MAX', PER_ADDRESS);
    // Missing headers count as failures as well.
    const none = await ctx.anonymous({ method: 'GET', url: '/v1/jobs', remoteAddress: address });
    expect(none.statusCode).toBe(429);
    // Other addresses are not affected, with or without a key.
    const elsewhere = freshAddress();
    expect((await as(ctx.apiKey, elsewhere, { method: 'GET', url: '/v1/jobs' })).statusCode).toBe(200);
    expect(
      (await ctx.anonymous({ method: 'GET', url: '/v1/jobs', remoteAddress: elsewhere })).statusCode,
    ).toBe(401);
  });

  it('a brute force of 200 guesses reaches the key lookup only RATE_LIMIT_UNAUTHENTICATED_MAX times', async () => {
    const address = freshAddress();
    const statuses: number[] = [];
    for (let i = 0; i < 200; i++) {
      const guess = `bp_${randomBytes(32).toString('base64url')}`;
      const res = await ctx.anonymous({
        method: 'GET',
        url: '/v1/datasets',
        remoteAddress: address,
        headers: { authorization: `Bearer ${guess}` },
      });
      statuses.push(res.statusCode);
    }
    expect(statuses.filter((s) => s === 401)).toHaveLength(PER_ADDRESS);
    expect(statuses.filter((s) => s === 429)).toHaveLength(200 - PER_ADDRESS);
  });

  it('counts an IPv6 /64 as one client', async () => {
    for (let i = 1; i <= PER_ADDRESS; i++) {
      const res = await ctx.anonymous({
        method: 'GET',
        url: '/v1/jobs',
        remoteAddress: `2001:db8:0:7::${i}`,
      });
      expect(res.statusCode).toBe(401);
    }
    const sameNetwork = await ctx.anonymous({
      method: 'GET',
      url: '/v1/jobs',
      remoteAddress: '2001:db8:0:7::ffff',
    });
    expect(sameNetwork.statusCode).toBe(429);
    const otherNetwork = await ctx.anonymous({
      method: 'GET',
      url: '/v1/jobs',
      remoteAddress: '2001:db8:0:8::1',
    });
    expect(otherNetwork.statusCode).toBe(401);
  });

  it('ignores X-Forwarded-For unless TRUST_PROXY says whom to trust', async () => {
    const address = freshAddress();
    for (let i = 0; i < PER_ADDRESS + 2; i++) {
      const res = await ctx.anonymous({
        method: 'GET',
        url: '/v1/jobs',
        remoteAddress: address,
        headers: { 'x-forwarded-for': `192.0.2.${i}` },
      });
      expect(res.statusCode).toBe(i < PER_ADDRESS ? 401 : 429);
    }
  });

  it('with TRUST_PROXY, limits the client the proxy names, not the proxy', async () => {
    const proxied = await createApiContext({ RATE_LIMIT_UNAUTHENTICATED_MAX: '2', TRUST_PROXY: '127.0.0.1' });
    try {
      const from = (client: string) =>
        proxied.anonymous({ method: 'GET', url: '/v1/jobs', headers: { 'x-forwarded-for': client } });
      expect((await from('192.0.2.1')).statusCode).toBe(401);
      expect((await from('192.0.2.1')).statusCode).toBe(401);
      expect((await from('192.0.2.1')).statusCode).toBe(429);
      expect((await from('192.0.2.2')).statusCode).toBe(401);
    } finally {
      await proxied.close();
    }
  });
});

describe('Redis unreachable', () => {
  it('lets requests through (fail open) instead of failing them', async () => {
    const unreachable = {
      ...ctx.env,
      REDIS_URL: 'redis://127.0.0.1:1',
      QUEUE_PREFIX: `bp-test-${randomBytes(6).toString('hex')}`,
    };
    const app = await createApi(unreachable, { db: ctx.database.db });
    try {
      const { apiKey } = await ctx.createTenantKey('no-redis');
      for (let i = 0; i < PER_KEY + 2; i++) {
        const res = await app.inject({
          method: 'GET',
          url: '/v1/networks',
          headers: { authorization: `Bearer ${apiKey}` },
        });
        expect(res.statusCode).toBe(200);
      }
      for (let i = 0; i < PER_ADDRESS + 2; i++) {
        expect((await app.inject({ method: 'GET', url: '/v1/networks' })).statusCode).toBe(401);
      }
    } finally {
      await app.close();
    }
  });
});
