/** /v1/jobs: start training, poll it, read its cost history, cancel it. */
import { createHash } from 'node:crypto';
import {
  ApiError,
  CANCEL_CHANNEL,
  CreateJob,
  ErrorBody,
  IdempotencyHeaders,
  IdParams,
  Job,
  JobCosts,
  JobPage,
  ListJobsQuery,
  limitExceeded,
  TRAIN_JOB_NAME,
  type TrainingJobPayload,
} from '@backprop/contracts';
import {
  bytesToFloat64,
  cancelJob,
  createJobWithinQuota,
  deleteJob,
  getDataset,
  getJob,
  listJobs,
  MissingReferenceError,
  storedModelBytes,
} from '@backprop/db';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { publishStatus } from '../events/publish.ts';
import { planTraining } from '../jobs/plan.ts';
import { toJob } from '../jobs/present.ts';
import { getJobReferences, referenceNotFound } from '../jobs/references.ts';
import { isQueueRefusal } from '../queue.ts';
import { StoredCostEvery, StoredLayers } from '../stored.ts';
import { deleteSchema, readSchema } from './operations.ts';
import { storageQuotaExceeded } from './quota.ts';
import { getJobOrNotFound, notFound, presentPage } from './resources.ts';
import { NoBody, NoQuery } from './strict.ts';

const tags = ['jobs'];

/** A stable hash of a JSON value: object keys sorted, so key order does not matter. */
export function requestHash(value: unknown): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
          )
        : v;
  return createHash('sha256')
    .update(JSON.stringify(canonical(value)))
    .digest('hex');
}

export async function jobRoutes(app: FastifyInstance): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { env, db, queue, redis } = app.deps;

  /** Redis must be up before a job row is written: otherwise answer 503 at once. */
  async function assertQueueReachable(): Promise<void> {
    if (redis.status !== 'ready') {
      throw new ApiError('BP_ERR_UNAVAILABLE', 'the job queue is unreachable; retry shortly');
    }
  }

  r.post(
    '/jobs',
    {
      schema: {
        tags,
        operationId: 'createJob',
        summary: 'Start a training job',
        description:
          'Checks the dataset and network against each other and the limits, stores the job and queues it. An Idempotency-Key header makes a retried POST return the same job.',
        headers: IdempotencyHeaders,
        querystring: NoQuery,
        body: CreateJob,
        response: {
          202: Job,
          400: ErrorBody,
          404: ErrorBody,
          409: ErrorBody,
          413: ErrorBody,
          422: ErrorBody,
          429: ErrorBody,
          503: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const { tenantId } = request;
      const body = request.body;
      const { dataset, network } = await getJobReferences(db, tenantId, body);
      const layers = StoredLayers.parse(network.layers);
      const plan = planTraining(dataset, { inputSize: network.inputSize, layers }, body.training, env);
      await assertQueueReachable();

      const idempotencyKey = request.headers['idempotency-key'];
      const admitted = await createJobWithinQuota(
        db,
        {
          tenantId,
          datasetId: dataset.id,
          networkId: network.id,
          training: plan.training,
          iterations: plan.updates,
          idempotencyKey: idempotencyKey ?? null,
          requestHash: idempotencyKey ? requestHash(body) : null,
        },
        {
          maxActiveJobs: env.LIMIT_TENANT_ACTIVE_JOBS,
          maxStoredBytes: env.LIMIT_TENANT_STORED_BYTES,
          modelBytes: storedModelBytes(layers.length, network.parameterCount),
        },
      ).catch(async (err: unknown) => {
        // Deleted between the checks above and the insert (its foreign key): still a 404.
        if (!(err instanceof MissingReferenceError)) throw err;
        if (!(await getDataset(db, tenantId, body.datasetId)))
          throw referenceNotFound('dataset', body.datasetId);
        throw referenceNotFound('network', body.networkId);
      });
      if (admitted.outcome === 'active_jobs') {
        throw limitExceeded(
          'LIMIT_TENANT_ACTIVE_JOBS',
          admitted.active + 1,
          env.LIMIT_TENANT_ACTIVE_JOBS,
          'your queued and running jobs, with this one,',
          'BP_ERR_TOO_MANY_ACTIVE_JOBS',
        );
      }
      // A deleted dataset or network is refused there, under a lock, after an Idempotency-Key
      // retry of a job created before the delete got its job back.
      if (admitted.outcome === 'deleted') {
        const id = admitted.resource === 'dataset' ? dataset.id : network.id;
        throw referenceDeleted(admitted.resource, id, admitted.deletedAt);
      }
      if (admitted.outcome === 'storage_quota')
        throw storageQuotaExceeded(admitted, env.LIMIT_TENANT_STORED_BYTES, "the job's model");
      const created = admitted.result;
      if (!created.created && created.requestHashMatches === false) {
        throw new ApiError(
          'BP_ERR_IDEMPOTENCY_MISMATCH',
          `Idempotency-Key "${idempotencyKey}" was already used with a different request body`,
          { jobId: created.job.id },
        );
      }
      const job = created.job;
      if (created.created) {
        const payload: TrainingJobPayload = { jobId: job.id, tenantId };
        // Before the enqueue, so that the worker's events follow it: the stream starts complete.
        await publishStatus(app.deps, request.log, job.id, 'queued', { created: true });
        try {
          await queue.add(TRAIN_JOB_NAME, payload, { jobId: job.id });
        } catch (err) {
          if (isQueueRefusal(err)) {
            // Redis refused the write (e.g. out of memory): the reconciler could not enqueue it
            // either, so the job is not accepted. Undo the row, unless a worker already took it.
            await db.trainingJob.deleteMany({ where: { id: job.id, status: 'queued', attempt: 0 } });
            request.log.warn({ err, jobId: job.id }, 'the queue refused the job; answered 503');
            throw new ApiError(
              'BP_ERR_UNAVAILABLE',
              'the job queue refuses new jobs right now; retry shortly',
            );
          }
          // The row is the system of record: the worker's reconciler enqueues queued rows that
          // the queue does not hold, so the job is accepted even though this add failed.
          request.log.warn({ err, jobId: job.id }, 'enqueue failed; the reconciler will enqueue the job');
        }
      }
      return reply.code(202).header('location', `/v1/jobs/${job.id}`).send(toJob(job));
    },
  );

  r.get(
    '/jobs',
    {
      schema: {
        tags,
        operationId: 'listJobs',
        summary: 'List jobs, newest first',
        querystring: ListJobsQuery,
        response: { 200: JobPage },
      },
    },
    async (request) => presentPage(await listJobs(db, request.tenantId, request.query), toJob),
  );

  r.get(
    '/jobs/:id',
    {
      schema: readSchema({ tags, operationId: 'getJob', summary: 'Poll a job' }, IdParams, Job),
    },
    async (request) => toJob(await getJobOrNotFound(db, request.tenantId, request.params.id)),
  );

  r.get(
    '/jobs/:id/costs',
    {
      schema: readSchema(
        {
          tags,
          operationId: 'getJobCosts',
          summary: 'The cost history: J_0, J_k, J_2k, ... (and the final cost)',
        },
        IdParams,
        JobCosts,
      ),
    },
    async (request) => {
      const job = await getJobOrNotFound(db, request.tenantId, request.params.id);
      const finite = (c: number) => (Number.isFinite(c) ? c : null);
      const costs = Array.from(bytesToFloat64(job.costs), finite);
      const pairs = bytesToFloat64(job.validationHistory);
      const { costEvery } = StoredCostEvery.parse(job.training);
      if (pairs.length === 0) return { costEvery, costs };
      // Two values per recorded cost: the held-out cost, then the accuracy or the MSE.
      const dataset = await getDataset(db, request.tenantId, job.datasetId);
      const scores = Array.from({ length: pairs.length / 2 }, (_, i) => finite(pairs[2 * i + 1]!));
      return {
        costEvery,
        costs,
        validation: {
          costs: Array.from({ length: pairs.length / 2 }, (_, i) => finite(pairs[2 * i]!)),
          ...(dataset?.task === 'regression' ? { mse: scores } : { accuracy: scores }),
        },
      };
    },
  );

  r.post(
    '/jobs/:id/cancel',
    {
      schema: {
        tags,
        operationId: 'cancelJob',
        summary: 'Cancel a queued or running job',
        params: IdParams,
        querystring: NoQuery,
        body: NoBody,
        response: { 200: Job, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (request) => {
      const { id } = request.params;
      const result = await cancelJob(db, request.tenantId, id);
      if (result.outcome === 'not_found') throw notFound('job', id);
      if (result.outcome === 'already_terminal') {
        throw new ApiError(
          'BP_ERR_JOB_FINISHED',
          `job ${id} has already finished with status ${result.status}`,
          {
            status: result.status,
          },
        );
      }
      await publishStatus(app.deps, request.log, id, 'cancelled');
      // Tell a running worker now rather than at its next progress write; a waiting job is removed.
      try {
        await Promise.all([redis.publish(CANCEL_CHANNEL, id), queue.remove(id)]);
      } catch (err) {
        request.log.warn(
          { err, jobId: id },
          'cancel notification failed; the worker sees it at its next progress write',
        );
      }
      const job = await getJob(db, request.tenantId, id);
      return toJob(job!);
    },
  );

  r.delete(
    '/jobs/:id',
    {
      schema: deleteSchema(
        {
          tags,
          operationId: 'deleteJob',
          summary: 'Delete a finished job with its cost history',
          description:
            'Only a succeeded, failed or cancelled job (a queued or running one: cancel it first, 409 BP_ERR_JOB_ACTIVE), and only once its model is deleted (409 BP_ERR_JOB_HAS_MODEL, details.modelId). Then GET answers 404, and its Idempotency-Key may be used again.',
        },
        IdParams,
        { 409: ErrorBody },
      ),
    },
    async (request, reply) => {
      const { id } = request.params;
      const result = await deleteJob(db, request.tenantId, id);
      if (result.deleted) {
        // Its finished entry in the queue (kept a while for operators) goes too; no harm if not.
        await queue.remove(id).catch((err: unknown) => {
          request.log.warn({ err, jobId: id }, "could not remove a deleted job's queue entry");
        });
        return reply.code(204).send(null);
      }
      if (result.reason === 'active') {
        throw new ApiError(
          'BP_ERR_JOB_ACTIVE',
          `job ${id} is ${result.status}; cancel it (POST /v1/jobs/${id}/cancel) before deleting it`,
          { status: result.status },
        );
      }
      if (result.reason === 'has_model') {
        throw new ApiError(
          'BP_ERR_JOB_HAS_MODEL',
          `job ${id} produced model ${result.modelId}; delete the model (DELETE /v1/models/${result.modelId}) before the job`,
          { modelId: result.modelId },
        );
      }
      throw notFound('job', id);
    },
  );
}

/** A new job names a deleted dataset or network (kept only so that finished jobs stay explainable). */
function referenceDeleted(resource: 'dataset' | 'network', id: string, deletedAt: Date): ApiError {
  const field = `${resource}Id`;
  return new ApiError(
    resource === 'dataset' ? 'BP_ERR_DATASET_DELETED' : 'BP_ERR_NETWORK_DELETED',
    `${field}: ${resource} ${id} was deleted at ${deletedAt.toISOString()}; no new job may use it`,
    { field, deletedAt: deletedAt.toISOString() },
  );
}
