/** /v1/models: trained models, their parameters, and predictions. */
import { ErrorBody, IdParams, Model, Parameters, PredictRequest, PredictResponse } from '@backprop/contracts';
import { deleteModelUnlessAliased, getModel } from '@backprop/db';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { checkPredictSamples, predictWithinLimits } from '../models/predict.ts';
import { toModel } from '../models/present.ts';
import { deleteSchema, readSchema } from './operations.ts';
import { aliasedError } from './registry.ts';
import { found, notFound } from './resources.ts';
import { NoQuery } from './strict.ts';

const tags = ['models'];

export async function modelRoutes(app: FastifyInstance): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { env, db } = app.deps;

  r.get(
    '/models/:id',
    {
      schema: readSchema(
        {
          tags,
          operationId: 'getModel',
          summary: 'Read a model: its job, layers, task, classes, metrics and normalisation',
        },
        IdParams,
        Model,
      ),
    },
    async ({ tenantId, params: { id } }) => toModel(found('model', id, await getModel(db, tenantId, id))),
  );

  r.get(
    '/models/:id/parameters',
    {
      schema: readSchema(
        {
          tags,
          operationId: 'getModelParameters',
          summary:
            "The trained weights and biases in the course's layout: W1 (n[1], n[0]), b1 (n[1], 1), ...",
        },
        IdParams,
        Parameters,
      ),
    },
    async ({ tenantId, params: { id } }) =>
      found('model', id, await app.modelCache.get(tenantId, id)).network.parameters(),
  );

  r.post(
    '/models/:id/predictions',
    {
      // LIMIT_BODY_BYTES, like every JSON body: Fastify refuses a longer one from its
      // Content-Length, before reading it (JSON.parse and validation run on the main thread).
      schema: {
        tags,
        operationId: 'predict',
        summary: 'Predict labels (classification) or values (regression) for samples in raw units',
        params: IdParams,
        querystring: NoQuery,
        body: PredictRequest,
        response: { 200: PredictResponse, 400: ErrorBody, 404: ErrorBody, 422: ErrorBody },
      },
    },
    async ({ tenantId, params: { id }, body: { samples } }) => {
      checkPredictSamples(samples.length, env);
      const loaded = found('model', id, await app.modelCache.get(tenantId, id));
      return { modelId: id, predictions: predictWithinLimits(loaded, samples, env) };
    },
  );

  r.delete(
    '/models/:id',
    {
      schema: deleteSchema(
        {
          tags,
          operationId: 'deleteModel',
          summary: 'Delete a model, freeing its parameter bytes',
          description:
            'The model is gone (then 404, predictions too). Its job stays succeeded with modelId null, and can then be deleted itself. A model a registry alias points to is not deleted: 409 BP_ERR_MODEL_ALIASED names the aliases; move or delete them first.',
        },
        IdParams,
        { 409: ErrorBody },
      ),
    },
    async ({ tenantId, params: { id } }, reply) => {
      const result = await deleteModelUnlessAliased(db, tenantId, id);
      if ('refused' in result) {
        if (result.refused === 'aliased')
          throw aliasedError('the model cannot be deleted', result.aliases, id);
        throw notFound('model', id);
      }
      app.modelCache.evict(id);
      return reply.code(204).send(null);
    },
  );
}
