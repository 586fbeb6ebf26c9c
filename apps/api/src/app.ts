/**
 * Builds the Fastify application. It does not listen: server.ts does, and tests use `inject`.
 * Everything the app talks to (Postgres, the queue, Redis) comes in through `deps`, so tests run
 * the same code against their own database and queue prefix.
 */
import { randomUUID } from 'node:crypto';
import { ApiError, ErrorBody } from '@backprop/contracts';
import type { Db } from '@backprop/db';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { Queue } from 'bullmq';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { serializerCompiler } from 'fastify-type-provider-zod';
import type { Redis } from 'ioredis';
import { dashboardRoutes } from './dashboard.ts';
import type { ApiEnv } from './env.ts';
import { loggerOptions } from './logging.ts';
import { ModelCache } from './models/cache.ts';
import { openApiTransform, openApiTransformObject } from './openapi.ts';
import { authPlugin } from './plugins/auth.ts';
import { clientErrorHandler, errorsPlugin } from './plugins/errors.ts';
import { rateLimitPlugin } from './plugins/rate-limit.ts';
import { BARE_SECURITY_HEADERS, DOCS_CSP, securityPlugin } from './plugins/security.ts';
import { datasetRoutes } from './routes/datasets.ts';
import { dryRunRoutes } from './routes/dry-run.ts';
import { evaluationRoutes } from './routes/evaluations.ts';
import { eventRoutes } from './routes/events.ts';
import { healthRoutes } from './routes/health.ts';
import { jobRoutes } from './routes/jobs.ts';
import { modelExportRoutes } from './routes/model-export.ts';
import { modelRoutes } from './routes/models.ts';
import { networkRoutes } from './routes/networks.ts';
import { registryRoutes } from './routes/registry.ts';
import { reproduceRoutes } from './routes/reproduce.ts';
import { usageRoutes } from './routes/usage.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { parseJsonBody, validatorCompiler } from './validation.ts';
import { webhookOperations } from './webhooks/openapi.ts';

/** The /v1 routes, in the order the OpenAPI document lists them. */
const V1_ROUTES = [
  datasetRoutes,
  networkRoutes,
  jobRoutes,
  eventRoutes,
  modelRoutes,
  evaluationRoutes,
  modelExportRoutes,
  registryRoutes,
  reproduceRoutes,
  dryRunRoutes,
  usageRoutes,
  webhookRoutes,
];

export interface AppDeps {
  env: ApiEnv;
  db: Db;
  /** The training queue (producer side); its connection should not queue commands while offline. */
  queue: Queue;
  /** The queue's own connection: readiness pings and cancel notifications go through it. */
  redis: Redis;
  /** Where log lines go (default stdout); tests read the real log through it. */
  logStream?: { write(line: string): unknown };
}

declare module 'fastify' {
  interface FastifyInstance {
    deps: AppDeps;
    /**
     * The decoded models that predictions (by id or through an alias) and parameter reads use: one
     * cache, so a model is decoded once for both and a deleted one is evicted from what both read.
     * Evaluations and exports, one-off reads, keep small caches of their own so as not to push
     * these out.
     */
    modelCache: ModelCache;
  }
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { env } = deps;
  const app = Fastify({
    logger: loggerOptions(env.LOG_LEVEL, deps.logStream),
    bodyLimit: env.LIMIT_BODY_BYTES,
    requestTimeout: env.REQUEST_TIMEOUT_MS,
    connectionTimeout: env.CONNECTION_TIMEOUT_MS,
    http: { ...slowClientOptions(env), maxHeaderSize: env.LIMIT_HEADER_BYTES },
    trustProxy: env.TRUST_PROXY as boolean | string[],
    // Requests that arrive while closing get our 503 (errors.ts), in the error catalog's shape.
    return503OnClosing: false,
    // Refusals Node makes before Fastify sees a request (431, 408, malformed HTTP), likewise.
    clientErrorHandler,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // The router's own refusals (a malformed %-escape, a path segment over 100 characters) in our
    // error shape; Fastify would answer them in its own, bypassing the error handler.
    frameworkErrors: (err, request, reply) => {
      const body =
        err.code === 'FST_ERR_BAD_URL' || err.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? new ApiError(
              'BP_ERR_VALIDATION',
              err.code === 'FST_ERR_BAD_URL'
                ? 'the URL has a malformed %-escape'
                : 'a path parameter is longer than 100 characters',
            ).toBody()
          : new ApiError('BP_ERR_INTERNAL', `internal error (request id ${request.id})`).toBody();
      if (body.statusCode >= 500) request.log.error({ err }, 'routing failed');
      (reply as FastifyReply).code(body.statusCode).headers(BARE_SECURITY_HEADERS).send(body);
    },
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,100}$/.test(given) ? given : randomUUID();
    },
  });
  app.decorate('deps', deps);
  app.decorate('modelCache', new ModelCache(deps.db, 64));
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  // JSON bodies: errors that say what is wrong (Fastify's parser hides the reason, even for a
  // `__proto__` key, behind "Body is not valid JSON").
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(typeof body === 'string' ? body : body.toString('utf8')));
    } catch (err) {
      done(err instanceof Error ? err : new Error(String(err)), undefined);
    }
  });
  // Dataset uploads (CSV streams, gzip, big JSON) have their own parsers: datasets/upload.ts.

  await app.register(errorsPlugin);
  await app.register(securityPlugin);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'backprop',
        description:
          'Train dense neural networks over HTTP: datasets, networks, training jobs, models, predictions.',
        version: '0.1.0',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'An API key from `npm run keys -- create`' },
        },
      },
      // Relative: the API serves its own document, so clients resolve paths against where they
      // fetched it from.
      servers: [{ url: '/', description: 'The service that serves this document' }],
      security: [{ apiKey: [] }],
      // What the service sends to webhook endpoints (OpenAPI 3.1 `webhooks`).
      webhooks: webhookOperations(),
    },
    transform: openApiTransform,
    transformObject: openApiTransformObject,
  });
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    staticCSP: DOCS_CSP,
    // No badge fetched from validator.swagger.io (it would also tell that site where the spec is).
    uiConfig: { validatorUrl: null },
  });
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());

  await app.register(healthRoutes);
  await app.register(dashboardRoutes);
  await app.register(
    async (v1) => {
      // Tenant data (and refusals of it): no cache, shared or private, keeps a copy.
      v1.addHook('onRequest', async (_request, reply) => {
        reply.header('cache-control', 'no-store');
      });
      await v1.register(rateLimitPlugin);
      await v1.register(authPlugin);
      // Every /v1 route can answer 401 (no valid key) and 429 (rate limit), one that parses a
      // request part 400 (it is invalid), one with an id 404, one with a body 413 (too large) and
      // 415 (a content type it does not parse): say so in the document.
      v1.addHook('onRoute', (route) => {
        const schema = route.schema;
        if (!schema?.response) return;
        const parses = schema.body || schema.querystring || schema.params;
        route.schema = {
          ...schema,
          response: {
            401: ErrorBody,
            429: ErrorBody,
            ...(parses ? { 400: ErrorBody } : {}),
            ...(schema.params ? { 404: ErrorBody } : {}),
            ...(schema.body ? { 413: ErrorBody, 415: ErrorBody } : {}),
            ...(schema.response as object),
          },
        };
      });
      for (const routes of V1_ROUTES) await v1.register(routes);
    },
    { prefix: '/v1' },
  );
  return app;
}

/**
 * Node checks request and header timeouts on a timer (connectionsCheckingInterval, 30 s by
 * default), so a slow client outlives REQUEST_TIMEOUT_MS by up to that much. Check four times
 * per timeout instead (bounded to 0.1-30 s), and give headers no longer than the whole request.
 */
function slowClientOptions(env: ApiEnv) {
  const timeout = env.REQUEST_TIMEOUT_MS;
  if (timeout === 0) return {};
  return {
    requestTimeout: timeout,
    headersTimeout: Math.min(60_000, timeout),
    connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(timeout / 4))),
  };
}
