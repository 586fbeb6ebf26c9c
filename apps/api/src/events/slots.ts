/**
 * LIMIT_TENANT_EVENT_STREAMS: how many event streams a tenant holds open at once, counted in
 * Redis so that every API process sees the same count. Each open stream is a member of a sorted
 * set per tenant, scored with when it lapses; the stream renews it on every heartbeat and removes
 * it when it closes. A process that dies without closing leaves members that lapse by themselves
 * (three heartbeats), so a crash cannot lock a tenant out for good. Redis's clock is the clock.
 */
import type { Redis } from 'ioredis';

const ACQUIRE = `
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local lapseMs, max = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', nowMs)
local open = redis.call('ZCARD', KEYS[1])
if open >= max then return -open end
redis.call('ZADD', KEYS[1], nowMs + lapseMs, ARGV[1])
redis.call('PEXPIRE', KEYS[1], lapseMs)
return open + 1
`;

const RENEW = `
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', nowMs + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
`;

export interface StreamSlot {
  renew(): Promise<void>;
  release(): Promise<void>;
}

export type SlotResult = { ok: true; slot: StreamSlot } | { ok: false; open: number };

/** Takes one of the tenant's `max` places, or says how many are open already. */
export async function acquireStreamSlot(
  redis: Redis,
  prefix: string,
  input: { tenantId: string; connectionId: string; max: number; lapseMs: number },
): Promise<SlotResult> {
  const key = `${prefix}:event-streams:${input.tenantId}`;
  const result = Number(await redis.eval(ACQUIRE, 1, key, input.connectionId, input.lapseMs, input.max));
  if (result < 0) return { ok: false, open: -result };
  return {
    ok: true,
    slot: {
      async renew() {
        await redis.eval(RENEW, 1, key, input.connectionId, input.lapseMs);
      },
      async release() {
        await redis.zrem(key, input.connectionId);
      },
    },
  };
}
