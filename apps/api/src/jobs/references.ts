/** The dataset and network a job request names (POST /v1/jobs and its dry run). */
import { ApiError } from '@backprop/contracts';
import { type DbOrTx, getDataset, getNetwork } from '@backprop/db';

/** A job request names a dataset or network that is missing or another tenant's: 404 naming the field. */
export function referenceNotFound(resource: 'dataset' | 'network', id: string): ApiError {
  return new ApiError(
    resource === 'dataset' ? 'BP_ERR_DATASET_NOT_FOUND' : 'BP_ERR_NETWORK_NOT_FOUND',
    `${resource}Id: ${resource} ${id} does not exist`,
  );
}

/** Both rows (deleted ones too, with deletedAt), or the 404 of the missing one, the dataset's first. */
export async function getJobReferences(
  db: DbOrTx,
  tenantId: string,
  request: { datasetId: string; networkId: string },
) {
  const [dataset, network] = await Promise.all([
    getDataset(db, tenantId, request.datasetId),
    getNetwork(db, tenantId, request.networkId),
  ]);
  if (!dataset) throw referenceNotFound('dataset', request.datasetId);
  if (!network) throw referenceNotFound('network', request.networkId);
  return { dataset, network };
}
