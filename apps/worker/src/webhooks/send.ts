/**
 * One delivery attempt over HTTP: a POST of the signed body, with a connect timeout and an
 * overall timeout, no redirects followed (a 3xx is a failed attempt, as the Standard Webhooks
 * specification advises), and at most WEBHOOK_RESPONSE_MAX_BYTES of the answer read. Unless
 * private addresses are allowed, the name is resolved by guardedLookup, which refuses it if any
 * address is private and makes the socket connect to exactly the addresses it checked (no window
 * for DNS rebinding between the check and the connection); an IP literal is checked here.
 */
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { assertAllowed, guardedLookup, hostOf } from '@backprop/webhooks';
import { errorText } from '../error-text.ts';

export interface AttemptLimits {
  timeoutMs: number;
  connectTimeoutMs: number;
  maxResponseBytes: number;
  allowPrivate: boolean;
}

export interface AttemptResult {
  /** the receiver's HTTP status, null if none came back */
  statusCode: number | null;
  /** why the attempt failed; null for a 2xx */
  error: string | null;
  /** the receiver's Retry-After, in milliseconds from now */
  retryAfterMs: number | null;
}

/** What a failed attempt's error says about an HTTP status (with the start of the answer's body). */
function statusError(statusCode: number, location: string | undefined, body: string): string | null {
  if (statusCode >= 200 && statusCode < 300) return null;
  if (statusCode >= 300 && statusCode < 400) {
    return `answered ${statusCode}${location ? ` (redirect to ${location.slice(0, 200)})` : ''}: redirects are not followed; register the final URL`;
  }
  const snippet = body.replace(/\s+/g, ' ').trim().slice(0, 200);
  return `answered ${statusCode}${snippet ? `: ${snippet}` : ''}`;
}

function networkError(err: NodeJS.ErrnoException): string {
  if (err.code === 'ERR_WEBHOOK_ADDRESS_REFUSED') return err.message;
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return `the host does not resolve (${err.code})`;
  return err.code ? `${err.message} (${err.code})` : err.message;
}

/** Retry-After as seconds or an HTTP date, in milliseconds from now; null if absent or unreadable. */
export function retryAfterMs(header: string | undefined, now = Date.now()): number | null {
  if (!header) return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

export function sendAttempt(
  target: string,
  request: { headers: Record<string, string>; body: string },
  limits: AttemptLimits,
): Promise<AttemptResult> {
  const url = new URL(target);
  const host = hostOf(url);
  if (!limits.allowPrivate && isIP(host)) {
    try {
      assertAllowed(host, [{ address: host, family: isIP(host) }]);
    } catch (err) {
      return Promise.resolve({ statusCode: null, error: errorText(err), retryAfterMs: null });
    }
  }
  const secure = url.protocol === 'https:';
  return new Promise((resolve) => {
    let statusCode: number | null = null;
    let location: string | undefined;
    let retryAfter: number | null = null;
    const chunks: Buffer[] = [];
    let read = 0;
    let settled = false;
    const finish = (error: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(overall);
      clearTimeout(connecting);
      req.destroy();
      const body = Buffer.concat(chunks).toString('utf8');
      resolve({
        statusCode,
        error: statusCode === null ? error : (statusError(statusCode, location, body) ?? error),
        retryAfterMs: retryAfter,
      });
    };
    const req = (secure ? https : http).request(url, {
      method: 'POST',
      headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) },
      // A fresh connection per attempt, closed after it: nothing pooled across tenants.
      agent: false,
      ...(limits.allowPrivate ? {} : { lookup: guardedLookup }),
    });
    const overall = setTimeout(
      () => finish(`no answer within WEBHOOK_TIMEOUT_MS = ${limits.timeoutMs} ms`),
      limits.timeoutMs,
    );
    const connecting = setTimeout(
      () => finish(`could not connect within WEBHOOK_CONNECT_TIMEOUT_MS = ${limits.connectTimeoutMs} ms`),
      limits.connectTimeoutMs,
    );
    req.on('socket', (socket) => {
      socket.once(secure ? 'secureConnect' : 'connect', () => clearTimeout(connecting));
    });
    req.on('response', (res) => {
      statusCode = res.statusCode ?? null;
      location = res.headers.location;
      retryAfter = retryAfterMs(res.headers['retry-after']);
      res.on('data', (chunk: Buffer) => {
        const room = limits.maxResponseBytes - read;
        if (room > 0) chunks.push(chunk.subarray(0, room));
        read += chunk.length;
        // Enough read: the rest of the answer is dropped with the connection.
        if (read >= limits.maxResponseBytes) finish(null);
      });
      res.on('end', () => finish(null));
      res.on('error', () => finish(null));
    });
    req.on('error', (err: NodeJS.ErrnoException) => finish(networkError(err)));
    req.end(request.body);
  });
}
