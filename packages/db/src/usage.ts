// Usage and quotas: what a tenant stores and runs, and the lock that makes quota checks exact.
//
// Stored bytes are the datasets' values (byteSize; 0 once a dataset is deleted), the models'
// parameters and the checkpoints of unfinished jobs (snapshot and cost history; every terminal
// transition deletes them). A queued or running job will store a model of its network's size
// (8 bytes per parameter) without asking anyone, so quota checks count that as reserved:
// completing the job turns the reservation into model bytes and leaves the sum unchanged.
//
// A quota check is a count followed by an insert; two requests of one tenant at once would both
// pass the count. withTenantLock serialises them on the tenant's row (FOR NO KEY UPDATE, which
// does not block the FOR KEY SHARE that foreign-key checks take, so workers writing models and
// other inserts of the tenant are not held up).
import type { Db } from './client.ts';
import {
  type CreateDatasetInput,
  createDataset,
  type DatasetSummary,
  deleteAbandonedUploads,
  deleteUnreferencedDeletedRows,
} from './datasets.ts';
import type { JobStatus, Prisma } from './generated/prisma/client.ts';
import { type DbOrTx, isUuid } from './internal.ts';
import {
  type CreateJobInput,
  type CreateJobResult,
  createJob,
  deleteCheckpointsOfFinishedJobs,
  MissingReferenceError,
} from './jobs.ts';

export interface StoredBytes {
  /** Σ byteSize of the tenant's datasets */
  datasets: number;
  /** Σ parameter bytes of the tenant's models */
  models: number;
  /** parameter bytes of the models the tenant's queued and running jobs will store */
  reserved: number;
  /** Σ bytes of the checkpoints of the tenant's unfinished jobs (snapshot and cost history) */
  checkpoints: number;
}

/** Everything that counts against LIMIT_TENANT_STORED_BYTES. */
export function totalStoredBytes(bytes: StoredBytes): number {
  return bytes.datasets + bytes.models + bytes.reserved + bytes.checkpoints;
}

export interface TenantUsage {
  storedBytes: StoredBytes;
  datasets: number;
  networks: number;
  models: number;
  jobs: Record<JobStatus, number>;
}

/** Bytes per stored value: datasets and models hold float64 data. */
export const BYTES_PER_PARAMETER = 8;

/**
 * The size of a float64 model in @backprop/nn's binary network format (`serializeBinary`, what a
 * model's `parameters` column holds): a 16-byte header, 16 bytes per layer, 8 bytes per parameter.
 * A job reserves this much until its model is stored; the SQL of getStoredBytes says it again.
 */
export function storedModelBytes(layerCount: number, parameterCount: number): number {
  return 16 + 16 * layerCount + BYTES_PER_PARAMETER * parameterCount;
}

/** What the tenant stores and reserves, in bytes (0 for an unknown tenant). */
export async function getStoredBytes(db: DbOrTx, tenantId: string): Promise<StoredBytes> {
  if (!isUuid(tenantId)) return { datasets: 0, models: 0, reserved: 0, checkpoints: 0 };
  // octet_length of a bytea reads its stored length, not the value (no detoasting).
  const [row] = await db.$queryRaw<
    { datasets: bigint; models: bigint; reserved: bigint; checkpoints: bigint }[]
  >`
    SELECT
      (SELECT COALESCE(SUM("byteSize"), 0) FROM "Dataset" WHERE "tenantId" = ${tenantId}::uuid)::bigint AS "datasets",
      (SELECT COALESCE(SUM(octet_length("parameters")), 0) FROM "Model" WHERE "tenantId" = ${tenantId}::uuid)::bigint AS "models",
      (SELECT COALESCE(SUM(16 + 16 * jsonb_array_length(n."layers")::bigint
                           + n."parameterCount"::bigint * ${BYTES_PER_PARAMETER}::integer), 0)
         FROM "TrainingJob" j JOIN "Network" n ON n."id" = j."networkId"
        WHERE j."tenantId" = ${tenantId}::uuid AND j."status" IN ('queued', 'running'))::bigint AS "reserved",
      (SELECT COALESCE(SUM(octet_length(c."snapshot")::bigint + octet_length(c."costs")
                           + octet_length(c."validationHistory")), 0)
         FROM "Checkpoint" c JOIN "TrainingJob" j ON j."id" = c."jobId"
        WHERE j."tenantId" = ${tenantId}::uuid)::bigint AS "checkpoints"`;
  return {
    datasets: Number(row!.datasets),
    models: Number(row!.models),
    reserved: Number(row!.reserved),
    checkpoints: Number(row!.checkpoints),
  };
}

/** Queued and running jobs of the tenant. */
export async function countActiveJobs(db: DbOrTx, tenantId: string): Promise<number> {
  if (!isUuid(tenantId)) return 0;
  return db.trainingJob.count({ where: { tenantId, status: { in: ['queued', 'running'] } } });
}

/** Everything /v1/usage reports, read in one snapshot (a repeatable-read transaction). */
export async function getTenantUsage(db: Db, tenantId: string): Promise<TenantUsage> {
  const jobs: Record<JobStatus, number> = { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
  if (!isUuid(tenantId)) {
    return {
      storedBytes: { datasets: 0, models: 0, reserved: 0, checkpoints: 0 },
      datasets: 0,
      networks: 0,
      models: 0,
      jobs,
    };
  }
  return db.$transaction(
    async (tx) => {
      const [storedBytes, datasets, networks, models, byStatus] = await Promise.all([
        getStoredBytes(tx, tenantId),
        tx.dataset.count({ where: { tenantId, deletedAt: null } }),
        tx.network.count({ where: { tenantId, deletedAt: null } }),
        tx.model.count({ where: { tenantId } }),
        tx.trainingJob.groupBy({ by: ['status'], where: { tenantId }, _count: true }),
      ]);
      for (const group of byStatus) jobs[group.status] = group._count;
      return { storedBytes, datasets, networks, models, jobs };
    },
    { isolationLevel: 'RepeatableRead' },
  );
}

/** The tenant does not exist (its row could not be locked). */
export class UnknownTenantError extends Error {
  override readonly name = 'UnknownTenantError';
  constructor(tenantId: string) {
    super(`tenant ${tenantId} does not exist`);
  }
}

/**
 * Runs `work` in a transaction that first locks the tenant's row, so quota checks and the insert
 * they guard are atomic with respect to every other withTenantLock of the same tenant. Keep
 * `work` short: the lock is held, and a connection taken, until it returns. `timeoutMs` bounds
 * the whole transaction (default: the client's, 10 s); raise it for large inserts.
 */
export async function withTenantLock<T>(
  db: Db,
  tenantId: string,
  work: (tx: Prisma.TransactionClient) => Promise<T>,
  options: { timeoutMs?: number } = {},
): Promise<T> {
  if (!isUuid(tenantId)) throw new UnknownTenantError(tenantId);
  return db.$transaction(
    async (tx) => {
      const locked = await tx.$queryRaw<{ id: string }[]>`
        SELECT "id" FROM "Tenant" WHERE "id" = ${tenantId}::uuid FOR NO KEY UPDATE`;
      if (locked.length === 0) throw new UnknownTenantError(tenantId);
      return work(tx);
    },
    options.timeoutMs === undefined ? undefined : { timeout: options.timeoutMs },
  );
}

/** A request refused because the tenant's stored bytes would exceed the quota. */
export interface StorageRefusal {
  outcome: 'storage_quota';
  /** what the tenant stores and reserves now */
  stored: number;
  /** what the refused request would add */
  requested: number;
}

/**
 * Stores a dataset unless the tenant's stored and reserved bytes plus this dataset's would exceed
 * maxStoredBytes; the check and the insert hold the tenant lock. `timeoutMs` bounds the
 * transaction (a large dataset takes a while to write).
 */
export async function createDatasetWithinQuota(
  db: Db,
  input: CreateDatasetInput,
  maxStoredBytes: number,
  options: { timeoutMs?: number } = {},
): Promise<{ outcome: 'created'; dataset: DatasetSummary } | StorageRefusal> {
  // The stored size is known once the values are encoded (dataset-chunks.ts): insert, then check,
  // and roll the insert back if it does not fit.
  class OverQuota extends Error {
    constructor(readonly refusal: StorageRefusal) {
      super('over the storage quota');
    }
  }
  try {
    return await withTenantLock(
      db,
      input.tenantId,
      async (tx) => {
        const stored = totalStoredBytes(await getStoredBytes(tx, input.tenantId));
        const dataset = await createDataset(tx, input);
        if (stored + dataset.byteSize > maxStoredBytes) {
          throw new OverQuota({ outcome: 'storage_quota', stored, requested: dataset.byteSize });
        }
        return { outcome: 'created', dataset } as const;
      },
      options,
    );
  } catch (err) {
    if (err instanceof OverQuota) return err.refusal;
    throw err;
  }
}

export interface JobQuota {
  /** queued + running jobs the tenant may have */
  maxActiveJobs: number;
  maxStoredBytes: number;
  /** the bytes of the model the job will store (storedModelBytes) */
  modelBytes: number;
}

/**
 * createJob behind the tenant's quotas, atomically (the tenant lock): a retry with a known
 * Idempotency-Key returns its job whatever the quotas say now; otherwise the job is refused if
 * the tenant already has maxActiveJobs queued or running, or if the model it will store does not
 * fit in the stored-bytes quota (counting what the other active jobs will store).
 */
export async function createJobWithinQuota(
  db: Db,
  input: CreateJobInput,
  quota: JobQuota,
): Promise<
  | { outcome: 'done'; result: CreateJobResult }
  | { outcome: 'active_jobs'; active: number }
  | { outcome: 'deleted'; resource: 'dataset' | 'network'; deletedAt: Date }
  | StorageRefusal
> {
  return withTenantLock(db, input.tenantId, async (tx) => {
    const key = input.idempotencyKey ?? null;
    if (key !== null) {
      // Under the lock no other request of this tenant inserts, so createJob below cannot meet
      // a unique violation (which would abort this transaction).
      const job = await tx.trainingJob.findUnique({
        where: { tenantId_idempotencyKey: { tenantId: input.tenantId, idempotencyKey: key } },
        omit: { costs: true },
        include: { model: { select: { id: true } } },
      });
      if (job !== null) {
        const requestHashMatches = job.requestHash === (input.requestHash ?? null);
        return { outcome: 'done', result: { created: false, job, requestHashMatches } } as const;
      }
    }
    // Share-locked until the job is inserted: a concurrent delete either committed before (and
    // deletedAt shows here) or waits and then sees this job as in use.
    if (!isUuid(input.datasetId) || !isUuid(input.networkId)) throw new MissingReferenceError();
    const [refs] = await tx.$queryRaw<{ datasetDeletedAt: Date | null; networkDeletedAt: Date | null }[]>`
      SELECT d."deletedAt" AS "datasetDeletedAt", n."deletedAt" AS "networkDeletedAt"
      FROM "Dataset" d, "Network" n
      WHERE d."id" = ${input.datasetId}::uuid AND d."tenantId" = ${input.tenantId}::uuid
        AND n."id" = ${input.networkId}::uuid AND n."tenantId" = ${input.tenantId}::uuid
      FOR SHARE`;
    if (refs === undefined) throw new MissingReferenceError();
    if (refs.datasetDeletedAt !== null)
      return { outcome: 'deleted', resource: 'dataset', deletedAt: refs.datasetDeletedAt } as const;
    if (refs.networkDeletedAt !== null)
      return { outcome: 'deleted', resource: 'network', deletedAt: refs.networkDeletedAt } as const;
    const active = await countActiveJobs(tx, input.tenantId);
    if (active >= quota.maxActiveJobs) return { outcome: 'active_jobs', active } as const;
    const stored = totalStoredBytes(await getStoredBytes(tx, input.tenantId));
    if (stored + quota.modelBytes > quota.maxStoredBytes) {
      return { outcome: 'storage_quota', stored, requested: quota.modelBytes } as const;
    }
    return { outcome: 'done', result: await createJob(tx, input) } as const;
  });
}

/**
 * An upload still `uploading` after this long was abandoned by an API process that died: the
 * API's REQUEST_TIMEOUT_MS (2 minutes by default) ends any request long before.
 */
export const ABANDONED_UPLOAD_MS = 60 * 60 * 1000;

/**
 * The storage sweep (the worker's reconciler runs it every round): checkpoints of finished jobs,
 * deleted datasets and networks that no job refers to any more, and uploads abandoned mid-way.
 * All are normally removed at once (terminal transitions, deleteJob, a failed upload's cleanup);
 * the sweep catches what a crash or a race left behind.
 */
export async function sweepStorage(
  db: DbOrTx,
  now = new Date(),
): Promise<{ checkpoints: number; rows: number }> {
  const checkpoints = await deleteCheckpointsOfFinishedJobs(db);
  const rows =
    (await deleteUnreferencedDeletedRows(db)) +
    (await deleteAbandonedUploads(db, new Date(now.getTime() - ABANDONED_UPLOAD_MS)));
  return { checkpoints, rows };
}
