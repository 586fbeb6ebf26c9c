/** What the resource routes answer alike: a page of presented rows, a 404, a refused soft delete. */
import { ApiError, type ErrorCode } from '@backprop/contracts';
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

/** The things a tenant reaches by id under /v1/<resource>s/:id. */
export type Resource = 'dataset' | 'network' | 'job' | 'model' | 'webhook';

const NOT_FOUND: Record<Resource, ErrorCode> = {
  dataset: 'BP_ERR_DATASET_NOT_FOUND',
  network: 'BP_ERR_NETWORK_NOT_FOUND',
  job: 'BP_ERR_JOB_NOT_FOUND',
  model: 'BP_ERR_MODEL_NOT_FOUND',
  webhook: 'BP_ERR_WEBHOOK_NOT_FOUND',
};

/** The 404 of an id the tenant has no such thing under (another tenant's looks the same). */
export function notFound(resource: Resource, id: string): ApiError {
  return new ApiError(NOT_FOUND[resource], `${resource} ${id} does not exist`);
}

/** The row a lookup by id found, or the resource's 404. */
export function found<Row>(resource: Resource, id: string, row: Row | null): Row {
  if (row === null) throw notFound(resource, id);
  return row;
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
  throw notFound(resource, id);
}

/** The tenant's job, or BP_ERR_JOB_NOT_FOUND. */
export async function getJobOrNotFound(db: DbOrTx, tenantId: string, id: string) {
  return found('job', id, await getJob(db, tenantId, id));
}
