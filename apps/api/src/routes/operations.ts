/**
 * The schemas of the operations most resources have: read one thing the path names, and delete
 * it. Neither takes a query (strict.ts says why); both answer 404 when the path names nothing.
 * app.ts adds what every /v1 route answers (401, 429, and 400 for a malformed path parameter).
 */
import { ErrorBody } from '@backprop/contracts';
import { z } from 'zod';
import { NoBody, NoQuery } from './strict.ts';

/** What the OpenAPI document says of an operation. */
export interface OperationDoc {
  tags: string[];
  operationId: string;
  summary: string;
  description?: string;
}

/** `GET` of one thing: its path parameters, no query; 200 with it, or 404. */
export function readSchema<Params extends z.ZodType, Found extends z.ZodType>(
  doc: OperationDoc,
  params: Params,
  found: Found,
) {
  return { ...doc, params, querystring: NoQuery, response: { 200: found, 404: ErrorBody } };
}

/**
 * `DELETE` of one thing: its path parameters, no query, no body; a 204 without a body, a 400 for a
 * bad parameter or a stray query or body, a 404, and what else the route answers (`more`: a 409
 * while something still uses it).
 */
export function deleteSchema<Params extends z.ZodType, More extends Record<number, typeof ErrorBody>>(
  doc: OperationDoc,
  params: Params,
  more: More,
) {
  return {
    ...doc,
    params,
    querystring: NoQuery,
    body: NoBody,
    response: { 204: z.null(), 400: ErrorBody, 404: ErrorBody, ...more },
  };
}
