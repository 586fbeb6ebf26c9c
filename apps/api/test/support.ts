/**
 * Shared by the API's tests: POSTing JSON and creating rows, the error shape, and a fingerprint
 * of everything a request could change (every table's rows, the queue's jobs) to prove a refused
 * request changed nothing.
 */
import { ErrorBody } from '@backprop/contracts';
import type { Db } from '@backprop/db';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { ApiContext } from '../../../harness/api-context.ts';

/** POSTs `body` as is, with this Content-Type and any further headers, as the context's tenant. */
export function postBody(
  ctx: ApiContext,
  url: string,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
) {
  return ctx.app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': contentType, ...headers },
    payload: body,
  });
}

/** POSTs `payload` as JSON; a string is sent as is (JSON.stringify cannot write every body). */
export function postJson(
  ctx: ApiContext,
  url: string,
  payload: unknown,
  headers: Record<string, string> = {},
) {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return postBody(ctx, url, 'application/json', body, headers);
}

/** POSTs and expects `status` (201 Created, or 202 for a job); returns the new row's id. */
export async function createdId(
  ctx: ApiContext,
  url: string,
  payload: unknown,
  status = 201,
): Promise<string> {
  const res = await postJson(ctx, url, payload);
  expect(res.statusCode, res.body).toBe(status);
  return res.json().id;
}

/** 2 features → 3 tanh → 1 sigmoid (13 parameters): the small binary network tests queue jobs on. */
export const SMALL_NETWORK = {
  inputSize: 2,
  layers: [
    { units: 3, activation: 'tanh' },
    { units: 1, activation: 'sigmoid' },
  ],
};

export const ERROR_KEYS = ['statusCode', 'code', 'error', 'message', 'details'];

export interface ErrorBodyShape {
  statusCode: number;
  code: string;
  error: string;
  message: string;
  details?: unknown;
}

/** The body is our error shape, consistent with the status, and carries nothing else (no stack). */
export function expectErrorShape(res: LightMyRequestResponse, context = ''): ErrorBodyShape {
  const where = `${context} → ${res.statusCode} ${res.body.slice(0, 300)}`;
  expect(res.headers['content-type'], where).toMatch(/^application\/json/);
  const body = res.json() as ErrorBodyShape;
  expect(
    Object.keys(body).every((k) => ERROR_KEYS.includes(k)),
    where,
  ).toBe(true);
  expect(body.statusCode, where).toBe(res.statusCode);
  expect(body.code, where).toMatch(/^BP_ERR_[A-Z_]+$/);
  expect(typeof body.error, where).toBe('string');
  expect(typeof body.message, where).toBe('string');
  expect(res.body, where).not.toMatch(/\bat \S+ \(|node_modules|\.ts:\d+/); // no stack frames
  // The documented schema, `details` included (one of its shapes): every error a test looks at.
  const parsed = ErrorBody.safeParse(body);
  expect(parsed.success, `${where} ${parsed.error?.message}`).toBe(true);
  return body;
}

export function expectError(res: LightMyRequestResponse, statusCode: number, code: string, context = '') {
  const body = expectErrorShape(res, context);
  expect(res.statusCode, `${context} ${res.body.slice(0, 300)}`).toBe(statusCode);
  expect(body.code, context).toBe(code);
  return body;
}

/** The error body is exactly `expected` (no details, or these), with its status and code. */
export function expectExactError(res: LightMyRequestResponse, expected: ErrorBodyShape) {
  expect(expectError(res, expected.statusCode, expected.code)).toEqual(expected);
}

/**
 * One string per table, over all its rows (md5 of the rows as text, in id order), and the
 * queue's job counts. ApiKey.lastUsedAt is left out: authentication itself updates it.
 */
export async function fingerprint(db: Db, app?: FastifyInstance): Promise<Record<string, string>> {
  const [row] = await db.$queryRaw<Record<string, string>[]>`
    SELECT
      (SELECT md5(COALESCE(string_agg(t::text, '|' ORDER BY t."id"), '')) FROM "Tenant" t) AS "Tenant",
      (SELECT md5(COALESCE(string_agg(("id", "tenantId", "name", "prefix", "hash", "createdAt", "revokedAt")::text, '|' ORDER BY "id"), '')) FROM "ApiKey") AS "ApiKey",
      (SELECT md5(COALESCE(string_agg(t::text, '|' ORDER BY t."id"), '')) FROM "Dataset" t) AS "Dataset",
      (SELECT md5(COALESCE(string_agg(t::text, '|' ORDER BY t."id"), '')) FROM "Network" t) AS "Network",
      (SELECT md5(COALESCE(string_agg(t::text, '|' ORDER BY t."id"), '')) FROM "TrainingJob" t) AS "TrainingJob",
      (SELECT md5(COALESCE(string_agg(t::text, '|' ORDER BY t."jobId"), '')) FROM "Checkpoint" t) AS "Checkpoint",
      (SELECT md5(COALESCE(string_agg(t::text, '|' ORDER BY t."id"), '')) FROM "Model" t) AS "Model"`;
  const result: Record<string, string> = { ...row! };
  if (app) result['queue'] = JSON.stringify(await app.deps.queue.getJobCounts());
  return result;
}

export const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
