/**
 * The API's pino configuration: what a request's log lines may say. Credentials never reach the
 * log: an API key sent in a query string (`?api_key=`, `?token=`, ...) or anywhere in the URL
 * (anything shaped like a key, `bp_...`, or an events token, `bpev_...`) is replaced by
 * [REDACTED] in the logged URL, and the Authorization and Cookie headers are redacted wherever a
 * request's headers are logged.
 */
import type { FastifyRequest, FastifyServerOptions } from 'fastify';

export const REDACTED = '[REDACTED]';

/** Query parameters whose value is a credential, whatever it looks like (compared lowercased, without - and _). */
const CREDENTIAL_PARAMETERS = new Set([
  'key',
  'apikey',
  'token',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'auth',
  'authorization',
  'bearer',
  'password',
  'passwd',
  'secret',
  'clientsecret',
  'sig',
  'signature',
  'session',
  'sessionid',
]);

/**
 * An API key (`bp_` and its base64url body) or an events token (`bpev_`, events/tokens.ts), also
 * with its underscore %-escaped.
 */
const API_KEY = /bp(?:ev)?(?:_|%5f)[A-Za-z0-9_%-]{6,}/gi;

function isCredentialParameter(name: string): boolean {
  let decoded = name;
  try {
    decoded = decodeURIComponent(name);
  } catch {
    // A malformed escape: judge the name as written.
  }
  return CREDENTIAL_PARAMETERS.has(decoded.toLowerCase().replace(/[-_]/g, ''));
}

/** The URL as it may be logged: credentials replaced by [REDACTED], everything else as sent. */
export function redactUrl(url: string): string {
  const withoutKeys = url.replace(API_KEY, REDACTED);
  const queryStart = withoutKeys.indexOf('?');
  if (queryStart === -1) return withoutKeys;
  const query = withoutKeys
    .slice(queryStart + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const name = equals === -1 ? pair : pair.slice(0, equals);
      return equals !== -1 && isCredentialParameter(name) ? `${name}=${REDACTED}` : pair;
    })
    .join('&');
  return `${withoutKeys.slice(0, queryStart)}?${query}`;
}

/** Header paths pino blanks in any logged object that carries a request's headers. */
const SECRET_HEADERS = ['authorization', 'cookie', '"proxy-authorization"', '"x-api-key"'];
const REDACT_PATHS = [
  ...SECRET_HEADERS.map((h) => `req.headers.${h}`),
  ...SECRET_HEADERS.map((h) => `headers.${h}`),
  'res.headers["set-cookie"]',
];

/** The logger options: level from LOG_LEVEL, `stream` for tests that read the log itself. */
export function loggerOptions(
  level: string,
  stream?: { write(line: string): unknown },
): NonNullable<FastifyServerOptions['logger']> {
  return {
    level,
    ...(stream ? { stream } : {}),
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    serializers: {
      // Fastify's default request serializer, with the URL redacted.
      req: (request: FastifyRequest) => {
        const version = request.headers['accept-version'];
        return {
          method: request.method,
          url: redactUrl(request.url),
          version: typeof version === 'string' ? version : undefined,
          host: request.host,
          remoteAddress: request.ip,
          remotePort: request.socket?.remotePort,
        };
      },
    },
  };
}
