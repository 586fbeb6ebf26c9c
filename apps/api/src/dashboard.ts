/**
 * The dashboard (apps/dashboard, built by Vite into DASHBOARD_DIR) served by the API itself, so
 * `npm start` is all a person needs: `/` redirects to `/dashboard/`. The API does not import the
 * dashboard's code; it only serves the files a build left, under a policy of their own: scripts
 * and styles from this origin only (no inline script or style), fetches to this origin only.
 * Without a build, `/dashboard/` says how to make one.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError } from '@backprop/contracts';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export async function dashboardRoutes(app: FastifyInstance): Promise<void> {
  const root = app.deps.env.DASHBOARD_DIR;
  if (root === '') return;
  app.get('/', { schema: { hide: true } }, (_request, reply) => reply.redirect('/dashboard/'));
  // This plugin's routes only (encapsulated): the API's own policy stays on everything else.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('content-security-policy', DASHBOARD_CSP);
  });
  if (!existsSync(join(root, 'index.html'))) {
    app.get('/dashboard/*', { schema: { hide: true } }, () => {
      throw new ApiError(
        'BP_ERR_NOT_FOUND',
        `the dashboard is not built in ${root}: run npm run build -w @backprop/dashboard (npm start does)`,
      );
    });
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/dashboard/',
    // Vite names built assets by content hash: they never change, so browsers keep them; the
    // page that names them is asked for again every time.
    setHeaders(reply, path) {
      reply.header(
        'cache-control',
        path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
  });
}
