// The model registry: where a model comes from (its job's dataset and network), and later its
// name, tags, versions and aliases.
import type { Db } from './client.ts';
import type { Prisma } from './generated/prisma/client.ts';
import { type DbOrTx, isUuid } from './internal.ts';
import type { ModelSummary } from './models.ts';
import { findPage, type Page, type PageOptions } from './page.ts';
import { tenantLookup } from './tenant-lookup.ts';

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
export const getModelOrigin = tenantLookup<ModelOrigin>(async (db, key) => {
  const row = await db.model.findFirst({
    where: key,
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
});

// ---- names, tags, versions, aliases ----------------------------------------------------------

const SUMMARY = { omit: { parameters: true }, include: { job: { select: { training: true } } } } as const;

export interface ListModelsOptions extends PageOptions {
  jobId?: string;
  datasetId?: string;
  name?: string;
  tag?: string;
}

/** The tenant's models, newest first, filtered by job, dataset, registry name and tag. */
export async function listModels(
  db: DbOrTx,
  tenantId: string,
  options: ListModelsOptions = {},
): Promise<Page<ModelSummary>> {
  const { jobId, datasetId, name, tag } = options;
  if ((jobId !== undefined && !isUuid(jobId)) || (datasetId !== undefined && !isUuid(datasetId)))
    return { items: [], nextCursor: null };
  const filters = {
    tenantId,
    ...(jobId !== undefined ? { jobId } : {}),
    ...(datasetId !== undefined ? { job: { datasetId } } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(tag !== undefined ? { tags: { has: tag } } : {}),
  };
  return findPage(options, filters, (page) => db.model.findMany({ ...page, ...SUMMARY }));
}

/** Why a registry change was refused. */
export type RegistryRefusal = { refused: 'not-found' } | { refused: 'aliased'; aliases: string[] };

/** The name@alias pairs that point to a model. */
export async function aliasesOf(db: DbOrTx, tenantId: string, modelId: string): Promise<string[]> {
  const rows = await db.modelAlias.findMany({
    where: { tenantId, modelId },
    orderBy: [{ name: 'asc' }, { alias: 'asc' }],
  });
  return rows.map((r) => `${r.name}@${r.alias}`);
}

/** Locks a model's row (FOR UPDATE: renames and deletes; FOR SHARE: pointing an alias at it). */
async function lockModel(
  tx: Prisma.TransactionClient,
  tenantId: string,
  id: string,
  mode: 'UPDATE' | 'SHARE',
) {
  const rows =
    mode === 'UPDATE'
      ? await tx.$queryRaw<{ id: string; name: string | null }[]>`
          SELECT "id", "name" FROM "Model" WHERE "id" = ${id}::uuid AND "tenantId" = ${tenantId}::uuid FOR UPDATE`
      : await tx.$queryRaw<{ id: string; name: string | null }[]>`
          SELECT "id", "name" FROM "Model" WHERE "id" = ${id}::uuid AND "tenantId" = ${tenantId}::uuid FOR SHARE`;
  return rows[0] ?? null;
}

/**
 * Sets a model's registry name and/or tags. A new name makes the model the next version under
 * it (1, 2, ...: RegisteredModel.lastVersion, never reused); null takes the name away. A model an
 * alias points to keeps its name (renaming it would leave the alias pointing outside its name).
 */
export async function updateModelRegistration(
  db: Db,
  tenantId: string,
  id: string,
  change: { name?: string | null; tags?: string[] },
): Promise<ModelSummary | RegistryRefusal> {
  if (!isUuid(id)) return { refused: 'not-found' };
  return db.$transaction(async (tx) => {
    const row = await lockModel(tx, tenantId, id, 'UPDATE');
    if (!row) return { refused: 'not-found' as const };
    const data: Prisma.ModelUpdateInput = {};
    if (change.tags !== undefined) data.tags = [...new Set(change.tags)];
    if (change.name !== undefined && change.name !== row.name) {
      const aliases = await aliasesOf(tx, tenantId, id);
      if (aliases.length > 0) return { refused: 'aliased' as const, aliases };
      if (change.name === null) {
        data.name = null;
        data.version = null;
      } else {
        const [registered] = await tx.$queryRaw<{ lastVersion: number }[]>`
          INSERT INTO "RegisteredModel" ("tenantId", "name", "lastVersion") VALUES (${tenantId}::uuid, ${change.name}, 1)
          ON CONFLICT ("tenantId", "name") DO UPDATE SET "lastVersion" = "RegisteredModel"."lastVersion" + 1
          RETURNING "lastVersion"`;
        data.name = change.name;
        data.version = registered!.lastVersion;
      }
    }
    return tx.model.update({ where: { id }, data, ...SUMMARY });
  });
}

export interface RegisteredVersion {
  version: number;
  modelId: string;
  createdAt: Date;
  tags: string[];
}

export interface RegisteredModelView {
  name: string;
  createdAt: Date;
  versions: RegisteredVersion[];
  /** alias → version */
  aliases: Record<string, number>;
}

/** A registry name with its versions (newest first) and aliases; null if the tenant has none such. */
export async function getRegisteredModel(
  db: DbOrTx,
  tenantId: string,
  name: string,
): Promise<RegisteredModelView | null> {
  const registered = await db.registeredModel.findUnique({ where: { tenantId_name: { tenantId, name } } });
  if (!registered) return null;
  const [models, aliases] = await Promise.all([
    db.model.findMany({
      where: { tenantId, name },
      orderBy: { version: 'desc' },
      select: { id: true, version: true, createdAt: true, tags: true },
    }),
    db.modelAlias.findMany({
      where: { tenantId, name },
      orderBy: { alias: 'asc' },
      include: { model: { select: { version: true } } },
    }),
  ]);
  return {
    name,
    createdAt: registered.createdAt,
    versions: models.map((m) => ({
      version: m.version!,
      modelId: m.id,
      createdAt: m.createdAt,
      tags: m.tags,
    })),
    aliases: Object.fromEntries(aliases.map((a) => [a.alias, a.model.version!])),
  };
}

/** The model of name@version; null if none. */
export async function findModelVersion(
  db: DbOrTx,
  tenantId: string,
  name: string,
  version: number,
): Promise<string | null> {
  const row = await db.model.findFirst({ where: { tenantId, name, version }, select: { id: true } });
  return row?.id ?? null;
}

/** The model name@alias points to; null if no such alias. */
export async function resolveAlias(
  db: DbOrTx,
  tenantId: string,
  name: string,
  alias: string,
): Promise<string | null> {
  const row = await db.modelAlias.findUnique({
    where: { tenantId_name_alias: { tenantId, name, alias } },
    select: { modelId: true },
  });
  return row?.modelId ?? null;
}

/** Points name@alias at name's version (creating or moving the alias); null if no such version. */
export async function setAlias(
  db: Db,
  tenantId: string,
  name: string,
  alias: string,
  version: number,
): Promise<{ modelId: string; previous: string | null } | null> {
  return db.$transaction(async (tx) => {
    const modelId = await findModelVersion(tx, tenantId, name, version);
    if (!modelId) return null;
    // Share-locked: a delete or rename of this model waits for us, then sees the alias.
    if (!(await lockModel(tx, tenantId, modelId, 'SHARE'))) return null;
    const before = await resolveAlias(tx, tenantId, name, alias);
    await tx.modelAlias.upsert({
      where: { tenantId_name_alias: { tenantId, name, alias } },
      create: { tenantId, name, alias, modelId },
      update: { modelId },
    });
    return { modelId, previous: before };
  });
}

/** Removes name@alias; false if there was none. */
export async function deleteAlias(
  db: DbOrTx,
  tenantId: string,
  name: string,
  alias: string,
): Promise<boolean> {
  const { count } = await db.modelAlias.deleteMany({ where: { tenantId, name, alias } });
  return count === 1;
}

/**
 * Deletes a model unless an alias points to it (the rule: move or delete the alias first, so a
 * client calling name@alias never finds it gone). The row lock orders it with setAlias.
 */
export async function deleteModelUnlessAliased(
  db: Db,
  tenantId: string,
  id: string,
): Promise<{ deleted: true } | RegistryRefusal> {
  if (!isUuid(id)) return { refused: 'not-found' };
  return db.$transaction(async (tx) => {
    if (!(await lockModel(tx, tenantId, id, 'UPDATE'))) return { refused: 'not-found' as const };
    const aliases = await aliasesOf(tx, tenantId, id);
    if (aliases.length > 0) return { refused: 'aliased' as const, aliases };
    await tx.$executeRaw`DELETE FROM "Model" WHERE "id" = ${id}::uuid`;
    return { deleted: true as const };
  });
}

/** A job with what a model's receipt shows of its dataset and network (no values); null if missing. */
export async function getJobReceiptSource(db: DbOrTx, tenantId: string, jobId: string) {
  if (!isUuid(jobId)) return null;
  return db.trainingJob.findFirst({
    where: { id: jobId, tenantId },
    include: {
      dataset: { select: { id: true, name: true, samples: true, features: true, contentHash: true } },
      network: { select: { id: true, inputSize: true, layers: true, init: true, parameterCount: true } },
    },
  });
}

/**
 * The dataset's content hash: hex sha256 over its stored values (each chunk's encoding name and
 * bytes, in order, then y), computed in Postgres (no values travel) the first time it is needed
 * and kept on the row. null if the dataset is missing, not ready, or its values were deleted.
 */
export const ensureDatasetContentHash = tenantLookup<string>(async (db, { id, tenantId }) => {
  const [row] = await db.$queryRaw<{ contentHash: string | null; deletedAt: Date | null }[]>`
    SELECT "contentHash", "deletedAt" FROM "Dataset"
    WHERE "id" = ${id}::uuid AND "tenantId" = ${tenantId}::uuid AND "status" = 'ready'`;
  if (!row) return null;
  if (row.contentHash !== null || row.deletedAt !== null) return row.contentHash;
  const [updated] = await db.$queryRaw<{ contentHash: string }[]>`
    UPDATE "Dataset" d SET "contentHash" = encode(sha256(
      coalesce((SELECT string_agg(convert_to(c."encoding"::text, 'UTF8') || c."values", ''::bytea ORDER BY c."index")
                FROM "DatasetChunk" c WHERE c."datasetId" = d."id"), ''::bytea) || d."y"), 'hex')
    WHERE d."id" = ${id}::uuid AND d."deletedAt" IS NULL
    RETURNING d."contentHash"`;
  return updated?.contentHash ?? null;
});
