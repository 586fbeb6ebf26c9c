/** /v1/datasets: upload (CSV stream or JSON), read, list, delete. */
import {
  CreateDatasetJson,
  CreateDatasetQuery,
  Dataset,
  DatasetPage,
  ErrorBody,
  IdParams,
  ListDatasetsQuery,
} from '@backprop/contracts';
import { deleteDataset, getDataset, getStoredBytes, listDatasets, totalStoredBytes } from '@backprop/db';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { receiveDataset, toDataset } from '../datasets/store.ts';
import { readUpload, registerUploadParsers, uploadValidatorCompiler } from '../datasets/upload.ts';
import { deleteSchema, readSchema } from './operations.ts';
import { storageQuotaExceeded } from './quota.ts';
import { assertSoftDeleted, found, presentPage } from './resources.ts';

const tags = ['datasets'];

/** One sample, one feature (a byte, if it is a small integer) and its label (float64). */
const SMALLEST_DATASET_BYTES = 1 + 8;

/** Documents the CSV form; the stream itself is read and checked by `readCsv`. */
const CsvUpload = z.any().meta({
  type: 'string',
  description: 'CSV text: a header row, then one row per sample; the label column is chosen with ?label=',
});

/** Documents the IDX form; its parts are read and checked by `readIdx`. */
const IdxUpload = z
  .object({
    images: z.any().meta({
      type: 'string',
      format: 'binary',
      description: 'IDX unsigned-byte images, n × rows × cols (gzipped or not)',
    }),
    labels: z.any().meta({
      type: 'string',
      format: 'binary',
      description: 'IDX unsigned-byte labels, n (gzipped or not)',
    }),
  })
  .meta({ description: "The MNIST family's IDX files, one part each" });

export async function datasetRoutes(app: FastifyInstance): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { env } = app.deps;
  await registerUploadParsers(app, env);

  r.post(
    '/datasets',
    {
      bodyLimit: env.LIMIT_UPLOAD_BYTES,
      validatorCompiler: uploadValidatorCompiler,
      schema: {
        tags,
        operationId: 'createDataset',
        summary: 'Upload a dataset as CSV (text/csv, streamed), JSON, or IDX files (multipart)',
        description:
          'CSV: a header row; the label column is chosen with ?label= (default "label"); every other column is a numeric feature. JSON: { features: [[...]], labels: [...] }. IDX (the MNIST family): multipart/form-data with the parts images and labels, each gzipped or not; features are named pixel1, pixel2, ...',
        querystring: CreateDatasetQuery,
        // Only the JSON form has a schema: a CSV body is a stream the handler reads and checks.
        body: {
          content: {
            'application/json': { schema: CreateDatasetJson },
            'text/csv': { schema: CsvUpload },
            'multipart/form-data': { schema: IdxUpload },
          },
        },
        response: { 201: Dataset, 400: ErrorBody, 413: ErrorBody, 415: ErrorBody, 422: ErrorBody },
      },
      // A tenant whose quota is already used up is refused before its upload is read at all.
      preParsing: async (request) => {
        const stored = totalStoredBytes(await getStoredBytes(app.deps.db, request.tenantId));
        if (stored + SMALLEST_DATASET_BYTES > env.LIMIT_TENANT_STORED_BYTES) {
          throw storageQuotaExceeded(
            { stored, requested: SMALLEST_DATASET_BYTES },
            env.LIMIT_TENANT_STORED_BYTES,
            'even the smallest dataset',
          );
        }
      },
    },
    async (request, reply) => {
      const { query } = request;
      const dataset = await receiveDataset(
        app.deps.db,
        request.tenantId,
        { name: query.name, labelName: query.label },
        {
          maxClasses: env.LIMIT_CLASSES,
          threadHeapMb: env.UPLOAD_THREAD_HEAP_MB,
          maxStoredBytes: env.LIMIT_TENANT_STORED_BYTES,
          timeoutMs: Math.max(10_000, env.REQUEST_TIMEOUT_MS),
        },
        (store) => readUpload(request, query, env, store),
      );
      return reply.code(201).header('location', `/v1/datasets/${dataset.id}`).send(dataset);
    },
  );

  r.get(
    '/datasets',
    {
      schema: {
        tags,
        operationId: 'listDatasets',
        summary: 'List datasets, newest first (deleted ones are left out)',
        querystring: ListDatasetsQuery,
        response: { 200: DatasetPage },
      },
    },
    async (request) =>
      presentPage(await listDatasets(app.deps.db, request.tenantId, request.query), toDataset),
  );

  r.get(
    '/datasets/:id',
    {
      schema: readSchema(
        {
          tags,
          operationId: 'getDataset',
          summary: 'Read a dataset (a deleted one that finished jobs refer to shows deletedAt)',
        },
        IdParams,
        Dataset,
      ),
    },
    async ({ tenantId, params: { id } }) =>
      toDataset(found('dataset', id, await getDataset(app.deps.db, tenantId, id))),
  );

  r.delete(
    '/datasets/:id',
    {
      schema: deleteSchema(
        {
          tags,
          operationId: 'deleteDataset',
          summary: 'Delete a dataset, freeing its bytes (refused while a queued or running job uses it)',
          description:
            'If no job refers to the dataset, it is gone (then 404). If finished jobs do, its values are deleted and its row stays with deletedAt set, so GET still explains those jobs; it is left out of lists, and new jobs on it are refused (409 BP_ERR_DATASET_DELETED). Deleting it again is a 204 that changes nothing. Either way its bytes no longer count in /v1/usage.',
        },
        IdParams,
        { 409: ErrorBody },
      ),
    },
    async ({ tenantId, params: { id } }, reply) => {
      assertSoftDeleted('dataset', id, await deleteDataset(app.deps.db, tenantId, id));
      return reply.code(204).send(null);
    },
  );
}
