/** The retry schedule's arithmetic: the delay after each attempt, jitter, Retry-After, the end. */
import { describe, expect, it } from 'vitest';
import { nextDelayMs } from '../../src/webhooks/schedule.ts';
import { retryAfterMs } from '../../src/webhooks/send.ts';

describe('nextDelayMs', () => {
  const schedule = [5_000, 300_000, 1_800_000];

  it('the delay after attempt n is the n-th of the schedule, stretched by up to 10 %', () => {
    expect(nextDelayMs(schedule, 1, null, () => 0)).toBe(5_000);
    expect(nextDelayMs(schedule, 2, null, () => 0.999)).toBe(Math.round(300_000 * 1.0999));
    expect(nextDelayMs(schedule, 3, null, () => 0.5)).toBe(1_890_000);
  });

  it('after the last delay there is no next attempt (the delivery failed); an empty schedule tries once', () => {
    expect(nextDelayMs(schedule, 4, null)).toBeNull();
    expect(nextDelayMs([], 1, null)).toBeNull();
  });

  it('a longer Retry-After is honoured, up to the longest delay; a shorter one changes nothing', () => {
    expect(nextDelayMs(schedule, 1, 60_000, () => 0)).toBe(60_000);
    expect(nextDelayMs(schedule, 1, 1_000, () => 0)).toBe(5_000);
    expect(nextDelayMs(schedule, 1, 86_400_000, () => 0)).toBe(1_800_000);
  });
});

describe('retryAfterMs', () => {
  it('reads seconds and HTTP dates; anything else is ignored', () => {
    const now = Date.parse('2026-12-01T12:00:00Z');
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs('Tue, 01 Dec 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Tue, 01 Dec 2026 11:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeNull();
    expect(retryAfterMs(undefined, now)).toBeNull();
  });
});
