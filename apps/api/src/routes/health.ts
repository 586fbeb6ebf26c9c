/** Liveness and readiness. Readiness checks the two things a request needs: Postgres and Redis. */
import { pingDatabase } from '@backprop/db';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';

const CHECK_TIMEOUT_MS = 2000;

const Readiness = z.object({
  status: z.enum(['ready', 'unavailable']),
  checks: z.object({ postgres: z.boolean(), redis: z.boolean() }),
});

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    work.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

export async function healthRoutes(app: FastifyInstance): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/healthz',
    {
      schema: {
        tags: ['operations'],
        operationId: 'getHealth',
        summary: 'Liveness: the process answers',
        security: [],
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
  r.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        operationId: 'getReadiness',
        summary: 'Readiness: Postgres and Redis answer within a deadline',
        security: [],
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (request, reply) => {
      const { db, redis: connection } = app.deps;
      const [postgres, redis] = await Promise.all([
        withTimeout(pingDatabase(db), CHECK_TIMEOUT_MS).then(
          () => true,
          (err) => {
            request.log.warn({ err }, 'readiness: postgres unreachable');
            return false;
          },
        ),
        withTimeout(connection.ping(), CHECK_TIMEOUT_MS).then(
          () => true,
          (err) => {
            request.log.warn({ err }, 'readiness: redis unreachable');
            return false;
          },
        ),
      ]);
      const ready = postgres && redis;
      return reply
        .code(ready ? 200 : 503)
        .send({ status: ready ? 'ready' : 'unavailable', checks: { postgres, redis } });
    },
  );
}
