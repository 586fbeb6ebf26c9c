/**
 * A Server-Sent Events client for tests, over real HTTP (fetch): reads a stream's events as the
 * EventSource specification parses them (id, event, data; comment lines apart), until the server
 * ends the stream or the test has what it waits for.
 */
import { JobEvent } from '@backprop/contracts';

export interface SseMessage {
  id: string | undefined;
  event: string;
  data: JobEvent;
  /** performance.now() when its last byte arrived. */
  receivedAt: number;
}

export interface SseStream {
  status: number;
  /** The answer's body when it is not a stream (an error). */
  errorBody: unknown;
  headers: Headers;
  messages: SseMessage[];
  comments: string[];
  /** Resolves when the server ended the stream (true) or it was closed here (false). */
  ended: Promise<boolean>;
  /** Resolves once `done(messages)` holds; rejects if the stream ends first or after timeoutMs. */
  until(done: (messages: SseMessage[]) => boolean, timeoutMs?: number): Promise<SseMessage[]>;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const abort = new AbortController();
  const res = await fetch(url, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: abort.signal,
  });
  const messages: SseMessage[] = [];
  const comments: string[] = [];
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const w of [...waiters]) w();
  };
  let finished = false;
  if (!res.headers.get('content-type')?.startsWith('text/event-stream')) {
    const errorBody = await res.json().catch(() => null);
    return {
      status: res.status,
      errorBody,
      headers: res.headers,
      messages,
      comments,
      ended: Promise.resolve(true),
      until: () => Promise.reject(new Error(`not a stream: ${res.status} ${JSON.stringify(errorBody)}`)),
      close: () => undefined,
    };
  }
  const ended = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let id: string | undefined;
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else if (line.startsWith('id: ')) id = line.slice(4);
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length > 0)
            messages.push({
              id,
              event,
              data: JobEvent.parse(JSON.parse(data.join('\n'))),
              receivedAt: performance.now(),
            });
          notify();
        }
      }
      return true;
    } catch {
      return false;
    } finally {
      finished = true;
      notify();
    }
  })();
  return {
    status: res.status,
    errorBody: null,
    headers: res.headers,
    messages,
    comments,
    ended,
    until(done, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (done(messages)) {
            cleanup();
            resolve(messages);
          } else if (finished) {
            cleanup();
            reject(new Error(`the stream ended first; got ${JSON.stringify(messages.map((m) => m.data))}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`not within ${timeoutMs} ms; got ${JSON.stringify(messages.map((m) => m.data))}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close: () => abort.abort(),
  };
}
