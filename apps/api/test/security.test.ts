/**
 * The HTTP edge (OWASP API8): security headers on every answer, errors included; a docs page whose
 * policy lets Swagger UI work; no CORS unless CORS_ORIGINS is set, and then only for those
 * origins; no stack traces, and 5xx messages masked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext } from '../../../harness/api-context.ts';
import { expectError, expectExactError, UNKNOWN_ID } from './support.ts';

let ctx: ApiContext;
let withCors: ApiContext;
beforeAll(async () => {
  [ctx, withCors] = await Promise.all([
    createApiContext(),
    createApiContext({ CORS_ORIGINS: 'https://app.example.com, http://localhost:5173' }),
  ]);
});
afterAll(async () => Promise.all([ctx?.close(), withCors?.close()]));

function directives(csp: string | undefined): Record<string, string> {
  return Object.fromEntries(
    (csp ?? '')
      .split(';')
      .map((d) => d.trim())
      .filter(Boolean)
      .map((d) => {
        const [name, ...values] = d.split(/\s+/);
        return [name!, values.join(' ')];
      }),
  );
}

describe('security headers', () => {
  it('are on successes, client errors and unknown routes alike', async () => {
    const answers = [
      await ctx.app.inject({ method: 'GET', url: '/v1/datasets' }),
      await ctx.anonymous({ method: 'GET', url: '/v1/datasets' }),
      await ctx.app.inject({ method: 'GET', url: `/v1/jobs/${UNKNOWN_ID}` }),
      await ctx.app.inject({ method: 'GET', url: '/nothing' }),
      await ctx.app.inject({ method: 'POST', url: '/v1/networks', payload: { bad: 1 } }),
      await ctx.app.inject({ method: 'GET', url: '/healthz' }),
    ];
    for (const res of answers) {
      const where = `${res.statusCode} ${res.body.slice(0, 80)}`;
      expect(res.headers['x-content-type-options'], where).toBe('nosniff');
      expect(res.headers['x-frame-options'], where).toBe('DENY');
      expect(res.headers['referrer-policy'], where).toBe('no-referrer');
      expect(res.headers['strict-transport-security'], where).toMatch(/max-age=\d+/);
      expect(res.headers['cross-origin-resource-policy'], where).toBe('same-origin');
      expect(res.headers['x-powered-by'], where).toBeUndefined();
      expect(directives(res.headers['content-security-policy'] as string), where).toEqual({
        'default-src': "'none'",
        'base-uri': "'none'",
        'form-action': "'none'",
        'frame-ancestors': "'none'",
      });
    }
  });

  it("the router's own refusals (bad %-escape, overlong path parameter) are our 400, with the headers", async () => {
    for (const [url, message] of [
      ['/v1/datasets/%zz', 'malformed %-escape'],
      ['/v1/jobs/%E0%A4%A/cancel', 'malformed %-escape'],
      [`/v1/models/${'𝕏'.repeat(120)}`, 'longer than 100 characters'],
      [`/v1/datasets/${'a'.repeat(101)}`, 'longer than 100 characters'],
    ] as const) {
      const res = await ctx.app.inject({ method: 'GET', url });
      expect(expectError(res, 400, 'BP_ERR_VALIDATION', url).message).toContain(message);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(directives(res.headers['content-security-policy'] as string)['default-src']).toBe("'none'");
    }
  });

  it('tenant data, and refusals of it, are not cached', async () => {
    for (const res of [
      await ctx.app.inject({ method: 'GET', url: '/v1/networks' }),
      await ctx.anonymous({ method: 'GET', url: '/v1/networks' }),
      await ctx.app.inject({ method: 'GET', url: `/v1/jobs/${UNKNOWN_ID}` }),
    ]) {
      expect(res.headers['cache-control'], String(res.statusCode)).toBe('no-store');
    }
  });
});

describe('the /docs page', () => {
  it('has a policy that allows its own scripts, styles and the spec, and nothing from elsewhere', async () => {
    const page = await ctx.anonymous({ method: 'GET', url: '/docs' });
    const html = page.statusCode === 302 ? await ctx.anonymous({ method: 'GET', url: '/docs/' }) : page;
    expect(html.statusCode).toBe(200);
    expect(html.body).toContain('Swagger UI');
    const csp = directives(html.headers['content-security-policy'] as string);
    expect(csp['script-src']).toBe("'self'");
    expect(csp['default-src']).toBe("'self'");
    expect(csp['connect-src']).toBe("'self'");
    expect(csp['object-src']).toBe("'none'");
    expect(csp['frame-ancestors']).toBe("'none'");
    expect(Object.values(csp).join(' ')).not.toMatch(/https?:|\*|unsafe-eval/);
    expect(csp['upgrade-insecure-requests']).toBeUndefined(); // the docs work over plain HTTP

    // Every script and stylesheet the page loads is served from here (what 'self' allows), and
    // has no inline code (what script-src without 'unsafe-inline' forbids).
    expect(html.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>\s*\S/);
    const assets = [...html.body.matchAll(/(?:src|href)="([^"]+\.(?:js|css))"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(4);
    for (const asset of assets) {
      expect(asset, asset).not.toMatch(/^(https?:)?\/\//);
      const url = asset.startsWith('/') ? asset : `/docs/${asset.replace(/^\.\//, '')}`;
      const res = await ctx.anonymous({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
    }
    // The initializer points the UI at the spec on this origin, and at no validator badge.
    const init = await ctx.anonymous({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    expect(init.body).toContain('validatorUrl');
    expect(init.body).not.toContain('validator.swagger.io');
    const spec = await ctx.anonymous({ method: 'GET', url: '/docs/json' });
    expect(spec.statusCode).toBe(200);
    expect(spec.json().paths['/v1/usage']).toBeDefined();
  });
});

describe('CORS', () => {
  /** GET /v1/datasets with a key, as a page served from `origin` sends it. */
  const listFrom = (c: ApiContext, origin: string) =>
    c.app.inject({ method: 'GET', url: '/v1/datasets', headers: { origin } });

  it('is off without CORS_ORIGINS: no Access-Control headers, and a preflight is 404', async () => {
    const res = await listFrom(ctx, 'https://evil.example');
    expect(res.statusCode).toBe(200);
    expect(Object.keys(res.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    const preflight = await ctx.anonymous({
      method: 'OPTIONS',
      url: '/v1/datasets',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.statusCode).toBe(404);
    expect(Object.keys(preflight.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });

  it('with CORS_ORIGINS, answers the listed origins only, and preflights need no key', async () => {
    const allowed = await listFrom(withCors, 'https://app.example.com');
    expect(allowed.statusCode).toBe(200);
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(allowed.headers['access-control-allow-credentials']).toBeUndefined();
    expect(String(allowed.headers['access-control-expose-headers'])).toMatch(/retry-after/);
    expect(String(allowed.headers.vary)).toMatch(/origin/i);

    const other = await listFrom(withCors, 'https://evil.example');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();

    const preflight = await withCors.anonymous({
      method: 'OPTIONS',
      url: '/v1/jobs',
      headers: {
        origin: 'http://localhost:5173',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, idempotency-key',
      },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect(String(preflight.headers['access-control-allow-headers'])).toMatch(/authorization/);
    expect(String(preflight.headers['access-control-allow-methods'])).toMatch(/POST/);
    // The preflight is not a way around authentication: the actual request still needs a key.
    const anonymous = await withCors.anonymous({
      method: 'GET',
      url: '/v1/jobs',
      headers: { origin: 'http://localhost:5173' },
    });
    expectError(anonymous, 401, 'BP_ERR_UNAUTHORIZED');
    expect(anonymous.headers['access-control-allow-origin']).toBe('http://localhost:5173');
  });

  it('refuses a malformed CORS_ORIGINS at boot', async () => {
    await expect(createApiContext({ CORS_ORIGINS: 'app.example.com' })).rejects.toThrow(/CORS_ORIGINS/);
  });
});

describe('errors', () => {
  it('a failure inside a handler is a masked 500: no message, no stack, the request id to quote', async () => {
    // A route that fails the way a bug would, added to this test's app only.
    const app = await createApiContext();
    try {
      app.app.get('/v1/boom', async () => {
        throw new Error('secret: connection string postgres://admin:hunter2@db at /srv/app/x.ts:12');
      });
      const res = await app.app.inject({
        method: 'GET',
        url: '/v1/boom',
        headers: { 'x-request-id': 'req-42' },
      });
      expectExactError(res, {
        statusCode: 500,
        code: 'BP_ERR_INTERNAL',
        error: 'Internal Server Error',
        message: 'internal error (request id req-42)',
      });
      expect(res.body).not.toMatch(/hunter2|secret|\.ts/);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    } finally {
      await app.close();
    }
  });
});
