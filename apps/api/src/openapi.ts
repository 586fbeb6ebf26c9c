/**
 * The OpenAPI transform: the zod type provider's, plus request bodies declared per content type
 * (`body: { content: { 'application/json': { schema } } }`), which it does not convert itself.
 */
import type { SwaggerTransform } from '@fastify/swagger';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';

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

type TransformObject = typeof jsonSchemaTransformObject;
type Operation = { requestBody?: { required?: boolean; content?: Record<string, { schema?: unknown }> } };

/** True for a JSON schema that also accepts `null` (a body that may be left out). */
function acceptsNull(schema: unknown): boolean {
  const s = schema as { type?: unknown; anyOf?: unknown[] } | undefined;
  return s?.type === 'null' || (Array.isArray(s?.anyOf) && s.anyOf.some(acceptsNull));
}

/**
 * The zod type provider's document transform, plus optional bodies: @fastify/swagger marks every
 * declared body required, but a route whose body schema accepts null (NoBody: cancel, delete)
 * takes no body at all.
 */
export const openApiTransformObject: TransformObject = (input) => {
  const doc = jsonSchemaTransformObject(input) as { paths?: Record<string, Record<string, Operation>> };
  for (const operations of Object.values(doc.paths ?? {})) {
    for (const operation of Object.values(operations)) {
      const body = operation.requestBody;
      if (body?.content && Object.values(body.content).every((c) => acceptsNull(c.schema)))
        body.required = false;
    }
  }
  return doc as ReturnType<TransformObject>;
};
