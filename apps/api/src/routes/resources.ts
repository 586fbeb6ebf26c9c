/** What the resource routes answer alike: a page of presented rows, a job or its 404, a refused soft delete. */
import { ApiError } from '@backprop/contracts';
import {
  type DbOrTx,
  type DeleteDatasetResult,
  type DeleteNetworkResult,
  getJob,
  type Page,
} from '@backprop/db';

/** A repository's page with each row as the API presents it. */
export function presentPage<Row, Item>(
  page: Page<Row>,
  present: (row: Row) => Item,
): { items: Item[]; nextCursor: string | null } {
  return { items: page.items.map(present), nextCursor: page.nextCursor };
}

/**
 * Throws unless the dataset or network was deleted (or kept with deletedAt): 409 while a queued or
 * running job uses it, otherwise 404.
 */
export function assertSoftDeleted(
  resource: 'dataset' | 'network',
  id: string,
  result: DeleteDatasetResult | DeleteNetworkResult,
): void {
  if (result.deleted) return;
  if (result.reason === 'in_use') {
    throw new ApiError(
      resource === 'dataset' ? 'BP_ERR_DATASET_IN_USE' : 'BP_ERR_NETWORK_IN_USE',
      `${resource} ${id} is used by a queued or running job; cancel it or let it finish first`,
      { reason: 'in_use' },
    );
  }
  throw new ApiError(
    resource === 'dataset' ? 'BP_ERR_DATASET_NOT_FOUND' : 'BP_ERR_NETWORK_NOT_FOUND',
    `${resource} ${id} does not exist`,
  );
}

/** The tenant's job, or BP_ERR_JOB_NOT_FOUND. */
export async function getJobOrNotFound(db: DbOrTx, tenantId: string, id: string) {
  const job = await getJob(db, tenantId, id);
  if (!job) throw new ApiError('BP_ERR_JOB_NOT_FOUND', `job ${id} does not exist`);
  return job;
}
