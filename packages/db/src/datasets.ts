// Datasets: metadata and per-feature statistics in one row, the labels (y) as little-endian
// Float64Array bytes beside them, and the feature values in chunks of consecutive samples, each in
// the narrowest type that holds its values exactly (dataset-chunks.ts). The values can be hundreds
// of megabytes, so every read that does not need them (get, list) leaves them out, and a read that
// does goes chunk by chunk.
import { float64ToBytes } from './bytes.ts';
import type { Db } from './client.ts';
import { decodeDatasetValues, encodeChunks } from './dataset-chunks.ts';
import { type Dataset, Prisma, type Task } from './generated/prisma/client.ts';
import { assertCount, assertFiniteJson, type DbOrTx } from './internal.ts';
import { findPage, type Page, type PageOptions } from './page.ts';
import { type SoftDeleteResult, softDelete } from './soft-delete.ts';
import { tenantLookup } from './tenant-lookup.ts';

export interface FeatureStats {
  mean: number;
  std: number;
  min: number;
  max: number;
}

/** What describes a dataset besides its feature values. */
export interface DatasetDescription {
  task: Task;
  samples: number;
  features: number;
  featureNames: string[];
  labelName: string;
  /** Class names in label-index order: strings, or numbers when every label was numeric; null for regression. */
  classes: (string | number)[] | null;
  /** samples values: the class index (classification) or the target (regression) */
  y: Float64Array;
  /** one entry per feature */
  featureStats: FeatureStats[];
}

export interface CreateDatasetInput extends DatasetDescription {
  tenantId: string;
  name: string;
  /** samples × features values, one row per sample */
  x: Float64Array;
}

/** A dataset without its values (chunks, y). */
export type DatasetSummary = Omit<Dataset, 'y'>;

/** A dataset with its values decoded. */
export type DatasetWithValues = DatasetSummary & { x: Float64Array; y: Float64Array };

const withoutValues = { y: true } as const;

/** Only complete datasets are visible: an upload in progress is nobody's to read yet. */
const READY = { status: 'ready' } as const;

/**
 * The description's invariants (shapes that match, finite statistics); throws a RangeError.
 * `xLength` is the number of feature values when they are at hand.
 */
export function assertDescription(input: DatasetDescription, xLength?: number): void {
  const { samples, features } = input;
  assertCount(samples, 'samples', { min: 1 });
  assertCount(features, 'features', { min: 1 });
  if (xLength !== undefined && xLength !== samples * features) {
    throw new RangeError(`x has ${xLength} values, expected samples × features = ${samples * features}`);
  }
  if (input.y.length !== samples) throw new RangeError(`y has ${input.y.length} values, expected ${samples}`);
  if (input.featureNames.length !== features) {
    throw new RangeError(`featureNames has ${input.featureNames.length} names, expected ${features}`);
  }
  if (input.featureStats.length !== features) {
    throw new RangeError(`featureStats has ${input.featureStats.length} entries, expected ${features}`);
  }
  assertFiniteJson(input.featureStats, 'featureStats');
}

/** The columns a description sets (createDataset, and completeDatasetUpload at the end of an upload). */
export function descriptionColumns(input: DatasetDescription) {
  return {
    task: input.task,
    samples: input.samples,
    features: input.features,
    featureNames: input.featureNames,
    labelName: input.labelName,
    classes: input.classes ?? Prisma.DbNull,
    y: float64ToBytes(input.y),
    featureStats: input.featureStats as unknown as Prisma.InputJsonArray,
  };
}

/**
 * Stores a whole dataset at once (its chunks written with the row, atomically). Throws a
 * RangeError if the arrays do not match samples × features.
 */
export async function createDataset(db: DbOrTx, input: CreateDatasetInput): Promise<DatasetSummary> {
  assertDescription(input, input.x.length);
  const chunks = encodeChunks(input.x, input.samples, input.features);
  const columns = descriptionColumns(input);
  const chunkBytes = chunks.reduce((sum, chunk) => sum + chunk.values.byteLength, 0);
  return db.dataset.create({
    data: {
      tenantId: input.tenantId,
      name: input.name,
      ...columns,
      byteSize: chunkBytes + columns.y.byteLength,
      chunks: { create: chunks },
    },
    omit: withoutValues,
  });
}

/**
 * The dataset's metadata, without values; null if missing, another tenant's or still uploading.
 * A deleted dataset that finished jobs refer to is returned with deletedAt set (its values are
 * gone).
 */
export const getDataset = tenantLookup<DatasetSummary>((db, key) =>
  db.dataset.findFirst({ where: { ...key, ...READY }, omit: withoutValues }),
);

/**
 * The whole dataset with its values decoded (x: samples × features, row per sample; y), chunk by
 * chunk. A deleted dataset's values are empty.
 */
export const getDatasetWithValues = tenantLookup<DatasetWithValues>(async (db, key) => {
  const row = await db.dataset.findFirst({ where: { ...key, ...READY } });
  if (row === null) return null;
  const { y, ...summary } = row;
  return { ...summary, ...(await decodeDatasetValues(db, row, y)) };
});

/** The tenant's datasets, newest first, without values; deleted ones are left out. */
export async function listDatasets(
  db: DbOrTx,
  tenantId: string,
  options: PageOptions = {},
): Promise<Page<DatasetSummary>> {
  return findPage(options, { tenantId, deletedAt: null, ...READY }, (page) =>
    db.dataset.findMany({ ...page, omit: withoutValues }),
  );
}

/** What deleteDataset did: gone, kept with deletedAt and its values emptied, or why not. */
export type DeleteDatasetResult = SoftDeleteResult;

/**
 * Deletes a dataset unless a queued or running job uses it (softDelete). If finished jobs refer to
 * it, its chunks and labels are deleted (the bytes freed) and its row stays (name, shape, statistics and
 * deletedAt), so those jobs stay explainable; otherwise the row goes. No statement returns x or
 * y: reading tens of megabytes back only to drop them stalled the API's event loop for seconds.
 */
export async function deleteDataset(db: Db, tenantId: string, id: string): Promise<DeleteDatasetResult> {
  return softDelete(db, 'Dataset', tenantId, id, async (tx) => {
    await tx.$executeRaw`DELETE FROM "DatasetChunk" WHERE "datasetId" = ${id}::uuid`;
    const [emptied] = await tx.$queryRaw<{ deletedAt: Date }[]>`
      UPDATE "Dataset" SET "y" = ''::bytea, "byteSize" = 0, "deletedAt" = now()
      WHERE "id" = ${id}::uuid
      RETURNING "deletedAt"`;
    return emptied!.deletedAt;
  });
}

/**
 * Deletes a soft-deleted dataset or network that no job refers to any more (after its last job
 * was deleted). Returns how many rows went.
 */
export async function deleteUnreferencedDeletedRows(db: DbOrTx): Promise<number> {
  const datasets = await db.$executeRaw`
    DELETE FROM "Dataset" d WHERE d."deletedAt" IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM "TrainingJob" j WHERE j."datasetId" = d."id")`;
  const networks = await db.$executeRaw`
    DELETE FROM "Network" n WHERE n."deletedAt" IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM "TrainingJob" j WHERE j."networkId" = n."id")`;
  return datasets + networks;
}

/**
 * Deletes uploads begun before `before` that never completed: their API process died mid-upload
 * (a failed upload deletes itself).
 * Returns how many went.
 */
export async function deleteAbandonedUploads(db: DbOrTx, before: Date): Promise<number> {
  const { count } = await db.dataset.deleteMany({
    where: { status: 'uploading', createdAt: { lt: before } },
  });
  return count;
}
