/** Authentication: every /v1 route needs a live API key; the key decides the tenant. */
import { revokeApiKey } from '@backprop/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext } from '../../../harness/api-context.ts';

let ctx: ApiContext;
beforeAll(async () => {
  ctx = await createApiContext();
});
afterAll(async () => ctx?.close());

describe('API keys', () => {
  it.each([
    ['no header', undefined, 'send an API key'],
    ['another scheme', 'Basic dXNlcjpwYXNz', 'must be "Bearer <key>"'],
    ['an empty bearer', 'Bearer ', 'must be "Bearer <key>"'],
    ['an unknown key', 'Bearer bp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'not valid'],
    ['a token without our prefix', 'Bearer hello', 'not valid'],
  ])('refuse %s with 401 and a WWW-Authenticate challenge', async (_, authorization, message) => {
    const res = await ctx.anonymous({
      method: 'GET',
      url: '/v1/datasets',
      headers: authorization === undefined ? {} : { authorization },
    });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="backprop"');
    expect(res.json()).toMatchObject({
      code: 'BP_ERR_UNAUTHORIZED',
      message: expect.stringContaining(message),
    });
  });

  it('guard every /v1 route, and leave health and docs open', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    for (const [method, url] of [
      ['POST', '/v1/datasets'],
      ['GET', `/v1/datasets/${id}`],
      ['DELETE', `/v1/datasets/${id}`],
      ['POST', '/v1/networks'],
      ['GET', '/v1/jobs'],
      ['POST', `/v1/jobs/${id}/cancel`],
      ['GET', `/v1/models/${id}/parameters`],
      ['POST', `/v1/models/${id}/predictions`],
    ] as const) {
      expect((await ctx.anonymous({ method, url })).statusCode, `${method} ${url}`).toBe(401);
    }
    for (const url of ['/healthz', '/readyz', '/openapi.json']) {
      expect((await ctx.anonymous({ method: 'GET', url })).statusCode, url).toBe(200);
    }
  });

  it('accept the scheme in any case', async () => {
    const res = await ctx.anonymous({
      method: 'GET',
      url: '/v1/jobs',
      headers: { authorization: `bearer ${ctx.apiKey}` },
    });
    expect(res.statusCode).toBe(200);
  });

  it('stop working on the next request once revoked', async () => {
    const other = await ctx.createTenantKey('revoked-soon');
    const headers = { authorization: `Bearer ${other.apiKey}` };
    expect((await ctx.anonymous({ method: 'GET', url: '/v1/networks', headers })).statusCode).toBe(200);
    const key = await ctx.database.db.apiKey.findFirstOrThrow({ where: { tenantId: other.tenantId } });
    expect(await revokeApiKey(ctx.database.db, key.id)).toBe(true);
    expect((await ctx.anonymous({ method: 'GET', url: '/v1/networks', headers })).statusCode).toBe(401);
  });

  it("scope every resource to the key's tenant: another tenant's id is a 404 and lists are separate", async () => {
    const other = await ctx.createTenantKey('neighbour');
    const theirs = { authorization: `Bearer ${other.apiKey}` };
    const created = await ctx.app.inject({
      method: 'POST',
      url: '/v1/networks',
      payload: { inputSize: 2, layers: [{ units: 1, activation: 'sigmoid' }] },
    });
    expect(created.statusCode).toBe(201);
    const id = created.json().id;
    const seen = await ctx.anonymous({ method: 'GET', url: `/v1/networks/${id}`, headers: theirs });
    expect(seen.statusCode).toBe(404);
    expect(seen.json().code).toBe('BP_ERR_NETWORK_NOT_FOUND');
    const list = await ctx.anonymous({ method: 'GET', url: '/v1/networks', headers: theirs });
    expect(list.json().items).toEqual([]);
    const mine = await ctx.app.inject({ method: 'GET', url: '/v1/networks' });
    expect(mine.json().items.map((n: { id: string }) => n.id)).toContain(id);
  });
});
