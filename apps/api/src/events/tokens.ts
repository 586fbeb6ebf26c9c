/**
 * Event-stream tokens: browsers' EventSource cannot send an Authorization header, so a client
 * with an API key asks for a token (POST /v1/jobs/:id/events/token) and opens the stream with
 * `?token=`. A token is random, lives EVENTS_TOKEN_TTL_MS in Redis (only its SHA-256 is stored, so
 * a Redis dump holds no usable token), opens that one job's stream of that one tenant, and
 * nothing else: every other route ignores it. It may be used again until it expires, because
 * EventSource reconnects with the same URL. Logs show it as [REDACTED] (logging.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';

/** The token's visible prefix: logging.ts redacts anything shaped like one. */
export const EVENTS_TOKEN_PREFIX = 'bpev_';

const Grant = z.object({ tenantId: z.string(), keyId: z.string(), jobId: z.string() });
export type EventsTokenGrant = z.infer<typeof Grant>;

function tokenKey(prefix: string, token: string): string {
  return `${prefix}:events-token:${createHash('sha256').update(token).digest('hex')}`;
}

export async function issueEventsToken(
  redis: Redis,
  prefix: string,
  grant: EventsTokenGrant,
  ttlMs: number,
): Promise<{ token: string; expiresAt: Date }> {
  const token = EVENTS_TOKEN_PREFIX + randomBytes(32).toString('base64url');
  await redis.set(tokenKey(prefix, token), JSON.stringify(grant), 'PX', ttlMs);
  return { token, expiresAt: new Date(Date.now() + ttlMs) };
}

/** What the token grants, or null if it is unknown or expired. */
export async function readEventsToken(
  redis: Redis,
  prefix: string,
  token: string,
): Promise<EventsTokenGrant | null> {
  if (!token.startsWith(EVENTS_TOKEN_PREFIX) || token.length > 100) return null;
  const stored = await redis.get(tokenKey(prefix, token));
  if (stored === null) return null;
  const grant = Grant.safeParse(JSON.parse(stored));
  return grant.success ? grant.data : null;
}
