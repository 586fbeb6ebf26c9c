/** /v1/webhooks: endpoints told when jobs end (Standard Webhooks), and their delivery logs. */
import {
  CreatedWebhook,
  CreateWebhook,
  ErrorBody,
  IdParams,
  ListWebhooksQuery,
  limitExceeded,
  Webhook,
  WebhookDeliveryPage,
  WebhookPage,
} from '@backprop/contracts';
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  getWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpoints,
} from '@backprop/db';
import { generateSecret, sealSecret } from '@backprop/webhooks';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { toWebhook, toWebhookDelivery } from '../webhooks/present.ts';
import { checkEndpointUrl } from '../webhooks/url.ts';
import { deleteSchema, readSchema } from './operations.ts';
import { found, notFound, presentPage } from './resources.ts';
import { NoQuery } from './strict.ts';

const tags = ['webhooks'];

export async function webhookRoutes(app: FastifyInstance): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { env, db } = app.deps;
  if (env.WEBHOOK_SECRET_KEY === null) {
    app.log.warn(
      'WEBHOOK_SECRET_KEY is not set: webhook signing secrets are stored unsealed (set it in production, the same in the API and the worker)',
    );
  }

  r.post(
    '/webhooks',
    {
      schema: {
        tags,
        operationId: 'createWebhook',
        summary: 'Register a webhook endpoint',
        description:
          'Events are POSTed to `url`, signed as the Standard Webhooks specification says (`webhook-id`, `webhook-timestamp`, `webhook-signature`). The answer carries the signing `secret`, shown only this once. A URL whose host resolves to a loopback, private, link-local, unique-local, multicast or reserved address is a 400 (unless the operator set WEBHOOK_ALLOW_PRIVATE_ADDRESSES).',
        querystring: NoQuery,
        body: CreateWebhook,
        response: { 201: CreatedWebhook, 400: ErrorBody, 422: ErrorBody },
      },
    },
    async (request, reply) => {
      const url = await checkEndpointUrl(request.body.url, {
        maxLength: env.WEBHOOK_URL_MAX_LENGTH,
        allowPrivate: env.WEBHOOK_ALLOW_PRIVATE_ADDRESSES,
      });
      const secret = generateSecret();
      const result = await createWebhookEndpoint(db, {
        tenantId: request.tenantId,
        url: url.href,
        events: request.body.events,
        maxPerTenant: env.WEBHOOK_MAX_ENDPOINTS_PER_TENANT,
        seal: (id) => sealSecret(secret, env.WEBHOOK_SECRET_KEY, id),
      });
      if (!result.created) {
        throw limitExceeded(
          'WEBHOOK_MAX_ENDPOINTS_PER_TENANT',
          result.count + 1,
          env.WEBHOOK_MAX_ENDPOINTS_PER_TENANT,
          'the number of webhook endpoints',
        );
      }
      const webhook = toWebhook(result.endpoint);
      return reply
        .code(201)
        .header('location', `/v1/webhooks/${webhook.id}`)
        .send({ ...webhook, secret });
    },
  );

  r.get(
    '/webhooks',
    {
      schema: {
        tags,
        operationId: 'listWebhooks',
        summary: 'List webhook endpoints, newest first (without secrets)',
        querystring: ListWebhooksQuery,
        response: { 200: WebhookPage },
      },
    },
    async (request) =>
      presentPage(await listWebhookEndpoints(db, request.tenantId, request.query), toWebhook),
  );

  r.get(
    '/webhooks/:id',
    {
      schema: readSchema(
        { tags, operationId: 'getWebhook', summary: 'Read a webhook endpoint (without its secret)' },
        IdParams,
        Webhook,
      ),
    },
    async ({ tenantId, params: { id } }) =>
      toWebhook(found('webhook', id, await getWebhookEndpoint(db, tenantId, id))),
  );

  r.delete(
    '/webhooks/:id',
    {
      schema: deleteSchema(
        {
          tags,
          operationId: 'deleteWebhook',
          summary: 'Delete a webhook endpoint and its delivery log',
          description: 'Pending deliveries to it are dropped. Deleting it again is a 404.',
        },
        IdParams,
        {},
      ),
    },
    async (request, reply) => {
      if (!(await deleteWebhookEndpoint(db, request.tenantId, request.params.id))) {
        throw notFound('webhook', request.params.id);
      }
      return reply.code(204).send(null);
    },
  );

  r.get(
    '/webhooks/:id/deliveries',
    {
      schema: {
        tags,
        operationId: 'listWebhookDeliveries',
        summary: "An endpoint's delivery log, newest first",
        description:
          'One delivery per job event: its status, how many attempts were made, the last status code or error, and when the next attempt is due. Ended deliveries are kept WEBHOOK_RETENTION_DAYS.',
        params: IdParams,
        querystring: ListWebhooksQuery,
        response: { 200: WebhookDeliveryPage, 404: ErrorBody },
      },
    },
    async (request) => {
      const page = await listWebhookDeliveries(db, request.tenantId, request.params.id, request.query);
      if (!page) throw notFound('webhook', request.params.id);
      return presentPage(page, toWebhookDelivery);
    },
  );
}
