/**
 * Builds the Fastify application. It does not listen: server.ts does, and tests use `inject`.
 * Everything the app talks to (Postgres, the queue, Redis) comes in through `deps`, so tests run
 * the same code against their own database and queue prefix.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '@backprop/db';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { Queue } from 'bullmq';
import Fastify, { type FastifyInstance } from 'fastify';
import { jsonSchemaTransformObject, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Redis } from 'ioredis';
import type { ApiEnv } from './env.ts';
import { openApiTransform } from './openapi.ts';
import { authPlugin } from './plugins/auth.ts';
import { errorsPlugin } from './plugins/errors.ts';
import { datasetRoutes } from './routes/datasets.ts';
import { healthRoutes } from './routes/health.ts';
import { jobRoutes } from './routes/jobs.ts';
import { modelRoutes } from './routes/models.ts';
import { networkRoutes } from './routes/networks.ts';
import { parseJsonBody } from './validation.ts';

export interface AppDeps {
  env: ApiEnv;
  db: Db;
  /** The training queue (producer side); its connection should not queue commands while offline. */
  queue: Queue;
  /** The queue's own connection: readiness pings and cancel notifications go through it. */
  redis: Redis;
}

declare module 'fastify' {
  interface FastifyInstance {
    deps: AppDeps;
  }
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { env } = deps;
  const app = Fastify({
    logger: { level: env.LOG_LEVEL },
    bodyLimit: env.LIMIT_BODY_BYTES,
    requestTimeout: env.REQUEST_TIMEOUT_MS,
    connectionTimeout: env.CONNECTION_TIMEOUT_MS,
    return503OnClosing: true,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,100}$/.test(given) ? given : randomUUID();
    },
  });
  app.decorate('deps', deps);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  // JSON bodies: errors that say what is wrong (Fastify's parser hides the reason, even for a
  // `__proto__` key, behind "Body is not valid JSON").
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  // CSV uploads are streamed to the route: the handler reads and limits them itself.
  app.addContentTypeParser('text/csv', (_request, payload, done) => done(null, payload));

  await app.register(errorsPlugin);
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
      security: [{ apiKey: [] }],
    },
    transform: openApiTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());

  await app.register(healthRoutes);
  await app.register(
    async (v1) => {
      await v1.register(authPlugin);
      await v1.register(datasetRoutes);
      await v1.register(networkRoutes);
      await v1.register(jobRoutes);
      await v1.register(modelRoutes);
    },
    { prefix: '/v1' },
  );
  return app;
}
