/**
 * The OpenAPI transform: the zod type provider's, plus request bodies declared per content type
 * (`body: { content: { 'application/json': { schema } } }`), which it does not convert itself.
 */
import type { SwaggerTransform } from '@fastify/swagger';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

type Transform = SwaggerTransform<Parameters<typeof jsonSchemaTransform>[0]['schema']>;
type ContentBody = { content: Record<string, { schema: unknown }> };

function isContentBody(body: unknown): body is ContentBody {
  return typeof body === 'object' && body !== null && 'content' in body;
}

export const openApiTransform: Transform = (input) => {
  const body = input.schema?.body;
  if (!isContentBody(body)) return jsonSchemaTransform(input);
  const { body: _perContentType, ...rest } = input.schema;
  const out = jsonSchemaTransform({ ...input, schema: rest });
  const content = Object.fromEntries(
    Object.entries(body.content).map(([type, { schema }]) => [
      type,
      { schema: jsonSchemaTransform({ ...input, schema: { body: schema } }).schema.body },
    ]),
  );
  return { ...out, schema: { ...out.schema, body: { content } } };
};
