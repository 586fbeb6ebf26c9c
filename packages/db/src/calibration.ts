// Measured training speed: recent succeeded jobs' durations with what they computed, for the
// API's dry-run estimate of a new job's duration.

import type { DbOrTx } from './internal.ts';

export interface FinishedJobWork {
  /** seconds from claim to completion */
  seconds: number;
  /** the job's resolved plan (training column) */
  training: unknown;
  parameterCount: number;
}

/** The last `count` succeeded jobs (all tenants: the workers are shared), newest first. */
export async function recentFinishedJobs(db: DbOrTx, count: number): Promise<FinishedJobWork[]> {
  const rows = await db.trainingJob.findMany({
    where: { status: 'succeeded', startedAt: { not: null }, finishedAt: { not: null } },
    orderBy: { finishedAt: 'desc' },
    take: count,
    select: {
      startedAt: true,
      finishedAt: true,
      training: true,
      network: { select: { parameterCount: true } },
    },
  });
  return rows.map((r) => ({
    seconds: (r.finishedAt!.getTime() - r.startedAt!.getTime()) / 1000,
    training: r.training,
    parameterCount: r.network.parameterCount,
  }));
}

/** A dataset's labels (y), for class counts. null if missing or another tenant's. */
export async function getDatasetLabels(db: DbOrTx, tenantId: string, id: string): Promise<Uint8Array | null> {
  const row = await db.dataset.findFirst({ where: { id, tenantId }, select: { y: true } });
  return row?.y ?? null;
}
