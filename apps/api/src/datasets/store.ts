/**
 * An upload from start to end: an invisible `uploading` row first, the values stored chunk by
 * chunk as a reader (CSV, JSON, IDX) produces them, then the labels encoded, the statistics
 * computed over the stored chunks and the row completed within the tenant's quota. Anything that
 * fails on the way deletes the upload; an API process that dies on the way leaves a row the
 * reconciler sweeps (deleteAbandonedUploads).
 */
import { ApiError, type Dataset, Task, unstorableText } from '@backprop/contracts';
import {
  abandonDatasetUpload,
  appendDatasetChunk,
  beginDatasetUpload,
  completeDatasetUpload,
  type Db,
  uploadExceedsQuota,
} from '@backprop/db';
import { storageQuotaExceeded } from '../routes/quota.ts';
import { StoredFeatureStats, storedClasses } from '../stored.ts';
import type { StoreChunk } from './chunk-sink.ts';
import { describeLabels } from './describe.ts';
import { storedFeatureStats } from './stats.ts';

/** What a reader gives back once it has stored the values. */
export interface ReadUpload {
  name: string | undefined;
  featureNames: string[];
  labelName: string;
  samples: number;
  labels: readonly (string | number)[];
  task: Task | undefined;
}

export interface StoreLimits {
  maxClasses: number;
  /** UPLOAD_THREAD_HEAP_MB: the heap of the thread that encodes many labels */
  threadHeapMb: number;
  /** LIMIT_TENANT_STORED_BYTES */
  maxStoredBytes: number;
  /** bound of the completing transaction, which holds the tenant's lock */
  timeoutMs: number;
}

/**
 * Runs `read` with a StoreChunk that writes each chunk to a new upload (refusing it as soon as
 * the tenant's stored bytes pass the quota), then completes the dataset.
 */
export async function receiveDataset(
  db: Db,
  tenantId: string,
  first: { name: string | undefined; labelName: string },
  limits: StoreLimits,
  read: (store: StoreChunk) => Promise<ReadUpload>,
): Promise<Dataset> {
  const upload = await beginDatasetUpload(db, {
    tenantId,
    name: first.name ?? defaultName(),
    labelName: first.labelName,
  });
  let uploaded = 0;
  try {
    const input = await read(async (chunk) => {
      uploaded += await appendDatasetChunk(db, upload.id, chunk);
      const over = await uploadExceedsQuota(db, { tenantId, bytes: uploaded }, limits.maxStoredBytes);
      if (over) {
        throw storageQuotaExceeded(
          { stored: over.stored, requested: uploaded },
          limits.maxStoredBytes,
          'the dataset (bytes so far)',
        );
      }
    });
    return await completeDataset(db, { id: upload.id, tenantId }, input, limits);
  } catch (err) {
    await abandonDatasetUpload(db, upload.id);
    throw err;
  }
}

const defaultName = () => `dataset-${new Date().toISOString()}`;

async function completeDataset(
  db: Db,
  upload: { id: string; tenantId: string },
  input: ReadUpload,
  limits: StoreLimits,
): Promise<Dataset> {
  refuseUnstorableText(input);
  const { task, classes, y } = await describeLabels(
    input.labels,
    input.task,
    limits.maxClasses,
    limits.threadHeapMb,
  );
  const featureStats = await storedFeatureStats(db, upload.id, input.featureNames);
  const stored = await completeDatasetUpload(
    db,
    { ...upload, name: input.name },
    {
      task,
      samples: input.samples,
      features: input.featureNames.length,
      featureNames: input.featureNames,
      labelName: input.labelName,
      classes: classes ?? null,
      y,
      featureStats,
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
function refuseUnstorableText(input: ReadUpload): void {
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
