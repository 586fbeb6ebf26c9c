// The delete of a dataset or a network: rows that jobs refer to, kept (marked deletedAt) while
// finished jobs still do.

import type { Db } from './client.ts';
import { Prisma } from './generated/prisma/client.ts';
import { isUuid } from './internal.ts';

export type SoftDeleteResult =
  /** no job referred to it: the row is gone */
  | { deleted: true; kept: false }
  /** finished jobs refer to it: the row kept with deletedAt (see the callers for what else goes) */
  | { deleted: true; kept: true; deletedAt: Date }
  | { deleted: false; reason: 'not_found' }
  /** a queued or running job trains it or on it */
  | { deleted: false; reason: 'in_use' };

/**
 * Deletes the tenant's row `id` of `table` unless a queued or running job uses it: the row goes if
 * no job refers to it; otherwise `keep` marks it deletedAt (and frees what it holds) and returns
 * that time, so finished jobs stay explainable. Deleting a deleted row again changes nothing.
 *
 * The row is locked first, so a job being created on it at the same time either commits before
 * (and the delete is refused) or, after, fails its foreign key check (row gone) or sees deletedAt
 * (createJobWithinQuota share-locks the row and checks it).
 */
export async function softDelete(
  db: Db,
  table: 'Dataset' | 'Network',
  tenantId: string,
  id: string,
  keep: (tx: Prisma.TransactionClient) => Promise<Date>,
): Promise<SoftDeleteResult> {
  if (!isUuid(id)) return { deleted: false, reason: 'not_found' };
  const quoted = Prisma.raw(`"${table}"`);
  const usedBy = table === 'Dataset' ? { datasetId: id } : { networkId: id };
  return db.$transaction(async (tx) => {
    const locked = await tx.$queryRaw<{ deletedAt: Date | null }[]>`
      SELECT "deletedAt" FROM ${quoted} WHERE "id" = ${id}::uuid AND "tenantId" = ${tenantId}::uuid FOR UPDATE`;
    const row = locked[0];
    if (row === undefined) return { deleted: false, reason: 'not_found' } as const;
    if (row.deletedAt !== null) return { deleted: true, kept: true, deletedAt: row.deletedAt } as const;
    const jobs = await tx.trainingJob.groupBy({
      by: ['status'],
      where: { ...usedBy, tenantId },
      _count: true,
    });
    if (jobs.some((group) => group.status === 'queued' || group.status === 'running')) {
      return { deleted: false, reason: 'in_use' } as const;
    }
    if (jobs.length === 0) {
      await tx.$executeRaw`DELETE FROM ${quoted} WHERE "id" = ${id}::uuid`;
      return { deleted: true, kept: false } as const;
    }
    return { deleted: true, kept: true, deletedAt: await keep(tx) } as const;
  });
}
