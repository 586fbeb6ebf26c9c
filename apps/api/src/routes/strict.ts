/**
 * Schemas for the parts of a request a route does not use. Left undeclared, Fastify would ignore
 * them: a `?status=succeeded` or a body `{ "status": "succeeded" }` sent to a route that takes
 * none would be accepted and silently dropped. Declared empty and strict, they are a 400 that
 * shows the client its mistake (mass-assignment attempts included; OWASP API3).
 */
import { z } from 'zod';

/** No query parameters. */
export const NoQuery = z.strictObject({});

/** No body, or an empty JSON object. */
export const NoBody = z.strictObject({}).nullish().describe('No body (or an empty JSON object)');
