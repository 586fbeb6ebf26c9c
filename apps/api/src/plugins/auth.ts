/**
 * Who is calling: every /v1 request carries `Authorization: Bearer <key>`. The key names its
 * tenant, and every route filters by `request.tenantId`, so a tenant sees only its own rows.
 * Keys are checked on every request (one indexed lookup), so a revoked key fails at once.
 */
import { ApiError } from '@backprop/contracts';
import { authenticateApiKey } from '@backprop/db';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { z } from 'zod';
import { readEventsToken } from '../events/tokens.ts';

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

/** The caller's identity, or why there is none. */
async function identify(
  app: FastifyInstance,
  header: string | undefined,
): Promise<{ tenantId: string; keyId: string } | ApiError> {
  if (!header) return unauthorized('send an API key: Authorization: Bearer <key>');
  const match = BEARER.exec(header);
  if (!match) return unauthorized('the Authorization header must be "Bearer <key>"');
  const identity = await authenticateApiKey(app.deps.db, match[1]!);
  return identity ?? unauthorized('the API key is not valid (unknown or revoked)');
}

const TokenQuery = z.object({ token: z.string() });
const IdParam = z.object({ id: z.string() });

/**
 * A route marked `acceptsEventsToken` (a job's event stream) may be opened with `?token=` instead
 * of a key: the token names its tenant, the key that asked for it, and the one job it opens.
 * Returns undefined when the request carries no token (or a key, which then decides).
 */
async function identifyByEventsToken(
  app: FastifyInstance,
  request: FastifyRequest,
): Promise<{ tenantId: string; keyId: string } | ApiError | undefined> {
  if (!request.routeOptions.config.acceptsEventsToken || request.headers.authorization) return undefined;
  const query = TokenQuery.safeParse(request.query);
  if (!query.success) return undefined;
  const grant = await readEventsToken(app.deps.redis, app.deps.env.QUEUE_PREFIX, query.data.token).catch(
    () => {
      throw new ApiError(
        'BP_ERR_UNAVAILABLE',
        'events tokens cannot be checked (Redis is unreachable); retry shortly',
      );
    },
  );
  if (!grant) return unauthorized('the events token is not valid (unknown or expired); ask for a new one');
  if (IdParam.safeParse(request.params).data?.id !== grant.jobId)
    return unauthorized("the events token opens another job's stream only");
  return { tenantId: grant.tenantId, keyId: grant.keyId };
}

/**
 * Authentication, then the per-key rate limit, both as onRequest hooks in this order: nothing of
 * the request (its body included) is read before both passed. Failed attempts count against the
 * client address, and an address over RATE_LIMIT_UNAUTHENTICATED_MAX is refused before its key
 * is looked up (plugins/rate-limit.ts).
 */
export const authPlugin = fp(
  async (app: FastifyInstance) => {
    app.decorateRequest('tenantId', '');
    app.decorateRequest('apiKeyId', '');
    app.addHook('onRequest', async (request, reply) => {
      reply.header('www-authenticate', 'Bearer realm="backprop"');
      await app.rateLimits.assertAddressAllowed(request, reply);
      const identity =
        (await identifyByEventsToken(app, request)) ?? (await identify(app, request.headers.authorization));
      if (identity instanceof ApiError) {
        await app.rateLimits.countAuthFailure(request);
        throw identity;
      }
      request.tenantId = identity.tenantId;
      request.apiKeyId = identity.keyId;
      reply.removeHeader('www-authenticate');
    });
    app.addHook('onRequest', app.rateLimits.perKey);
  },
  { name: 'backprop-auth', dependencies: ['backprop-rate-limit'] },
);
