/**
 * Schemas for the parts of a request a route does not use. Left undeclared, Fastify would ignore
 * them: a `?status=succeeded` or a body `{ "status": "succeeded" }` sent to a route that takes
 * none would be accepted and silently dropped. Declared empty and strict, they are a 400 that
 * shows the client its mistake (mass-assignment attempts included; OWASP API3).
 */
import { ErrorBody, IdParams } from '@backprop/contracts';
import { z } from 'zod';

/** No query parameters. */
export const NoQuery = z.strictObject({});

/** No body, or an empty JSON object. */
export const NoBody = z.strictObject({}).nullish().describe('No body (or an empty JSON object)');

/**
 * The schema of a `DELETE /<resources>/:id`: the id, no query, no body; a 204 without a body, a
 * 400 for a bad id or a stray query or body, a 404, and what else the route answers (`more`: a 409
 * while something still uses the resource).
 */
export function deleteByIdSchema<More extends Record<number, typeof ErrorBody>>(
  doc: { tags: string[]; operationId: string; summary: string; description: string },
  more: More,
) {
  return {
    ...doc,
    params: IdParams,
    querystring: NoQuery,
    body: NoBody,
    response: { 204: z.null(), 400: ErrorBody, 404: ErrorBody, ...more },
  };
}
