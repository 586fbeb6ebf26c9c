/**
 * Request rate limits, counted in Redis so every API process shares them (RELIABILITY.md P12):
 *
 * - per API key, after authentication: RATE_LIMIT_MAX requests per RATE_LIMIT_WINDOW_MS, keyed
 *   by the key's id (not the address: tenants behind one proxy or NAT do not share a budget);
 * - per client address, for failed authentication: after RATE_LIMIT_UNAUTHENTICATED_MAX
 *   401s in a window, the address gets 429 for the rest of it, before its key is even looked up,
 *   so guessing keys is throttled (a correct guess is refused too, or blocking would not throttle).
 *
 * Both answer 429 in the error shape (BP_ERR_RATE_LIMITED) with Retry-After. If Redis does not
 * answer, requests are let through (the reads need only Postgres; job submission answers 503 on
 * its own), rather than failing every request.
 */
import { ApiError } from '@backprop/contracts';
import fastifyRateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    rateLimits: {
      /** onRequest hook, to run after authentication: the per-key limit. */
      perKey: onRequestAsyncHookHandler;
      /** Throws 429 if the client address is blocked for failed authentication. */
      assertAddressAllowed(request: FastifyRequest, reply: FastifyReply): Promise<void>;
      /** Counts a failed authentication against the client address. */
      countAuthFailure(request: FastifyRequest): Promise<void>;
    };
  }
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

export const rateLimitPlugin = fp(
  async (app: FastifyInstance) => {
    const { env, redis } = app.deps;
    const windowMs = env.RATE_LIMIT_WINDOW_MS;
    await app.register(fastifyRateLimit, {
      global: false,
      redis,
      // The queue prefix separates deployments (and test files) that share a Redis.
      nameSpace: `${env.QUEUE_PREFIX}:rate-limit:`,
      skipOnError: true,
      timeWindow: windowMs,
    });

    const perKey = app.rateLimit({
      max: env.RATE_LIMIT_MAX,
      timeWindow: windowMs,
      keyGenerator: (request) => `key:${request.apiKeyId}`,
      errorResponseBuilder: (_request, context) => {
        const retryAfterSeconds = seconds(context.ttl);
        return new ApiError(
          'BP_ERR_RATE_LIMITED',
          `this API key made more than RATE_LIMIT_MAX = ${context.max} requests in ${windowMs} ms; retry in ${retryAfterSeconds} s`,
          { limit: 'RATE_LIMIT_MAX', max: context.max, windowMs, retryAfterSeconds },
        );
      },
    }) as unknown as onRequestAsyncHookHandler;

    const failures = app.createRateLimit({
      max: env.RATE_LIMIT_UNAUTHENTICATED_MAX,
      timeWindow: windowMs,
      keyGenerator: (request) => `address:${normalizeIP(request.ip)}`,
    });

    app.decorate('rateLimits', {
      perKey,
      async assertAddressAllowed(request: FastifyRequest, reply: FastifyReply) {
        const state = await failures(request, { increment: false });
        if (state.isAllowed || state.remaining > 0) return;
        const retryAfterSeconds = seconds(state.ttl);
        reply.removeHeader('www-authenticate');
        reply.header('retry-after', retryAfterSeconds);
        reply.header('x-ratelimit-limit', state.max);
        reply.header('x-ratelimit-remaining', 0);
        reply.header('x-ratelimit-reset', retryAfterSeconds);
        throw new ApiError(
          'BP_ERR_RATE_LIMITED',
          `this address failed authentication RATE_LIMIT_UNAUTHENTICATED_MAX = ${state.max} times in ${windowMs} ms; retry in ${retryAfterSeconds} s`,
          { limit: 'RATE_LIMIT_UNAUTHENTICATED_MAX', max: state.max, windowMs, retryAfterSeconds },
        );
      },
      async countAuthFailure(request: FastifyRequest) {
        await failures(request);
      },
    });
  },
  { name: 'backprop-rate-limit' },
);
