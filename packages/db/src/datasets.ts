// Datasets: features and labels as little-endian Float64Array bytes, with the metadata and
// per-feature statistics beside them. The values can be tens of megabytes, so every read that
// does not need them (get, list) leaves them out.
import { float64ToBytes } from './bytes.ts';
import type { Db } from './client.ts';
import { type Dataset, Prisma, type Task } from './generated/prisma/client.ts';
import {
  assertCount,
  assertFiniteJson,
  type DbOrTx,
  isUuid,
  type Page,
  type PageOptions,
  pageQuery,
  toPage,
} from './internal.ts';
import { type SoftDeleteResult, softDelete } from './soft-delete.ts';

export interface FeatureStats {
  mean: number;
  std: number;
  min: number;
  max: number;
}

export interface CreateDatasetInput {
  tenantId: string;
  name: string;
  task: Task;
  samples: number;
  features: number;
  featureNames: string[];
  labelName: string;
  /** class names in label-index order (classification); null for regression */
  /** Class names in label-index order: strings, or numbers when every label was numeric. */
  classes: (string | number)[] | null;
  /** samples × features values, one row per sample */
  x: Float64Array;
  /** samples values: the class index (classification) or the target (regression) */
  y: Float64Array;
  /** one entry per feature */
  featureStats: FeatureStats[];
}

/** A dataset without its values (x, y). */
export type DatasetSummary = Omit<Dataset, 'x' | 'y'>;

const withoutValues = { x: true, y: true } as const;

/** Stores a dataset. Throws a RangeError if the arrays do not match samples × features. */
export async function createDataset(db: DbOrTx, input: CreateDatasetInput): Promise<DatasetSummary> {
  const { samples, features } = input;
  assertCount(samples, 'samples', { min: 1 });
  assertCount(features, 'features', { min: 1 });
  if (input.x.length !== samples * features) {
    throw new RangeError(
      `x has ${input.x.length} values, expected samples × features = ${samples * features}`,
    );
  }
  if (input.y.length !== samples) throw new RangeError(`y has ${input.y.length} values, expected ${samples}`);
  if (input.featureNames.length !== features) {
    throw new RangeError(`featureNames has ${input.featureNames.length} names, expected ${features}`);
  }
  if (input.featureStats.length !== features) {
    throw new RangeError(`featureStats has ${input.featureStats.length} entries, expected ${features}`);
  }
  assertFiniteJson(input.featureStats, 'featureStats');
  const x = float64ToBytes(input.x);
  const y = float64ToBytes(input.y);
  return db.dataset.create({
    data: {
      tenantId: input.tenantId,
      name: input.name,
      task: input.task,
      samples,
      features,
      featureNames: input.featureNames,
      labelName: input.labelName,
      classes: input.classes ?? Prisma.DbNull,
      x,
      y,
      featureStats: input.featureStats as unknown as Prisma.InputJsonArray,
      byteSize: x.byteLength + y.byteLength,
    },
    omit: withoutValues,
  });
}

/**
 * The dataset's metadata, without x and y; null if missing or another tenant's. A deleted dataset
 * that finished jobs refer to is returned with deletedAt set (its values are gone).
 */
export async function getDataset(db: DbOrTx, tenantId: string, id: string): Promise<DatasetSummary | null> {
  if (!isUuid(id)) return null;
  return db.dataset.findFirst({ where: { id, tenantId }, omit: withoutValues });
}

/** The whole dataset, values included (decode x and y with bytesToFloat64). */
export async function getDatasetWithValues(
  db: DbOrTx,
  tenantId: string,
  id: string,
): Promise<Dataset | null> {
  if (!isUuid(id)) return null;
  return db.dataset.findFirst({ where: { id, tenantId } });
}

/** The tenant's datasets, newest first, without values; deleted ones are left out. */
export async function listDatasets(
  db: DbOrTx,
  tenantId: string,
  options: PageOptions = {},
): Promise<Page<DatasetSummary>> {
  const page = pageQuery(options);
  const rows = await db.dataset.findMany({
    where: { tenantId, deletedAt: null, ...page.after },
    orderBy: page.orderBy,
    take: page.take,
    omit: withoutValues,
  });
  return toPage(rows, page.limit);
}

/** What deleteDataset did: gone, kept with deletedAt and its values emptied, or why not. */
export type DeleteDatasetResult = SoftDeleteResult;

/**
 * Deletes a dataset unless a queued or running job uses it (softDelete). If finished jobs refer to
 * it, its values are emptied (the bytes freed) and its row stays (name, shape, statistics and
 * deletedAt), so those jobs stay explainable; otherwise the row goes. No statement returns x or
 * y: reading tens of megabytes back only to drop them stalled the API's event loop for seconds.
 */
export async function deleteDataset(db: Db, tenantId: string, id: string): Promise<DeleteDatasetResult> {
  return softDelete(db, 'Dataset', tenantId, id, async (tx) => {
    const [emptied] = await tx.$queryRaw<{ deletedAt: Date }[]>`
      UPDATE "Dataset" SET "x" = ''::bytea, "y" = ''::bytea, "byteSize" = 0, "deletedAt" = now()
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
