/**
 * /v1/jobs/:id/events: a job's live events as Server-Sent Events (events/subscription.ts), and
 * /v1/jobs/:id/events/token: a short-lived token that opens that one stream from a browser.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import {
  ApiError,
  ErrorBody,
  EventsToken,
  IdParams,
  JobEvent,
  JobEventsHeaders,
  JobEventsQuery,
  limitExceeded,
} from '@backprop/contracts';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { acquireStreamSlot } from '../events/slots.ts';
import { type EventSink, runSubscription } from '../events/subscription.ts';
import { issueEventsToken } from '../events/tokens.ts';
import { notFound } from './resources.ts';
import { NoBody, NoQuery } from './strict.ts';

const tags = ['jobs'];

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route also accepts an events token (`?token=`) for its job instead of an API key. */
    acceptsEventsToken?: boolean;
  }
}

/** An SSE writer on `out` that waits while the client is slow to read. */
function sseSink(out: PassThrough, closed: () => boolean): EventSink {
  const write = async (text: string) => {
    if (closed()) return;
    if (!out.write(text)) await Promise.race([once(out, 'drain'), once(out, 'close')]);
  };
  return {
    event: (id, event) => write(`id: ${id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`),
    comment: (text) => write(`: ${text}\n\n`),
  };
}

export async function eventRoutes(app: FastifyInstance): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { env, db, redis } = app.deps;
  /** Open streams, so that closing the API ends them instead of waiting for them. */
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const close of [...open]) close();
  });

  async function assertJobExists(tenantId: string, id: string): Promise<void> {
    const job = await db.trainingJob.findFirst({ where: { id, tenantId }, select: { id: true } });
    if (!job) throw notFound('job', id);
  }

  function assertRedisReady(): void {
    if (redis.status !== 'ready')
      throw new ApiError(
        'BP_ERR_UNAVAILABLE',
        'live events are unavailable (Redis is unreachable); retry shortly',
      );
  }

  r.post(
    '/jobs/:id/events/token',
    {
      schema: {
        tags,
        operationId: 'createJobEventsToken',
        summary: "A short-lived token that opens this job's event stream",
        description:
          'For browsers, whose EventSource cannot send an Authorization header: the token opens GET /v1/jobs/{id}/events?token=... for this job only, for EVENTS_TOKEN_TTL_MS (60 s by default), and no other route. Reconnections within that time may reuse it; after it, ask for a new one and resume with ?lastEventId=.',
        params: IdParams,
        querystring: NoQuery,
        body: NoBody,
        response: { 201: EventsToken, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      await assertJobExists(request.tenantId, id);
      assertRedisReady();
      const issued = await issueEventsToken(
        redis,
        env.QUEUE_PREFIX,
        { tenantId: request.tenantId, keyId: request.apiKeyId, jobId: id },
        env.EVENTS_TOKEN_TTL_MS,
      );
      return reply.code(201).send({
        token: issued.token,
        expiresAt: issued.expiresAt.toISOString(),
        url: `/v1/jobs/${id}/events?token=${issued.token}`,
      });
    },
  );

  r.get(
    '/jobs/:id/events',
    {
      config: { acceptsEventsToken: true },
      schema: {
        tags,
        operationId: 'streamJobEvents',
        summary: "A job's live events (Server-Sent Events)",
        description: [
          'A text/event-stream of `status` (every transition, with `error` or `modelId`), `cost` (each recorded cost point with its `index` in the history, its iteration and the validation cost where there is one) and `progress` (iteration, iterations, cost, iterationsPerSecond, elapsedMs, etaMs) events; `data` is the event as JSON. A comment line (`: heartbeat`) comes after EVENTS_HEARTBEAT_MS without events.',
          'Every event has an `id`: reconnect with the `Last-Event-ID` header (EventSource does) or `?lastEventId=` to get exactly what was missed. The stream ends after the terminal status (succeeded, failed, cancelled); a finished job answers its history and ends.',
          'Authenticate with the API key, or with `?token=` from POST /v1/jobs/{id}/events/token (browsers). At most LIMIT_TENANT_EVENT_STREAMS streams per tenant are open at once (429 BP_ERR_TOO_MANY_EVENT_STREAMS).',
        ].join('\n\n'),
        params: IdParams,
        querystring: JobEventsQuery,
        headers: JobEventsHeaders,
        response: {
          200: {
            description: 'The event stream',
            content: { 'text/event-stream': { schema: JobEvent } },
          },
          404: ErrorBody,
          429: ErrorBody,
          503: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { tenantId } = request;
      await assertJobExists(tenantId, id);
      assertRedisReady();
      const lastEventId = request.headers['last-event-id'] ?? request.query.lastEventId ?? null;
      const max = env.LIMIT_TENANT_EVENT_STREAMS;
      const taken = await acquireStreamSlot(redis, env.QUEUE_PREFIX, {
        tenantId,
        connectionId: `${request.id}:${randomUUID()}`,
        max,
        lapseMs: 3 * env.EVENTS_HEARTBEAT_MS,
      });
      if (!taken.ok) {
        throw limitExceeded(
          'LIMIT_TENANT_EVENT_STREAMS',
          taken.open + 1,
          max,
          'your open event streams, with this one,',
          'BP_ERR_TOO_MANY_EVENT_STREAMS',
        );
      }
      const { slot } = taken;
      // XREAD BLOCK holds a connection: each stream has its own (docs/configuration.md says why).
      const subscriber = redis.duplicate({ lazyConnect: true });
      subscriber.on('error', () => {
        // The subscription's commands fail and end the stream; the client reconnects.
      });
      try {
        await subscriber.connect();
      } catch {
        subscriber.disconnect();
        await slot.release().catch(() => undefined);
        throw new ApiError(
          'BP_ERR_UNAVAILABLE',
          'live events are unavailable (Redis is unreachable); retry shortly',
        );
      }

      const out = new PassThrough();
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        open.delete(close);
        subscriber.disconnect();
        out.end();
        slot
          .release()
          .catch((err: unknown) => request.log.warn({ err }, 'could not release an event stream slot'));
      };
      open.add(close);
      reply.raw.on('close', close);
      // The heartbeat keeps the connection busy; the idle-socket timeout must not cut a quiet job.
      // (An injected request's socket is a stand-in without setTimeout.)
      const socket = request.raw.socket;
      if (typeof socket?.setTimeout === 'function') socket.setTimeout(0);

      void runSubscription({
        db,
        redis: subscriber,
        prefix: env.QUEUE_PREFIX,
        tenantId,
        jobId: id,
        lastEventId,
        heartbeatMs: env.EVENTS_HEARTBEAT_MS,
        sink: sseSink(out, () => closed),
        log: request.log,
        onHeartbeat: () => slot.renew(),
        closed: () => closed,
      })
        .catch((err: unknown) => {
          if (!closed)
            request.log.warn({ err, jobId: id }, 'event stream ended by an error; the client may resume');
        })
        .finally(close);

      // The typed reply knows the JSON answers only; a stream is sent as the plain reply does.
      return (reply as FastifyReply)
        .header('content-type', 'text/event-stream; charset=utf-8')
        .header('x-accel-buffering', 'no')
        .send(out);
    },
  );
}
