/**
 * A job's live events (GET /v1/jobs/:id/events, Server-Sent Events) as an async iterator. The
 * stream ends after the job's terminal status; a connection that drops before it is reopened
 * with Last-Event-ID, so that the server sends exactly what was missed (no gaps, no repeats).
 */
import { JobEvent, TERMINAL_STATUSES } from '@backprop/contracts';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import type { BackpropClient } from './client.ts';
import { BackpropError } from './errors.ts';
import { sleep } from './retry.ts';

export interface JobEventsOptions {
  /** Resume after this event id (as a previous iteration's `lastEventId`). */
  lastEventId?: string;
  /** Reconnections in a row that bring no event before giving up (default 5). */
  maxReconnects?: number;
  /** Wait before reconnecting (default 1 s). */
  reconnectDelayMs?: number;
  signal?: AbortSignal;
}

export async function* jobEvents(
  client: BackpropClient,
  jobId: string,
  options: JobEventsOptions = {},
): AsyncGenerator<JobEvent> {
  const maxReconnects = options.maxReconnects ?? 5;
  let lastEventId = options.lastEventId;
  let fruitless = 0;
  for (;;) {
    let dropped: unknown = null;
    let gotEvent = false;
    try {
      const response = await client.raw(`/jobs/${encodeURIComponent(jobId)}/events`, {
        headers: { accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
        signal: options.signal,
      });
      if (!response.body)
        throw new BackpropError(response.status, 'BP_CLIENT_BAD_RESPONSE', 'no event stream');
      const messages = response.body
        .pipeThrough(new TextDecoderStream())
        .pipeThrough(new EventSourceParserStream());
      for await (const message of messages) {
        const parsed = JobEvent.safeParse(JSON.parse(message.data));
        if (!parsed.success) {
          throw new BackpropError(
            200,
            'BP_CLIENT_BAD_RESPONSE',
            `an event does not match the contract: ${message.data}`,
          );
        }
        if (message.id) lastEventId = message.id;
        gotEvent = true;
        fruitless = 0;
        yield parsed.data;
        if (parsed.data.type === 'status' && TERMINAL_STATUSES.includes(parsed.data.status)) return;
      }
    } catch (err) {
      // The caller's own errors (bad answers, 4xx, abort) end the iteration; a cut connection does not.
      if (options.signal?.aborted || (err instanceof BackpropError && err.status !== 0)) throw err;
      dropped = err;
    }
    if (!gotEvent) fruitless++;
    if (fruitless > maxReconnects) {
      throw new BackpropError(
        0,
        'BP_CLIENT_EVENTS_LOST',
        `the event stream of job ${jobId} kept closing before its terminal status${dropped ? ` (${String(dropped)})` : ''}`,
      );
    }
    await sleep(options.reconnectDelayMs ?? 1000);
  }
}
