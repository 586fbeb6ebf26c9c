/**
 * The dashboard's files as the API serves them (apps/api/src/dashboard.ts): `/` leads there,
 * the page and its assets carry the dashboard's own strict policy (no inline script or style)
 * while the API keeps its own, hashed assets are cached for good and the page never; a missing
 * build says how to make one; DASHBOARD_DIR='' serves nothing.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext } from '../../../harness/api-context.ts';
import { DASHBOARD_CSP } from '../src/dashboard.ts';

const built = mkdtempSync(join(tmpdir(), 'bp-dashboard-built-'));
const empty = mkdtempSync(join(tmpdir(), 'bp-dashboard-empty-'));
mkdirSync(join(built, 'assets'));
writeFileSync(
  join(built, 'index.html'),
  '<!doctype html><script type="module" src="assets/app-1a2b.js"></script>',
);
writeFileSync(join(built, 'assets/app-1a2b.js'), 'console.log("dashboard")');

let served: ApiContext;
let unbuilt: ApiContext;
let off: ApiContext;
beforeAll(async () => {
  [served, unbuilt, off] = await Promise.all([
    createApiContext({ DASHBOARD_DIR: built }),
    createApiContext({ DASHBOARD_DIR: empty }),
    createApiContext({ DASHBOARD_DIR: '' }),
  ]);
});
afterAll(async () => {
  await Promise.all([served?.close(), unbuilt?.close(), off?.close()]);
  rmSync(built, { recursive: true, force: true });
  rmSync(empty, { recursive: true, force: true });
});

describe('the dashboard, served by the API', () => {
  it('is where / leads', async () => {
    const res = await served.anonymous({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(302);
    expect(res.headers['location']).toBe('/dashboard/');
  });

  it('serves its page under its own policy: scripts and styles from this origin only, nothing inline', async () => {
    const res = await served.anonymous({ method: 'GET', url: '/dashboard/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.body).toContain('assets/app-1a2b.js');
    expect(res.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    expect(DASHBOARD_CSP).toContain("script-src 'self'");
    expect(DASHBOARD_CSP).toContain("style-src 'self'");
    expect(DASHBOARD_CSP).not.toContain('unsafe');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['cache-control']).toBe('no-cache');
  });

  it('lets browsers keep its content-hashed assets', async () => {
    const res = await served.anonymous({ method: 'GET', url: '/dashboard/assets/app-1a2b.js' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers['content-security-policy']).toBe(DASHBOARD_CSP);
  });

  it('leaves the API its own policy, and serves nothing outside its folder', async () => {
    const api = await served.app.inject({ method: 'GET', url: '/v1/usage' });
    expect(api.statusCode).toBe(200);
    expect(api.headers['content-security-policy']).toContain("default-src 'none'");
    expect(api.headers['content-security-policy']).not.toContain("script-src 'self'");
    for (const url of [
      '/dashboard/../package.json',
      '/dashboard/%2e%2e/%2e%2e/package.json',
      '/dashboard/nope.js',
    ]) {
      const res = await served.anonymous({ method: 'GET', url });
      expect(res.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(res.body, url).not.toContain('"workspaces"');
    }
  });

  it('says how to build it when there is no build', async () => {
    const res = await unbuilt.anonymous({ method: 'GET', url: '/dashboard/' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'BP_ERR_NOT_FOUND' });
    expect(res.json().message).toContain('npm run build -w @backprop/dashboard');
  });

  it('is not served at all with DASHBOARD_DIR empty', async () => {
    expect((await off.anonymous({ method: 'GET', url: '/' })).statusCode).toBe(404);
    expect((await off.anonymous({ method: 'GET', url: '/dashboard/' })).statusCode).toBe(404);
  });
});
