/** /v1/networks: store and read network definitions. */
import {
  CreateNetwork,
  ErrorBody,
  IdParams,
  Init,
  type Layer,
  ListNetworksQuery,
  limitExceeded,
  Network,
  NetworkPage,
  parameterCount,
} from '@backprop/contracts';
import { createNetwork, deleteNetwork, getNetwork, listNetworks } from '@backprop/db';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiEnv } from '../env.ts';
import { StoredLayers } from '../stored.ts';
import { deleteSchema, readSchema } from './operations.ts';
import { assertSoftDeleted, found, presentPage } from './resources.ts';
import { NoQuery } from './strict.ts';

const tags = ['networks'];

interface NetworkRow {
  id: string;
  name: string;
  inputSize: number;
  layers: unknown;
  init: string;
  parameterCount: number;
  createdAt: Date;
  deletedAt: Date | null;
}

export function toNetwork(row: NetworkRow): Network {
  return {
    id: row.id,
    name: row.name,
    inputSize: row.inputSize,
    layers: StoredLayers.parse(row.layers),
    init: Init.parse(row.init),
    parameterCount: row.parameterCount,
    createdAt: row.createdAt.toISOString(),
    deletedAt: row.deletedAt?.toISOString() ?? null,
  };
}

/** The default initialisation suits the hidden activation: He for relu-like, Xavier otherwise. */
export function defaultInit(layers: readonly Layer[]): Init {
  const hidden = layers.slice(0, -1);
  if (hidden.length === 0) return 'random';
  return hidden.every((l) => l.activation === 'relu' || l.activation === 'leaky_relu') ? 'he' : 'xavier';
}

function checkNetworkLimits(body: CreateNetwork, env: ApiEnv): number {
  if (body.inputSize > env.LIMIT_DATASET_COLUMNS) {
    throw limitExceeded('LIMIT_DATASET_COLUMNS', body.inputSize, env.LIMIT_DATASET_COLUMNS, 'inputSize');
  }
  if (body.layers.length > env.LIMIT_LAYERS) {
    throw limitExceeded('LIMIT_LAYERS', body.layers.length, env.LIMIT_LAYERS, 'the number of layers');
  }
  body.layers.forEach((layer, i) => {
    if (layer.units > env.LIMIT_UNITS_PER_LAYER) {
      throw limitExceeded(
        'LIMIT_UNITS_PER_LAYER',
        layer.units,
        env.LIMIT_UNITS_PER_LAYER,
        `layers.${i}.units`,
      );
    }
  });
  const count = parameterCount(body.inputSize, body.layers);
  if (count > env.LIMIT_PARAMETERS) {
    throw limitExceeded('LIMIT_PARAMETERS', count, env.LIMIT_PARAMETERS, 'the number of weights and biases');
  }
  return count;
}

export async function networkRoutes(app: FastifyInstance): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { env } = app.deps;

  r.post(
    '/networks',
    {
      schema: {
        tags,
        operationId: 'createNetwork',
        summary: 'Define a network',
        querystring: NoQuery,
        body: CreateNetwork,
        response: { 201: Network, 400: ErrorBody, 422: ErrorBody },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const count = checkNetworkLimits(body, env);
      const row = await createNetwork(app.deps.db, {
        tenantId: request.tenantId,
        name: body.name ?? `network-${new Date().toISOString()}`,
        inputSize: body.inputSize,
        layers: body.layers,
        init: body.init ?? defaultInit(body.layers),
        parameterCount: count,
      });
      const network = toNetwork(row);
      return reply.code(201).header('location', `/v1/networks/${network.id}`).send(network);
    },
  );

  r.get(
    '/networks',
    {
      schema: {
        tags,
        operationId: 'listNetworks',
        summary: 'List networks, newest first (deleted ones are left out)',
        querystring: ListNetworksQuery,
        response: { 200: NetworkPage },
      },
    },
    async (request) =>
      presentPage(await listNetworks(app.deps.db, request.tenantId, request.query), toNetwork),
  );

  r.get(
    '/networks/:id',
    {
      schema: readSchema(
        {
          tags,
          operationId: 'getNetwork',
          summary: 'Read a network (a deleted one that finished jobs refer to shows deletedAt)',
        },
        IdParams,
        Network,
      ),
    },
    async ({ tenantId, params: { id } }) =>
      toNetwork(found('network', id, await getNetwork(app.deps.db, tenantId, id))),
  );

  r.delete(
    '/networks/:id',
    {
      schema: deleteSchema(
        {
          tags,
          operationId: 'deleteNetwork',
          summary: 'Delete a network (refused while a queued or running job uses it)',
          description:
            'If no job refers to the network, it is gone (then 404). If finished jobs do, it stays with deletedAt set, so GET still explains those jobs; it is left out of lists, and new jobs on it are refused (409 BP_ERR_NETWORK_DELETED). Deleting it again is a 204 that changes nothing.',
        },
        IdParams,
        { 409: ErrorBody },
      ),
    },
    async ({ tenantId, params: { id } }, reply) => {
      assertSoftDeleted('network', id, await deleteNetwork(app.deps.db, tenantId, id));
      return reply.code(204).send(null);
    },
  );
}
