/**
 * When the next attempt is due: the retry schedule's delay after this attempt (none left: the
 * delivery has failed), stretched by up to 10 % at random so that deliveries that failed together
 * do not all come back at the same instant (the specification asks for jitter), and never sooner
 * than the receiver's Retry-After (capped by the schedule's longest delay).
 */
export function nextDelayMs(
  schedule: readonly number[],
  attempt: number,
  retryAfterMs: number | null,
  random: () => number = Math.random,
): number | null {
  const delay = schedule[attempt - 1];
  if (delay === undefined) return null;
  const jittered = Math.round(delay * (1 + 0.1 * random()));
  const longest = Math.max(...schedule);
  return retryAfterMs === null ? jittered : Math.max(jittered, Math.min(retryAfterMs, longest));
}
