/**
 * /v1/models/:id/evaluations: a model's metrics on a dataset (binary, multi-class or regression:
 * @backprop/nn's metrics), computed off the event loop when big (evaluation/run.ts), stored, and
 * listed per model.
 */
import {
  ApiError,
  CreateEvaluation,
  ErrorBody,
  Evaluation,
  EvaluationPage,
  EvaluationParams,
  IdParams,
  ListEvaluationsQuery,
  limitExceeded,
} from '@backprop/contracts';
import {
  bytesToFloat64,
  createEvaluation,
  deleteEvaluation,
  getDataset,
  getDatasetWithValues,
  getEvaluation,
  listEvaluations,
} from '@backprop/db';
import { serializeBinary } from '@backprop/nn';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { toEvaluation } from '../evaluation/present.ts';
import { runEvaluation } from '../evaluation/run.ts';
import { checkEvaluable, targetsOf } from '../evaluation/targets.ts';
import { checkActivations } from '../jobs/plan.ts';
import { ModelCache } from '../models/cache.ts';
import { storedClasses } from '../stored.ts';
import { deleteSchema, readSchema } from './operations.ts';
import { notFound, presentPage } from './resources.ts';
import { NoQuery } from './strict.ts';

const tags = ['models'];

function evaluationNotFound(modelId: string, evaluationId: string): ApiError {
  return new ApiError(
    'BP_ERR_EVALUATION_NOT_FOUND',
    `evaluation ${evaluationId} of model ${modelId} does not exist`,
  );
}

/** Dataset values as float64s, whether the repository hands them decoded or as stored bytes. */
function asFloat64(values: Float64Array | Uint8Array): Float64Array {
  return values instanceof Float64Array ? values : bytesToFloat64(values);
}

export async function evaluationRoutes(app: FastifyInstance): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { env, db } = app.deps;
  const models = new ModelCache(db, 16);

  r.post(
    '/models/:id/evaluations',
    {
      schema: {
        tags,
        operationId: 'createEvaluation',
        summary: 'Evaluate a model on a dataset: its metrics, computed and kept',
        description:
          "The dataset must have the model's number of features, and for classification labels among the model's classes (otherwise 422 naming datasetId). Binary: accuracy, precision, recall, F1, ROC AUC and curve, log loss, confusion matrix at 0.5; multi-class: accuracy, per-class and averaged precision, recall and F1, confusion matrix, log loss; regression: MSE, RMSE, MAE, R².",
        params: IdParams,
        querystring: NoQuery,
        body: CreateEvaluation,
        response: { 201: Evaluation, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody },
      },
    },
    async (request, reply) => {
      const { tenantId } = request;
      const modelId = request.params.id;
      const { datasetId } = request.body;
      const [model, dataset] = await Promise.all([
        models.get(tenantId, modelId),
        getDataset(db, tenantId, datasetId),
      ]);
      if (!model) throw notFound('model', modelId);
      if (!dataset) {
        throw new ApiError('BP_ERR_DATASET_NOT_FOUND', `datasetId: dataset ${datasetId} does not exist`, {
          field: 'datasetId',
        });
      }
      if (dataset.deletedAt !== null) {
        throw new ApiError(
          'BP_ERR_DATASET_DELETED',
          `datasetId: dataset ${datasetId} was deleted at ${dataset.deletedAt.toISOString()}; its values are gone`,
          { field: 'datasetId', deletedAt: dataset.deletedAt.toISOString() },
        );
      }
      const modelShape = {
        inputSize: model.network.inputSize,
        task: model.task,
        classes: model.classes,
      };
      const datasetShape = {
        id: dataset.id,
        features: dataset.features,
        task: dataset.task,
        classes: storedClasses(dataset.classes) ?? null,
      };
      checkEvaluable(modelShape, datasetShape);
      const { layers } = model.network;
      checkActivations(dataset.samples, layers, env.LIMIT_ACTIVATION_VALUES);

      const values = await getDatasetWithValues(db, tenantId, datasetId);
      if (!values)
        throw new ApiError('BP_ERR_DATASET_NOT_FOUND', `datasetId: dataset ${datasetId} does not exist`);
      const metrics = await runEvaluation(
        {
          network: serializeBinary(model.network),
          normalization: model.normalization,
          task: model.task,
          classes: model.classes,
          x: asFloat64(values.x),
          samples: values.samples,
          features: values.features,
          targets: targetsOf(modelShape, datasetShape, asFloat64(values.y)),
          maxRocPoints: env.EVALUATION_ROC_MAX_POINTS,
        },
        dataset.samples * layers.reduce((n, l) => n + l.units, 0),
        env.EVALUATION_THREAD_HEAP_MB,
      );
      const created = await createEvaluation(db, {
        tenantId,
        modelId,
        datasetId,
        task: model.task,
        samples: values.samples,
        metrics,
        maxPerModel: env.LIMIT_MODEL_EVALUATIONS,
      });
      if (created.outcome === 'missing') throw notFound('model', modelId);
      if (created.outcome === 'limit') {
        throw limitExceeded(
          'LIMIT_MODEL_EVALUATIONS',
          created.count + 1,
          env.LIMIT_MODEL_EVALUATIONS,
          "the model's evaluations (delete one with DELETE /v1/models/{id}/evaluations/{evaluationId})",
        );
      }
      const row = created.evaluation;
      return reply
        .code(201)
        .header('location', `/v1/models/${modelId}/evaluations/${row.id}`)
        .send(toEvaluation(row));
    },
  );

  r.get(
    '/models/:id/evaluations',
    {
      schema: {
        tags,
        operationId: 'listEvaluations',
        summary: "A model's evaluations, newest first",
        params: IdParams,
        querystring: ListEvaluationsQuery,
        response: { 200: EvaluationPage, 404: ErrorBody },
      },
    },
    async (request) => {
      const { tenantId } = request;
      const modelId = request.params.id;
      if (!(await models.get(tenantId, modelId))) throw notFound('model', modelId);
      return presentPage(await listEvaluations(db, tenantId, modelId, request.query), toEvaluation);
    },
  );

  r.get(
    '/models/:id/evaluations/:evaluationId',
    {
      schema: readSchema(
        { tags, operationId: 'getEvaluation', summary: 'One evaluation of a model' },
        EvaluationParams,
        Evaluation,
      ),
    },
    async (request) => {
      const { id, evaluationId } = request.params;
      const row = await getEvaluation(db, request.tenantId, id, evaluationId);
      if (!row) throw evaluationNotFound(id, evaluationId);
      return toEvaluation(row);
    },
  );

  r.delete(
    '/models/:id/evaluations/:evaluationId',
    {
      schema: deleteSchema(
        { tags, operationId: 'deleteEvaluation', summary: 'Delete one evaluation of a model' },
        EvaluationParams,
        {},
      ),
    },
    async (request, reply) => {
      const { id, evaluationId } = request.params;
      if (!(await deleteEvaluation(db, request.tenantId, id, evaluationId)))
        throw evaluationNotFound(id, evaluationId);
      return reply.code(204).send(null);
    },
  );
}
