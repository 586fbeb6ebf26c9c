/** Turns a parsed upload (CSV or JSON) into a stored dataset, in one insert within the tenant's quota. */
import { ApiError, type Dataset, Task, unstorableText } from '@backprop/contracts';
import { createDatasetWithinQuota, type Db } from '@backprop/db';
import { storageQuotaExceeded } from '../routes/quota.ts';
import { StoredFeatureStats, storedClasses } from '../stored.ts';
import { describeUpload } from './describe.ts';

export interface ParsedDataset {
  name: string | undefined;
  featureNames: string[];
  labelName: string;
  /** samples × features, row per sample. */
  x: Float64Array;
  samples: number;
  labels: readonly (string | number)[];
  task: Task | undefined;
}

export interface StoreLimits {
  maxClasses: number;
  /** UPLOAD_THREAD_HEAP_MB: the heap of the thread that describes a big dataset */
  threadHeapMb: number;
  /** LIMIT_TENANT_STORED_BYTES */
  maxStoredBytes: number;
  /** bound of the insert's transaction, which holds the tenant's lock */
  timeoutMs: number;
}

export async function storeDataset(
  db: Db,
  tenantId: string,
  input: ParsedDataset,
  limits: StoreLimits,
): Promise<Dataset> {
  refuseUnstorableText(input);
  // Off the event loop for a big dataset; input.x is then detached: x is the features.
  const {
    task,
    classes,
    y,
    featureStats: stats,
    x,
  } = await describeUpload(input, limits.maxClasses, limits.threadHeapMb);
  const stored = await createDatasetWithinQuota(
    db,
    {
      tenantId,
      name: input.name ?? `dataset-${new Date().toISOString()}`,
      task,
      samples: input.samples,
      features: input.featureNames.length,
      featureNames: input.featureNames,
      labelName: input.labelName,
      classes: classes ?? null,
      x,
      y,
      featureStats: stats,
    },
    limits.maxStoredBytes,
    { timeoutMs: limits.timeoutMs },
  );
  if (stored.outcome === 'storage_quota')
    throw storageQuotaExceeded(stored, limits.maxStoredBytes, 'the dataset');
  return toDataset(stored.dataset);
}

/**
 * A CSV's header names and labels, checked once parsed: a JSON upload's were checked by its
 * schema (StoredText) already, so only a CSV's can fail here.
 */
function refuseUnstorableText(input: ParsedDataset): void {
  input.featureNames.forEach((name, j) => {
    const problem = unstorableText(name);
    if (problem) {
      throw new ApiError(
        'BP_ERR_VALIDATION',
        `featureNames.${j}: the header name ${JSON.stringify(name)} ${problem}`,
        { field: `featureNames.${j}` },
      );
    }
  });
  input.labels.forEach((label, i) => {
    const problem = typeof label === 'string' ? unstorableText(label) : null;
    if (problem) {
      throw new ApiError(
        'BP_ERR_VALIDATION',
        `labels.${i}: the label of sample ${i + 1}, ${JSON.stringify(label)}, ${problem}`,
        { field: `labels.${i}` },
      );
    }
  });
}

interface DatasetRow {
  id: string;
  name: string;
  samples: number;
  features: number;
  task: string;
  labelName: string;
  classes: unknown;
  featureStats: unknown;
  byteSize: number;
  createdAt: Date;
  deletedAt: Date | null;
}

export function toDataset(row: DatasetRow): Dataset {
  const dataset: Dataset = {
    id: row.id,
    name: row.name,
    samples: row.samples,
    features: row.features,
    task: Task.parse(row.task),
    labelName: row.labelName,
    featureStats: StoredFeatureStats.parse(row.featureStats),
    byteSize: row.byteSize,
    createdAt: row.createdAt.toISOString(),
    deletedAt: row.deletedAt?.toISOString() ?? null,
  };
  const classes = storedClasses(row.classes);
  if (classes !== undefined) dataset.classes = classes;
  return dataset;
}
