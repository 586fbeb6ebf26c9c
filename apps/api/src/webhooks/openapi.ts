/**
 * The deliveries, as OpenAPI 3.1 `webhooks`: one per event type, with the body's JSON Schema
 * (from the contract) and the headers of the Standard Webhooks signature, so receivers can
 * generate types for what they are sent.
 */
import { WebhookEvent, WebhookEventType } from '@backprop/contracts';
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import { z } from 'zod';

const SIGNATURE_HEADERS = [
  ['webhook-id', 'The delivery id: the same on every retry (de-duplicate on it)'],
  ['webhook-timestamp', "The attempt's time, in seconds since the epoch"],
  ['webhook-signature', '`v1,<base64 HMAC-SHA256 of id.timestamp.body>`, keyed with the secret'],
] as const;

/** The `webhooks` of the OpenAPI 3.1 variant of @fastify/swagger's document option. */
type Documents = NonNullable<FastifyDynamicSwaggerOptions['openapi']>;
type WithWebhooks<T> = T extends unknown ? ('webhooks' extends keyof T ? T : never) : never;
type Webhooks = NonNullable<WithWebhooks<Documents>['webhooks']>;

export function webhookOperations(): Webhooks {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(WebhookEvent) as Record<string, unknown>;
  return Object.fromEntries(
    WebhookEventType.options.map((type) => [
      type,
      {
        post: {
          operationId: `webhook_${type.replace('.', '_')}`,
          summary: `Sent to endpoints subscribed to ${type}`,
          description:
            'Signed as the Standard Webhooks specification says: verify the signature on the raw body before parsing it.',
          tags: ['webhooks'],
          security: [],
          parameters: SIGNATURE_HEADERS.map(([name, description]) => ({
            name,
            in: 'header',
            required: true,
            description,
            schema: { type: 'string' },
          })),
          requestBody: { required: true, content: { 'application/json': { schema } } },
          responses: {
            200: { description: 'Any 2xx: delivered' },
            410: { description: 'Gone: the endpoint is disabled and gets nothing more' },
          },
        },
      },
    ]),
  );
}
