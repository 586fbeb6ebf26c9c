// The model registry: where a model comes from (its job's dataset and network), and later its
// name, tags, versions and aliases.
import { type DbOrTx, isUuid } from './internal.ts';

/** What a model export says about its inputs and its origin. */
export interface ModelOrigin {
  modelId: string;
  jobId: string;
  datasetId: string;
  networkId: string;
  /** the dataset's feature names, in input order */
  featureNames: unknown;
  labelName: string;
  createdAt: Date;
}

/** null if missing or another tenant's. */
export async function getModelOrigin(db: DbOrTx, tenantId: string, id: string): Promise<ModelOrigin | null> {
  if (!isUuid(id)) return null;
  const row = await db.model.findFirst({
    where: { id, tenantId },
    select: {
      id: true,
      jobId: true,
      createdAt: true,
      job: {
        select: {
          datasetId: true,
          networkId: true,
          dataset: { select: { featureNames: true, labelName: true } },
        },
      },
    },
  });
  if (!row) return null;
  return {
    modelId: row.id,
    jobId: row.jobId,
    datasetId: row.job.datasetId,
    networkId: row.job.networkId,
    featureNames: row.job.dataset.featureNames,
    labelName: row.job.dataset.labelName,
    createdAt: row.createdAt,
  };
}
