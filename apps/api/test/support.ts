/**
 * Assertions shared by the hardening tests: the error shape, and a fingerprint of everything a
 * request could change (every table's rows, the queue's jobs) to prove a refused request changed
 * nothing.
 */
import { ErrorBody } from '@backprop/contracts';
import type { Db } from '@backprop/db';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';

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
