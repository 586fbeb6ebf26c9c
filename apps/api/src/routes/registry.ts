/**
 * The model registry: GET /v1/models (filtered, paginated), PATCH /v1/models/:id (registry name,
 * tags), GET /v1/registry/:name (versions and aliases), PUT/DELETE
 * /v1/registry/:name/aliases/:alias, and predictions through an alias, so that clients keep one
 * URL while the model behind it is replaced.
 *
 * The rules: naming a model makes it the next version under the name (1, 2, ..., never reused);
 * an alias points to one version and moves when PUT again; a model an alias points to can be
 * neither deleted nor renamed (409 BP_ERR_MODEL_ALIASED naming the aliases): move the alias first.
 */
import {
  Alias,
  AliasParams,
  ApiError,
  ErrorBody,
  IdParams,
  ListModelsQuery,
  limitExceeded,
  Model,
  ModelPage,
  PredictRequest,
  PredictResponse,
  RegisteredModel,
  RegistryParams,
  SetAliasRequest,
  UpdateModelRequest,
} from '@backprop/contracts';
import {
  deleteAlias,
  getRegisteredModel,
  listModels,
  resolveAlias,
  setAlias,
  updateModelRegistration,
} from '@backprop/db';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { checkPredictSamples, predictWithinLimits } from '../models/predict.ts';
import { toModel } from '../models/present.ts';
import { deleteSchema, readSchema } from './operations.ts';
import { notFound, presentPage } from './resources.ts';
import { NoQuery } from './strict.ts';

const tags = ['registry'];

export function aliasedError(what: string, aliases: string[], modelId: string): ApiError {
  return new ApiError(
    'BP_ERR_MODEL_ALIASED',
    `${what}: ${aliases.join(', ')} ${aliases.length === 1 ? 'points' : 'point'} to model ${modelId}; move or delete ${aliases.length === 1 ? 'that alias' : 'those aliases'} first`,
    { reason: 'aliased', modelId, aliases },
  );
}

function aliasNotFound(name: string, alias: string): ApiError {
  return new ApiError('BP_ERR_NOT_FOUND', `there is no alias ${name}@${alias}`);
}

export async function registryRoutes(app: FastifyInstance): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { env, db } = app.deps;

  r.get(
    '/models',
    {
      schema: {
        tags: ['models'],
        operationId: 'listModels',
        summary: 'List models, newest first: by job, dataset, registry name or tag',
        querystring: ListModelsQuery,
        response: { 200: ModelPage, 400: ErrorBody },
      },
    },
    async (request) => {
      const { limit, cursor, ...filters } = request.query;
      // A cursor this list did not return is a 400 (the error handler knows InvalidCursorError).
      const page = await listModels(db, request.tenantId, { limit, cursor: cursor ?? null, ...filters });
      return presentPage(page, toModel);
    },
  );

  r.patch(
    '/models/:id',
    {
      schema: {
        tags: ['models'],
        operationId: 'updateModel',
        summary: "Set a model's registry name (it becomes the next version under it) and tags",
        params: IdParams,
        querystring: NoQuery,
        body: UpdateModelRequest,
        response: { 200: Model, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody },
      },
    },
    async ({ tenantId, params: { id }, body }) => {
      const tagCount = new Set(body.tags).size;
      if (tagCount > env.LIMIT_MODEL_TAGS) {
        throw limitExceeded('LIMIT_MODEL_TAGS', tagCount, env.LIMIT_MODEL_TAGS, 'the number of tags');
      }
      const result = await updateModelRegistration(db, tenantId, id, body);
      if ('refused' in result) {
        if (result.refused === 'not-found') throw notFound('model', id);
        throw aliasedError('its name cannot change', result.aliases, id);
      }
      return toModel(result);
    },
  );

  r.get(
    '/registry/:name',
    {
      schema: readSchema(
        {
          tags,
          operationId: 'getRegisteredModel',
          summary: 'A registry name: its versions (newest first) and its aliases',
        },
        RegistryParams,
        RegisteredModel,
      ),
    },
    async (request) => {
      const { name } = request.params;
      const found = await getRegisteredModel(db, request.tenantId, name);
      if (!found) throw new ApiError('BP_ERR_NOT_FOUND', `no model was ever registered as ${name}`);
      return {
        name: found.name,
        createdAt: found.createdAt.toISOString(),
        versions: found.versions.map((v) => ({ ...v, createdAt: v.createdAt.toISOString() })),
        aliases: found.aliases,
      };
    },
  );

  r.put(
    '/registry/:name/aliases/:alias',
    {
      schema: {
        tags,
        operationId: 'setModelAlias',
        summary: 'Point name@alias at one version under the name (creates or moves the alias)',
        params: AliasParams,
        querystring: NoQuery,
        body: SetAliasRequest,
        response: { 200: Alias, 404: ErrorBody },
      },
    },
    async (request) => {
      const { name, alias } = request.params;
      const { version } = request.body;
      const set = await setAlias(db, request.tenantId, name, alias, version);
      if (!set)
        throw new ApiError('BP_ERR_NOT_FOUND', `${name} has no version ${version}`, { field: 'version' });
      return { name, alias, version, modelId: set.modelId, previousModelId: set.previous };
    },
  );

  r.delete(
    '/registry/:name/aliases/:alias',
    {
      schema: deleteSchema(
        { tags, operationId: 'deleteModelAlias', summary: 'Remove name@alias (the model stays)' },
        AliasParams,
        {},
      ),
    },
    async (request, reply) => {
      const { name, alias } = request.params;
      if (!(await deleteAlias(db, request.tenantId, name, alias))) throw aliasNotFound(name, alias);
      return reply.code(204).send(null);
    },
  );

  r.post(
    '/registry/:name/aliases/:alias/predictions',
    {
      schema: {
        tags,
        operationId: 'predictWithAlias',
        summary: 'Predict with the model name@alias points to now (the answer names it in modelId)',
        params: AliasParams,
        querystring: NoQuery,
        body: PredictRequest,
        response: { 200: PredictResponse, 404: ErrorBody, 422: ErrorBody },
      },
    },
    async (request) => {
      const { name, alias } = request.params;
      const { samples } = request.body;
      checkPredictSamples(samples.length, env);
      const modelId = await resolveAlias(db, request.tenantId, name, alias);
      const loaded = modelId === null ? null : await app.modelCache.get(request.tenantId, modelId);
      if (modelId === null || !loaded) throw aliasNotFound(name, alias);
      return { modelId, predictions: predictWithinLimits(loaded, samples, env) };
    },
  );
}
