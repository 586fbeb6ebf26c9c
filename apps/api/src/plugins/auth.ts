/**
 * Who is calling: every /v1 request carries `Authorization: Bearer <key>`. The key names its
 * tenant, and every route filters by `request.tenantId`, so a tenant sees only its own rows.
 * Keys are checked on every request (one indexed lookup), so a revoked key fails at once.
 */
import { ApiError } from '@backprop/contracts';
import { authenticateApiKey } from '@backprop/db';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyRequest {
    tenantId: string;
    apiKeyId: string;
  }
}

const BEARER = /^bearer +([^\s]+) *$/i;

function unauthorized(message: string): ApiError {
  return new ApiError('BP_ERR_UNAUTHORIZED', message);
}

export const authPlugin = fp(
  async (app: FastifyInstance) => {
    app.decorateRequest('tenantId', '');
    app.decorateRequest('apiKeyId', '');
    app.addHook('onRequest', async (request, reply) => {
      reply.header('www-authenticate', 'Bearer realm="backprop"');
      const header = request.headers.authorization;
      if (!header) throw unauthorized('send an API key: Authorization: Bearer <key>');
      const match = BEARER.exec(header);
      if (!match) throw unauthorized('the Authorization header must be "Bearer <key>"');
      const identity = await authenticateApiKey(app.deps.db, match[1]!);
      if (!identity) throw unauthorized('the API key is not valid (unknown or revoked)');
      request.tenantId = identity.tenantId;
      request.apiKeyId = identity.keyId;
      reply.removeHeader('www-authenticate');
    });
  },
  { name: 'backprop-auth' },
);
