/**
 * Receipts and reproduction. GET /v1/models/:id/receipt says everything that made the model: the
 * resolved plan (every option with its default and the seed), the dataset (and its content hash
 * once known), the network definition, the package versions, dtype and threads, the job's times
 * and where its cost history is. POST /v1/jobs/:id/reproduce starts the same plan again on the
 * same dataset and network: @backprop/nn is deterministic for a plan (seeded initialisation,
 * shuffles and split), so the new model's weights are bit-identical.
 */
import { readFileSync } from 'node:fs';
import { ErrorBody, IdParams, Job, Receipt } from '@backprop/contracts';
import { ensureDatasetContentHash, getJobReceiptSource, getModelOrigin } from '@backprop/db';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { toJob } from '../jobs/present.ts';
import { readSchema } from './operations.ts';
import { found, getJobOrNotFound } from './resources.ts';
import { NoBody, NoQuery } from './strict.ts';

/** The plan resolves costEvery once (PlannedTraining). */
const PlannedCostEvery = z.object({ costEvery: z.number().int() });

const PackageJson = z.object({ name: z.string(), version: z.string() });

/** The versions of the code that trains and serves: the workspace packages and Node. */
function packageVersions(): Record<string, string> {
  const versions: Record<string, string> = { node: process.versions.node };
  for (const path of [
    '../../../../packages/nn/package.json',
    '../../../worker/package.json',
    '../../package.json',
  ]) {
    const pkg = PackageJson.parse(JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')));
    versions[pkg.name] = pkg.version;
  }
  return versions;
}

export async function reproduceRoutes(app: FastifyInstance): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { db } = app.deps;
  const packages = packageVersions();

  r.get(
    '/models/:id/receipt',
    {
      schema: readSchema(
        {
          tags: ['models'],
          operationId: 'getModelReceipt',
          summary: 'What made the model: plan, seed, dataset hash, network, versions, times, costs',
        },
        IdParams,
        Receipt,
      ),
    },
    async ({ tenantId, params: { id } }) => {
      // A model's job is deleted only after the model: a missing one means the model went meanwhile.
      const origin = found('model', id, await getModelOrigin(db, tenantId, id));
      const job = found('model', id, await getJobReceiptSource(db, tenantId, origin.jobId));
      const plan = z.record(z.string(), z.unknown()).parse(job.training);
      const { run: _run, ...options } = plan;
      return {
        modelId: id,
        job: {
          id: job.id,
          plan: options,
          createdAt: job.createdAt.toISOString(),
          startedAt: job.startedAt?.toISOString() ?? null,
          finishedAt: job.finishedAt?.toISOString() ?? null,
          attempts: job.attempt,
          costs: {
            url: `/v1/jobs/${job.id}/costs`,
            recorded: job.costs.byteLength / 8,
            costEvery: PlannedCostEvery.parse(plan).costEvery,
            final: job.cost,
          },
        },
        dataset: {
          id: job.dataset.id,
          name: job.dataset.name,
          samples: job.dataset.samples,
          features: job.dataset.features,
          contentHash:
            job.dataset.contentHash ?? (await ensureDatasetContentHash(db, tenantId, job.dataset.id)),
        },
        network: {
          id: job.network.id,
          inputSize: job.network.inputSize,
          layers: job.network.layers,
          init: job.network.init,
          parameterCount: job.network.parameterCount,
        },
        dtype: typeof options['dtype'] === 'string' ? options['dtype'] : 'float64',
        threads: typeof options['threads'] === 'number' ? options['threads'] : 1,
        packages,
      };
    },
  );

  r.post(
    '/jobs/:id/reproduce',
    {
      schema: {
        tags: ['jobs'],
        operationId: 'reproduceJob',
        summary: "Start a job's resolved plan again (same dataset, network, options and seed)",
        description:
          "The new job is created exactly as POST /v1/jobs creates one (checks, limits, quotas, Idempotency-Key), with the original job's resolved training options, seed included: its model's weights are bit-identical to the original's.",
        params: IdParams,
        querystring: NoQuery,
        body: NoBody,
        response: {
          202: Job,
          404: ErrorBody,
          409: ErrorBody,
          422: ErrorBody,
          429: ErrorBody,
          503: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const job = await getJobOrNotFound(db, request.tenantId, request.params.id);
      // The options as the job shows them (defaults and seed resolved), through POST /v1/jobs
      // itself, so a reproduction passes every check a new job does.
      const { training } = toJob(job);
      const res = await app.inject({
        method: 'POST',
        url: '/v1/jobs',
        headers: {
          authorization: request.headers.authorization ?? '',
          'content-type': 'application/json',
          ...(request.headers['idempotency-key']
            ? { 'idempotency-key': request.headers['idempotency-key'] }
            : {}),
        },
        payload: JSON.stringify({ datasetId: job.datasetId, networkId: job.networkId, training }),
      });
      for (const header of ['location', 'retry-after'] as const) {
        const value = res.headers[header];
        if (typeof value === 'string') reply.header(header, value);
      }
      // The answer is POST /v1/jobs' own, already serialised.
      const plain: FastifyReply = reply;
      return plain.code(res.statusCode).type('application/json; charset=utf-8').send(res.body);
    },
  );
}
