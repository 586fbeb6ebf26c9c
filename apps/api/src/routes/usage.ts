/** /v1/usage: the tenant's consumption, its remaining quota, and every limit that applies. */
import { LIMIT_NAMES, type LimitName, Usage } from '@backprop/contracts';
import { getTenantUsage, totalStoredBytes } from '@backprop/db';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { NoQuery } from './strict.ts';

export async function usageRoutes(app: FastifyInstance): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { env, db } = app.deps;
  const limits = Object.fromEntries(LIMIT_NAMES.map((name) => [name, env[name]])) as Record<
    LimitName,
    number
  >;

  r.get(
    '/usage',
    {
      schema: {
        tags: ['usage'],
        operationId: 'getUsage',
        summary: 'What your tenant stores and runs, what it may still, and the limits that apply',
        querystring: NoQuery,
        response: { 200: Usage },
      },
    },
    async (request, reply) => {
      const usage = await getTenantUsage(db, request.tenantId);
      const { datasets, models, reserved, checkpoints } = usage.storedBytes;
      const total = totalStoredBytes(usage.storedBytes);
      const active = usage.jobs.queued + usage.jobs.running;
      // Set by the per-key rate limit hook for this very request.
      const header = (name: string, fallback: number) => {
        const value = Number(reply.getHeader(name));
        return Number.isFinite(value) ? value : fallback;
      };
      return {
        storedBytes: {
          datasets,
          models,
          reserved,
          checkpoints,
          total,
          limit: env.LIMIT_TENANT_STORED_BYTES,
          remaining: Math.max(0, env.LIMIT_TENANT_STORED_BYTES - total),
        },
        datasets: usage.datasets,
        networks: usage.networks,
        models: usage.models,
        jobs: usage.jobs,
        activeJobs: {
          count: active,
          limit: env.LIMIT_TENANT_ACTIVE_JOBS,
          remaining: Math.max(0, env.LIMIT_TENANT_ACTIVE_JOBS - active),
        },
        rateLimit: {
          limit: env.RATE_LIMIT_MAX,
          windowMs: env.RATE_LIMIT_WINDOW_MS,
          remaining: header('x-ratelimit-remaining', env.RATE_LIMIT_MAX),
          resetSeconds: header('x-ratelimit-reset', 0),
        },
        limits,
      };
    },
  );
}
