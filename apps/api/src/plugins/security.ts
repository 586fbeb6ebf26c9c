/**
 * Response headers that keep browsers from doing what an API never asks them to (OWASP API8):
 * helmet's set, with a Content-Security-Policy for JSON (nothing may be loaded, framed or
 * submitted), and CORS only for the origins CORS_ORIGINS names. With no CORS_ORIGINS there is
 * no CORS at all: no Access-Control-* header, and a preflight is a 404.
 *
 * The /docs page (Swagger UI) needs its own scripts, styles and the spec: DOCS_CSP is applied to
 * its routes by the swagger-ui plugin (`staticCSP`), replacing the API's policy there.
 */
import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** Swagger UI: its own files only, inline styles (its components set them), data: images. */
export const DOCS_CSP = {
  'default-src': ["'self'"],
  'base-uri': ["'self'"],
  'connect-src': ["'self'"],
  'font-src': ["'self'", 'data:'],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'img-src': ["'self'", 'data:'],
  'object-src': ["'none'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'", "'unsafe-inline'"],
};

/** The API's policy: JSON loads, frames and submits nothing. */
const API_CSP = {
  'default-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
  'frame-ancestors': ["'none'"],
};

/**
 * The essential headers, for the few answers Fastify's router sends before any hook runs (see
 * frameworkErrors in app.ts), where helmet cannot add its own.
 */
export const BARE_SECURITY_HEADERS = {
  'content-security-policy': Object.entries(API_CSP)
    .map(([name, values]) => `${name} ${values.join(' ')}`)
    .join(';'),
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/** Headers a browser may read from a cross-origin response. */
const EXPOSED_HEADERS = [
  'location',
  'retry-after',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
];

export const securityPlugin = fp(
  async (app: FastifyInstance) => {
    await app.register(helmet, {
      contentSecurityPolicy: { useDefaults: false, directives: API_CSP },
      frameguard: { action: 'deny' },
    });

    // An answer sent before its request's body has arrived (a 413 in the middle of a CSV upload,
    // a 401 or 429 before the body is read) closes the connection: otherwise the socket stays
    // open, its request paused, until a timeout, and a client can hold many such sockets.
    // Fastify does the same for its own body parser's errors. The close lingers (see below).
    app.addHook('onSend', async (request, reply) => {
      if (request.raw.complete !== false) return;
      reply.header('connection', 'close');
      lingerBeforeClose(request.raw, app.deps.env.LINGER_MS);
    });

    const origins = app.deps.env.CORS_ORIGINS;
    if (origins.length > 0) {
      await app.register(cors, {
        origin: origins.includes('*') ? '*' : origins,
        methods: ['GET', 'POST', 'DELETE'],
        allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'x-request-id'],
        exposedHeaders: EXPOSED_HEADERS,
        // Keys travel in the Authorization header, never in cookies.
        credentials: false,
        maxAge: 600,
      });
    }
  },
  { name: 'backprop-security' },
);

/**
 * A lingering close, as nginx's `lingering_close` does: once the early answer is written, the
 * connection is half-closed (FIN: the client reads the answer, then the end) and the rest of the
 * body is read and thrown away (nothing is kept) until it ends, the client closes or `lingerMs`
 * pass; only then is the socket destroyed. Destroying it at once, with the client's bytes
 * still unread, makes the kernel answer them with a reset, and a client still sending (most
 * clients write the whole body before they read) gets `EPIPE` or `ECONNRESET` and loses the answer.
 * Node destroys the socket of a `Connection: close` answer through `destroySoon` once the answer
 * is flushed, so that is where this socket's close is replaced.
 */
function lingerBeforeClose(request: IncomingMessage, lingerMs: number): void {
  const socket = request.socket;
  if (!(socket instanceof Socket)) return; // inject's fake socket: nothing to linger on
  socket.destroySoon = () => {
    socket.end();
    if (request.complete || lingerMs === 0) {
      socket.destroy();
      return;
    }
    const close = () => {
      clearTimeout(timer);
      socket.destroy();
    };
    const timer = setTimeout(close, lingerMs);
    request.once('end', close);
    socket.once('end', close);
    socket.once('close', () => clearTimeout(timer));
    request.resume();
  };
}
