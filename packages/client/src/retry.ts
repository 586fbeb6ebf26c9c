/** When to retry an answer and how long to wait: the server's Retry-After, else a capped backoff. */

/** Statuses that say "try again later" (rate limited, unavailable) rather than "this is wrong". */
export const RETRYABLE_STATUSES = new Set([429, 503]);

export interface RetryOptions {
  /** Further attempts after the first (default 3). */
  maxRetries: number;
  /** No single wait is longer than this, whatever Retry-After asks (default 30 s). */
  maxDelayMs: number;
  /** The first backoff when the answer names no Retry-After; it doubles per attempt (default 500 ms). */
  baseDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { maxRetries: 3, maxDelayMs: 30_000, baseDelayMs: 500 };

/** Retry-After as milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); null if absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (header === null) return null;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** How long to wait before retry number `attempt` (0-based). */
export function retryDelayMs(attempt: number, header: string | null, options: RetryOptions): number {
  const asked = retryAfterMs(header);
  const delay = asked ?? options.baseDelayMs * 2 ** attempt;
  return Math.min(delay, options.maxDelayMs);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
