/** The error for a refused quota check (LIMIT_TENANT_STORED_BYTES), shared by uploads and jobs. */
import { ApiError } from '@backprop/contracts';
import type { StorageRefusal } from '@backprop/db';

export function storageQuotaExceeded(
  refusal: Pick<StorageRefusal, 'stored' | 'requested'>,
  max: number,
  what: string,
): ApiError {
  const { stored, requested } = refusal;
  return new ApiError(
    'BP_ERR_STORAGE_QUOTA_EXCEEDED',
    `${what} needs ${requested} bytes, but you store ${stored} of LIMIT_TENANT_STORED_BYTES = ${max} (delete datasets to make room)`,
    { limit: 'LIMIT_TENANT_STORED_BYTES', actual: stored + requested, max, stored, requested },
  );
}
