/**
 * The one error handler: every failure leaves as `{ statusCode, code, error, message, details? }`.
 * Validation failures name the field path and the reason; 5xx messages are masked and logged with
 * the request id.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { ApiError, ERRORS, type ErrorBody } from '@backprop/contracts';
import { InvalidCursorError, isDatabaseUnavailable } from '@backprop/db';
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { BARE_SECURITY_HEADERS } from './security.ts';

interface ValidationIssue {
  path: string;
  message: string;
}

function describeIssues(issues: ValidationIssue[]): string {
  return issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
}

/** Fastify's own errors (body too large, bad JSON, wrong content type) mapped to our catalog. */
function fromFastifyError(err: FastifyError, request: FastifyRequest, app: FastifyInstance): ApiError | null {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': {
      // Uploads (datasets, predictions) have their own, larger limit: name the one that applied.
      const { LIMIT_BODY_BYTES, LIMIT_UPLOAD_BYTES } = app.deps.env;
      const max = request.routeOptions.bodyLimit ?? LIMIT_BODY_BYTES;
      const limit = max === LIMIT_UPLOAD_BYTES ? 'LIMIT_UPLOAD_BYTES' : 'LIMIT_BODY_BYTES';
      return new ApiError(
        'BP_ERR_PAYLOAD_TOO_LARGE',
        `the request body is larger than ${limit} = ${max} bytes`,
        {
          limit,
          max,
        },
      );
    }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError('BP_ERR_UNSUPPORTED_MEDIA_TYPE', err.message);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      // A body shorter or longer than its Content-Length: a malformed request, not a media type.
      return new ApiError('BP_ERR_VALIDATION', err.message);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError('BP_ERR_VALIDATION', `the body is not valid JSON: ${err.message}`);
    default:
      break;
  }
  if (err.statusCode === 400 && err.message.includes('prototype')) {
    return new ApiError(
      'BP_ERR_VALIDATION',
      'the body may not contain "__proto__" or "constructor.prototype" keys',
    );
  }
  if (err.statusCode === 400) return new ApiError('BP_ERR_VALIDATION', err.message);
  return null;
}

/** What Node's HTTP parser refused, as the catalog says it. */
function fromClientError(err: Error & { code?: string }, maxHeaderBytes: number): ApiError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new ApiError(
        'BP_ERR_HEADERS_TOO_LARGE',
        `the request line and headers are larger than LIMIT_HEADER_BYTES = ${maxHeaderBytes} bytes (a long URL counts too)`,
        { limit: 'LIMIT_HEADER_BYTES', max: maxHeaderBytes },
      );
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new ApiError('BP_ERR_REQUEST_TIMEOUT', 'the request did not arrive within REQUEST_TIMEOUT_MS');
    default:
      // HPE_INVALID_METHOD, HPE_INVALID_HEADER_TOKEN, ...: the parser's reason, without the bytes.
      return new ApiError(
        'BP_ERR_VALIDATION',
        `the request is not valid HTTP/1.1 (${err.code ?? 'parse error'})`,
      );
  }
}

/** True once a response has begun on this socket: then nothing more may be written to it. */
function responseStarted(socket: Socket): boolean {
  const current: unknown = Reflect.get(socket, '_httpMessage');
  return typeof current === 'object' && current !== null && Reflect.get(current, 'headersSent') === true;
}

/**
 * Fastify's `clientErrorHandler`: Node's own refusals (431 headers too large, 408 timeout, 400
 * malformed HTTP), which no route or hook sees, answered in the error catalog's shape. Fastify's
 * default answers `{ error, message, statusCode }` without a `code`. Only the error's code and
 * message are logged: the error also carries the raw bytes (`rawPacket`), Authorization included.
 */
export function clientErrorHandler(
  this: FastifyInstance,
  err: Error & { code?: string },
  socket: Socket,
): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const body = fromClientError(err, this.deps.env.LIMIT_HEADER_BYTES).toBody();
  this.log.debug({ clientError: { code: err.code, message: err.message } }, 'client error');
  if (socket.writable && !responseStarted(socket)) {
    const json = JSON.stringify(body);
    const headers = {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(json)),
      connection: 'close',
      ...BARE_SECURITY_HEADERS,
    };
    const head = Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    socket.write(`HTTP/1.1 ${body.statusCode} ${STATUS_CODES[body.statusCode]}\r\n${head}\r\n${json}`);
  }
  socket.destroy(err);
}

export const errorsPlugin = fp(
  async (app: FastifyInstance) => {
    // Requests that arrive while the server closes (on a connection already open): 503, so a
    // load balancer retries them elsewhere, and the connection closes. Fastify's own
    // (return503OnClosing) would answer without a `code`.
    let closing = false;
    app.addHook('preClose', async () => {
      closing = true;
    });
    app.addHook('onRequest', async (_request, reply) => {
      if (!closing) return;
      reply.header('connection', 'close');
      throw new ApiError('BP_ERR_UNAVAILABLE', 'the server is shutting down; retry the request');
    });

    app.setNotFoundHandler((request, reply) => {
      const body: ErrorBody = {
        statusCode: 404,
        code: 'BP_ERR_NOT_FOUND',
        error: 'Not Found',
        message: `no route ${request.method} ${request.url.split('?')[0]}`,
      };
      return reply.code(404).send(body);
    });

    app.setErrorHandler((err: FastifyError, request, reply) => {
      let apiError: ApiError | null = null;
      if (err instanceof ApiError) apiError = err;
      else if (hasZodFastifySchemaValidationErrors(err)) {
        const where = err.validationContext ?? 'body';
        const issues: ValidationIssue[] = err.validation.map((v) => ({
          path: [where, ...(v.instancePath ? v.instancePath.split('/').filter(Boolean) : [])].join('.'),
          message: v.message ?? 'invalid',
        }));
        apiError = new ApiError('BP_ERR_VALIDATION', describeIssues(issues), { issues });
      } else if (err instanceof InvalidCursorError) {
        const issues = [
          { path: 'querystring.cursor', message: 'not a cursor this list returned (nextCursor)' },
        ];
        apiError = new ApiError('BP_ERR_VALIDATION', describeIssues(issues), { issues });
      } else if (isDatabaseUnavailable(err)) {
        // Postgres down, restarting, a killed connection or an exhausted pool: transient, so a
        // 503 the client may retry, not a 500 (RELIABILITY.md P14, scenarios 10-12).
        apiError = new ApiError('BP_ERR_UNAVAILABLE', 'the database is unreachable; retry shortly');
      } else if (isResponseSerializationError(err)) {
        request.log.error({ err, issues: err.cause.issues }, 'response does not match its schema');
      } else {
        apiError = fromFastifyError(err, request, app);
      }

      if (apiError) {
        if (apiError.statusCode >= 500) request.log.error({ err }, apiError.message);
        return reply.code(apiError.statusCode).send(apiError.toBody());
      }
      request.log.error({ err }, 'unhandled error');
      const body: ErrorBody = {
        statusCode: 500,
        code: 'BP_ERR_INTERNAL',
        error: ERRORS.BP_ERR_INTERNAL.error,
        message: `internal error (request id ${request.id})`,
      };
      return reply.code(500).send(body);
    });
  },
  { name: 'backprop-errors' },
);
