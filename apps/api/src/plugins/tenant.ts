/**
 * Who is calling. Until API keys arrive every request belongs to the default tenant; routes
 * already read `request.tenantId` and every query filters by it, so isolation is a filter.
 */
import { DEFAULT_TENANT_ID } from '@backprop/db';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyRequest {
    tenantId: string;
  }
}

export const tenantPlugin = fp(
  async (app: FastifyInstance) => {
    app.decorateRequest('tenantId', '');
    app.addHook('onRequest', async (request) => {
      request.tenantId = DEFAULT_TENANT_ID;
    });
  },
  { name: 'backprop-tenant' },
);
