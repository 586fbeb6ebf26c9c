/**
 * How a dataset upload's body is read: its Content-Encoding undone (gzip), then, by content type,
 * CSV streamed into csv.ts or JSON bytes parsed (off the main thread when big, json-thread.ts).
 * Nothing here holds the event loop for long, so other tenants are served while one uploads.
 */
import { Readable } from 'node:stream';
import { ApiError, limitExceeded, type Task } from '@backprop/contracts';
import fastifyMultipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FastifyRouteSchemaDef, FastifyValidationResult } from 'fastify/types/schema.js';
import { z } from 'zod';
import type { ApiEnv } from '../env.ts';
import { parseJsonBody, validatorCompiler } from '../validation.ts';
import { ChunkSink, type StoreChunk } from './chunk-sink.ts';
import { readCsv } from './csv.ts';
import { decodeBody } from './encoding.ts';
import { readIdx } from './idx.ts';
import { parseJsonUpload } from './json.ts';
import type { ReadUpload } from './store.ts';

const UPLOAD_ROUTE = '/v1/datasets';

const isIdentity = (encoding: string | undefined) =>
  ['', 'identity'].includes((encoding ?? '').trim().toLowerCase());

/** Before the body's parser runs (preParsing), so by the header rather than request.isMultipart(). */
const isMultipart = (request: FastifyRequest) =>
  (request.headers['content-type'] ?? '').trim().toLowerCase().startsWith('multipart/form-data');

const isUpload = (request: FastifyRequest) =>
  request.method === 'POST' && request.routeOptions.url === UPLOAD_ROUTE;

/**
 * Registers, in the datasets routes' context, what the upload route needs: CSV bodies as streams,
 * JSON upload bodies as bytes (other JSON bodies of the context are parsed as everywhere else),
 * IDX files as multipart parts, and Content-Encoding undone before the CSV and JSON parsers read.
 */
export async function registerUploadParsers(app: FastifyInstance, env: ApiEnv): Promise<void> {
  // Each file's size is bounded here as sent and by readIdx as decompressed (LIMIT_UPLOAD_BYTES).
  await app.register(fastifyMultipart, {
    limits: { files: 2, fields: 0, parts: 2, fileSize: env.LIMIT_UPLOAD_BYTES },
    throwFileSizeLimit: true,
  });
  app.addContentTypeParser('text/csv', (_request, payload, done) => done(null, payload));
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    try {
      if (!Buffer.isBuffer(body)) throw new TypeError('the JSON parser was given no bytes');
      done(null, isUpload(request) ? body : parseJsonBody(body.toString('utf8')));
    } catch (err) {
      done(err instanceof Error ? err : new Error(String(err)), undefined);
    }
  });
  app.addHook('preParsing', async (request, _reply, payload) => {
    if (!isUpload(request)) return payload;
    if (isMultipart(request) && !isIdentity(request.headers['content-encoding'])) {
      // multipart reads the request itself: gzip the IDX files (as they ship), not the body
      throw new ApiError(
        'BP_ERR_UNSUPPORTED_MEDIA_TYPE',
        'a multipart upload is read as sent: send each IDX file gzipped (.gz) instead of a Content-Encoding',
      );
    }
    return decodeBody(payload, request.headers['content-encoding'], env.LIMIT_UPLOAD_BYTES);
  });
}

/**
 * The upload route's body is checked where it is parsed (readUpload: bytes or a stream are all the
 * validator would see); its other parts as on every route.
 */
export function uploadValidatorCompiler<S>(route: FastifyRouteSchemaDef<S>): FastifyValidationResult {
  if (route.httpPart === 'body') return (data: unknown) => ({ value: data });
  const { schema } = route;
  if (!(schema instanceof z.ZodType))
    throw new TypeError(`the ${route.httpPart} schema of ${route.url} is not zod`);
  return validatorCompiler({ ...route, schema });
}

export async function readUpload(
  request: FastifyRequest,
  query: { name?: string | undefined; label: string; task?: Task | undefined },
  env: ApiEnv,
  store: StoreChunk,
): Promise<ReadUpload> {
  const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const body = request.body;
  if (contentType === 'text/csv' && body instanceof Readable) {
    const declared = Number(request.headers['content-length']);
    if (declared > env.LIMIT_UPLOAD_BYTES) {
      throw limitExceeded(
        'LIMIT_UPLOAD_BYTES',
        declared,
        env.LIMIT_UPLOAD_BYTES,
        'the upload',
        'BP_ERR_PAYLOAD_TOO_LARGE',
      );
    }
    // A refusal mid-stream must not destroy the request itself (a for-await's exit would): that
    // resets the connection before the 413 is read; the security plugin's lingering close ends
    // it. A gunzip stream in between is destroyed as before, which stops the decompression.
    const source = body === request.raw ? body.iterator({ destroyOnReturn: false }) : body;
    const table = await readCsv(source, query.label, env, store);
    return { ...table, name: query.name, task: query.task };
  }
  if (contentType === 'application/json' && Buffer.isBuffer(body)) {
    const { x, ...parsed } = await parseJsonUpload(body, query.task, env);
    const sink = new ChunkSink(parsed.featureNames.length, store);
    await sink.addMatrix(x, parsed.samples);
    await sink.finish();
    return { ...parsed, name: parsed.name ?? query.name };
  }
  if (request.isMultipart()) {
    const files = request.files();
    const table = await readIdx(files, env, store);
    return { ...table, name: query.name, task: query.task };
  }
  throw new ApiError(
    'BP_ERR_UNSUPPORTED_MEDIA_TYPE',
    'send the dataset as text/csv, application/json or multipart/form-data (IDX images and labels)',
  );
}
