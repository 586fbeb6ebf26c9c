/** GET /v1/models/:id/export: a trained model to take away, as JSON, a JS module or ONNX. */
import { ErrorBody, type ExportFormat, ExportQuery, IdParams } from '@backprop/contracts';
import { getModelOrigin } from '@backprop/db';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ModelCache } from '../models/cache.ts';
import { exportJs } from '../models/export/js.ts';
import { exportJson } from '../models/export/json.ts';
import { exportOnnx } from '../models/export/onnx.ts';
import { type ExportSource, StoredFeatureNames } from '../models/export/source.ts';
import { notFound } from './resources.ts';

const FORMATS: Record<
  ExportFormat,
  { contentType: string; extension: string; build: (s: ExportSource) => string | Uint8Array }
> = {
  json: { contentType: 'application/json; charset=utf-8', extension: 'json', build: exportJson },
  js: { contentType: 'text/javascript; charset=utf-8', extension: 'mjs', build: exportJs },
  onnx: { contentType: 'application/octet-stream', extension: 'onnx', build: exportOnnx },
};

export async function modelExportRoutes(app: FastifyInstance): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { db } = app.deps;
  // The predict path's loader: whatever form the weights are stored in, exports read them as
  // predictions do.
  const cache = new ModelCache(db, 16);

  r.get(
    '/models/:id/export',
    {
      schema: {
        tags: ['models'],
        operationId: 'exportModel',
        summary: 'Download a model: backprop-model JSON, a standalone JavaScript module, or ONNX',
        description:
          'json: versioned, self-describing (layers, activations, weights in the course layout W[l] (n[l], n[l-1]), normalisation, class and feature names, task), read by @backprop/nn readModelExport. js: an ES module without dependencies exporting predict(samples), which answers as POST /v1/models/{id}/predictions. onnx: an ONNX model (opset 13, double precision) with input "samples" (N, n[0]) in raw units and output "output" (N, n[L]). The file name comes in Content-Disposition.',
        params: IdParams,
        querystring: ExportQuery,
        response: {
          200: {
            description: 'The model in the requested format',
            content: {
              'application/json': { schema: z.string().describe('format=json: a backprop-model document') },
              'text/javascript': { schema: z.string().describe('format=js: an ES module') },
              'application/octet-stream': {
                schema: z.string().meta({ format: 'binary' }).describe('format=onnx: an ONNX ModelProto'),
              },
            },
          },
          400: ErrorBody,
          404: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const [model, origin] = await Promise.all([
        cache.get(request.tenantId, id),
        getModelOrigin(db, request.tenantId, id),
      ]);
      if (!model || !origin) throw notFound('model', id);
      const format = FORMATS[request.query.format];
      const body = format.build({
        ...origin,
        model,
        featureNames: StoredFeatureNames.parse(origin.featureNames),
      });
      // The type provider types send() from the schemas, which say string for the ONNX bytes
      // (OpenAPI's binary string); the plain reply takes the Buffer.
      const plain: FastifyReply = reply;
      return plain
        .header('content-type', format.contentType)
        .header('content-disposition', `attachment; filename="model-${id}.${format.extension}"`)
        .send(typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    },
  );
}
