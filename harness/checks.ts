/**
 * What must hold after any fault, checked in SQL against the system of record (RELIABILITY.md §3
 * "invariant checker"). Returns the violations as sentences; an empty list means all hold.
 */
import type { Db } from '@backprop/db';

export interface InvariantOptions {
  /** every job must be terminal (after a quiet period), not merely live */
  allTerminal?: boolean;
  /** a running job's lease may have expired at most this long ago (default 0: a live lease) */
  leaseGraceMs?: number;
}

export async function checkInvariants(db: Db, options: InvariantOptions = {}): Promise<string[]> {
  const violations: string[] = [];
  const keys = await db.$queryRaw<{ key: string; n: bigint }[]>`
    SELECT "idempotencyKey" AS key, count(*) AS n FROM "TrainingJob"
    WHERE "idempotencyKey" IS NOT NULL GROUP BY "tenantId", "idempotencyKey" HAVING count(*) > 1`;
  for (const k of keys) violations.push(`idempotency key ${k.key} maps to ${k.n} jobs`);

  const models = await db.$queryRaw<{ id: string; status: string; models: bigint }[]>`
    SELECT j."id", j."status"::text AS status, count(m."id") AS models
    FROM "TrainingJob" j LEFT JOIN "Model" m ON m."jobId" = j."id"
    GROUP BY j."id", j."status"
    HAVING (j."status" = 'succeeded' AND count(m."id") <> 1) OR (j."status" <> 'succeeded' AND count(m."id") <> 0)`;
  for (const m of models) violations.push(`job ${m.id} is ${m.status} with ${m.models} models`);

  const counts = await db.$queryRaw<{ models: bigint; succeeded: bigint }[]>`
    SELECT (SELECT count(*) FROM "Model") AS models,
           (SELECT count(*) FROM "TrainingJob" WHERE "status" = 'succeeded') AS succeeded`;
  if (counts[0] && counts[0].models !== counts[0].succeeded)
    violations.push(`${counts[0].models} models for ${counts[0].succeeded} succeeded jobs`);

  const grace = options.leaseGraceMs ?? 0;
  const stale = await db.$queryRaw<{ id: string }[]>`
    SELECT "id" FROM "TrainingJob"
    WHERE "status" = 'running'
      AND ("leaseExpiresAt" IS NULL OR "leaseExpiresAt" < now() - ${grace}::integer * interval '1 millisecond')`;
  for (const s of stale) violations.push(`job ${s.id} is running without a live lease`);

  const unfinished = await db.$queryRaw<{ id: string; status: string }[]>`
    SELECT "id", "status"::text AS status FROM "TrainingJob"
    WHERE ("status" IN ('succeeded', 'failed', 'cancelled')) <> ("finishedAt" IS NOT NULL)`;
  for (const u of unfinished) violations.push(`job ${u.id} is ${u.status} with an inconsistent finishedAt`);

  if (options.allTerminal) {
    const live = await db.$queryRaw<{ id: string; status: string }[]>`
      SELECT "id", "status"::text AS status FROM "TrainingJob" WHERE "status" IN ('queued', 'running')`;
    for (const l of live) violations.push(`job ${l.id} is still ${l.status}`);
  }
  return violations;
}

/** How many times each value occurs, for the figures a test prints. */
export function countBy(values: (string | number)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

/** Milliseconds → p-th percentile (nearest rank) of `values`. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
