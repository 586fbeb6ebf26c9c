// A dataset upload written as it arrives: begin (an invisible `uploading` row), append chunk after
// chunk (dataset-chunks.ts), complete (the description and the quota check under the tenant lock)
// or abandon. The API never holds more than one chunk of an upload.
import type { Db } from './client.ts';
import type { EncodedChunk } from './dataset-chunks.ts';
import {
  assertDescription,
  type DatasetDescription,
  type DatasetSummary,
  descriptionColumns,
} from './datasets.ts';
import type { DbOrTx } from './internal.ts';
import { getStoredBytes, type StorageRefusal, totalStoredBytes, withTenantLock } from './usage.ts';

/** Starts an upload: a row no read sees until completeDatasetUpload. */
export async function beginDatasetUpload(
  db: DbOrTx,
  input: { tenantId: string; name: string; labelName: string },
): Promise<{ id: string }> {
  return db.dataset.create({
    data: {
      tenantId: input.tenantId,
      name: input.name,
      labelName: input.labelName,
      status: 'uploading',
      task: 'regression',
      samples: 0,
      features: 0,
      featureNames: [],
      featureStats: [],
      y: new Uint8Array(0),
      byteSize: 0,
    },
    select: { id: true },
  });
}

/**
 * Appends the next chunk of an upload and counts its bytes in the row's byteSize (so /v1/usage
 * and the quota see an upload as it grows). Returns the bytes stored.
 */
export async function appendDatasetChunk(db: Db, datasetId: string, chunk: EncodedChunk): Promise<number> {
  const bytes = chunk.values.byteLength;
  await db.$transaction([
    db.datasetChunk.create({ data: { datasetId, ...chunk } }),
    db.dataset.update({
      where: { id: datasetId, status: 'uploading' },
      data: { byteSize: { increment: bytes } },
      select: { id: true },
    }),
  ]);
  return bytes;
}

/**
 * What the tenant stores besides uploads in progress: an upload is measured against this, so
 * concurrent uploads do not refuse each other (only completions count, under the tenant lock),
 * while /v1/usage still shows the bytes they have written.
 */
async function storedBesidesUploads(db: DbOrTx, tenantId: string): Promise<number> {
  const inFlight = await db.dataset.aggregate({
    where: { tenantId, status: 'uploading' },
    _sum: { byteSize: true },
  });
  return totalStoredBytes(await getStoredBytes(db, tenantId)) - (inFlight._sum.byteSize ?? 0);
}

/** The upload's bytes so far, beside what the tenant stores otherwise, pass maxStoredBytes. */
export async function uploadExceedsQuota(
  db: DbOrTx,
  upload: { tenantId: string; bytes: number },
  maxStoredBytes: number,
): Promise<{ stored: number } | null> {
  const stored = await storedBesidesUploads(db, upload.tenantId);
  return stored + upload.bytes > maxStoredBytes ? { stored } : null;
}

/**
 * Completes an upload with its description, unless the tenant's stored bytes (this upload's
 * chunks included) plus the labels would exceed maxStoredBytes: the check and the update hold the
 * tenant lock. A refused upload is left `uploading`: abandon it.
 */
export async function completeDatasetUpload(
  db: Db,
  upload: { id: string; tenantId: string; name?: string | undefined },
  description: DatasetDescription,
  maxStoredBytes: number,
  options: { timeoutMs?: number } = {},
): Promise<{ outcome: 'created'; dataset: DatasetSummary } | StorageRefusal> {
  assertDescription(description);
  const columns = descriptionColumns(description);
  return withTenantLock(
    db,
    upload.tenantId,
    async (tx) => {
      // The whole dataset (its chunks and labels) against what the tenant stores otherwise.
      const { byteSize: chunkBytes } = await tx.dataset.findUniqueOrThrow({
        where: { id: upload.id },
        select: { byteSize: true },
      });
      const others = await storedBesidesUploads(tx, upload.tenantId);
      const requested = chunkBytes + columns.y.byteLength;
      if (others + requested > maxStoredBytes) {
        return { outcome: 'storage_quota', stored: others, requested } as const;
      }
      const dataset = await tx.dataset.update({
        where: { id: upload.id, status: 'uploading' },
        data: {
          ...columns,
          ...(upload.name === undefined ? {} : { name: upload.name }),
          status: 'ready',
          byteSize: requested,
        },
        omit: { y: true },
      });
      return { outcome: 'created', dataset } as const;
    },
    options,
  );
}

/** Deletes an upload that will not complete (its chunks go with it). */
export async function abandonDatasetUpload(db: DbOrTx, id: string): Promise<void> {
  await db.dataset.deleteMany({ where: { id, status: 'uploading' } });
}
