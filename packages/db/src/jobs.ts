// Training jobs: the state machine queued → running → succeeded | failed | cancelled, in SQL.
//
// The queue delivers a job at least once, so two workers can hold the same job (a stalled worker
// that wakes up, a redelivery). Every write is therefore a compare-and-set on the status, and a
// worker's writes also on `attempt`: claimJob increments it and hands it out as a fencing token,
// so once a job is claimed again, the previous holder's progress, checkpoints and completion
// are refused (RELIABILITY.md P2, P17). Terminal states never change.
//
// Leases are computed and compared with the database clock (now()), never a process clock, so
// workers and the reconciler on different machines agree on what "expired" means.
import { float64ToBytes } from './bytes.ts';
import type { Db } from './client.ts';
import {
  type Checkpoint,
  type JobStatus,
  Prisma,
  type Task,
  type TrainingJob,
} from './generated/prisma/client.ts';
import {
  assertCount,
  assertFiniteJson,
  type DbOrTx,
  float8Param,
  isForeignKeyViolation,
  isUniqueViolation,
  isUuid,
  jsonParam,
} from './internal.ts';
import { type LayerSpec, storedLayer } from './networks.ts';
import { findPage, type Page, type PageOptions } from './page.ts';
import { tenantLookup } from './tenant-lookup.ts';
import { recordJobEvents } from './webhook-events.ts';

/** An empty history (a job without a validation split). */
const NO_VALUES = new Float64Array(0);

const TERMINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

function isTerminalStatus(status: JobStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** A job without its cost and validation histories. */
export type JobSummary = Omit<TrainingJob, 'costs' | 'validationHistory'> & { model: { id: string } | null };

const withoutCosts = { costs: true, validationHistory: true } as const;
const withModelId = { model: { select: { id: true } } } as const;

/** A job with the id of the model it produced (null until it succeeded). */
export type JobWithModel = TrainingJob & { model: { id: string } | null };

// ---- create ----------------------------------------------------------------------------------

export interface CreateJobInput {
  tenantId: string;
  datasetId: string;
  networkId: string;
  /** the training options as submitted */
  training: Prisma.InputJsonObject;
  /** iterations planned in total */
  iterations: number;
  /** the client's Idempotency-Key: at most one job per (tenant, key) */
  idempotencyKey?: string | null;
  /** a hash of the request body, to tell a retry from a different request reusing the key */
  requestHash?: string | null;
}

export type CreateJobResult =
  | { created: true; job: JobSummary }
  /** the key was used before: `job` is that job; requestHashMatches false means another body */
  | { created: false; job: JobSummary; requestHashMatches: boolean };

/** The dataset or the network does not exist for this tenant. */
export class MissingReferenceError extends Error {
  override readonly name = 'MissingReferenceError';
  constructor() {
    super('the dataset or the network does not exist');
  }
}

/**
 * Inserts a queued job. With an idempotency key, concurrent and repeated calls with the same
 * (tenant, key) create exactly one row: the unique index decides, and the losers read the winner.
 * Throws MissingReferenceError if the dataset or network is missing or another tenant's (the
 * foreign keys include tenantId).
 */
export async function createJob(db: DbOrTx, input: CreateJobInput): Promise<CreateJobResult> {
  assertCount(input.iterations, 'iterations', { min: 1 });
  assertFiniteJson(input.training, 'training');
  if (!isUuid(input.datasetId) || !isUuid(input.networkId)) throw new MissingReferenceError();
  const key = input.idempotencyKey ?? null;
  const requestHash = input.requestHash ?? null;
  try {
    const job = await db.trainingJob.create({
      data: {
        tenantId: input.tenantId,
        datasetId: input.datasetId,
        networkId: input.networkId,
        training: input.training,
        iterations: input.iterations,
        idempotencyKey: key,
        requestHash,
      },
      omit: withoutCosts,
      include: withModelId,
    });
    return { created: true, job };
  } catch (error) {
    if (isForeignKeyViolation(error)) throw new MissingReferenceError();
    if (key === null || !isUniqueViolation(error)) throw error;
    // The insert waited for the transaction that holds the key and then failed: that row is
    // committed, and this statement (a new snapshot) sees it.
    const job = await db.trainingJob.findUnique({
      where: { tenantId_idempotencyKey: { tenantId: input.tenantId, idempotencyKey: key } },
      omit: withoutCosts,
      include: withModelId,
    });
    if (job === null) throw error;
    return { created: false, job, requestHashMatches: job.requestHash === requestHash };
  }
}

// ---- read ------------------------------------------------------------------------------------

/** The whole job, cost history included; null if missing or another tenant's. */
export const getJob = tenantLookup<JobWithModel>((db, key) =>
  db.trainingJob.findFirst({ where: key, include: withModelId }),
);

export interface ListJobsOptions extends PageOptions {
  status?: JobStatus | readonly JobStatus[];
}

/** The tenant's jobs, newest first, optionally of some statuses, without cost histories. */
export async function listJobs(
  db: DbOrTx,
  tenantId: string,
  options: ListJobsOptions = {},
): Promise<Page<JobSummary>> {
  const { status } = options;
  const statusFilter =
    status === undefined ? {} : { status: { in: typeof status === 'string' ? [status] : [...status] } };
  return findPage(options, { tenantId, ...statusFilter }, (page) =>
    db.trainingJob.findMany({ ...page, omit: withoutCosts, include: withModelId }),
  );
}

// ---- the worker's side -----------------------------------------------------------------------

export interface ClaimJobInput {
  jobId: string;
  /** who holds the job now (hostname:pid, ...), for operators */
  workerId: string;
  /** the lease: unless renewed (recordProgress, renewLease) within this time, the reconciler may re-enqueue the job */
  leaseMs: number;
}

/**
 * Takes a queued or running job for a new attempt: status running, attempt + 1, startedAt on the
 * first claim, a fresh lease. Returns the job and the attempt to present on every later write, or
 * null if the job is missing or terminal (succeeded, failed, cancelled): then there is nothing to do.
 * Claiming a running job fences off its previous holder.
 */
export async function claimJob(
  db: Db,
  input: ClaimJobInput,
): Promise<{ job: TrainingJob; attempt: number } | null> {
  assertCount(input.leaseMs, 'leaseMs', { min: 1 });
  if (!isUuid(input.jobId)) return null;
  const [claimed, job] = await db.$transaction([
    claimStatement(db, input),
    db.trainingJob.findUnique({ where: { id: input.jobId } }),
  ]);
  const attempt = claimed[0]?.attempt;
  return attempt === undefined || job === null ? null : { job, attempt };
}

function claimStatement(db: DbOrTx, input: ClaimJobInput) {
  return db.$queryRaw<{ attempt: number }[]>`
    UPDATE "TrainingJob"
    SET "status" = 'running', "attempt" = "attempt" + 1, "workerId" = ${input.workerId},
        "startedAt" = COALESCE("startedAt", now()),
        "leaseExpiresAt" = now() + ${input.leaseMs}::integer * interval '1 millisecond',
        "updatedAt" = now()
    WHERE "id" = ${input.jobId}::uuid AND "status" IN ('queued', 'running')
    RETURNING "attempt"`;
}

export type FairClaim =
  | { outcome: 'claimed'; job: TrainingJob; attempt: number }
  /** missing or terminal: nothing to do */
  | { outcome: 'finished' }
  /** the tenant's running jobs (and its older queued ones) fill its cap: try again later */
  | { outcome: 'deferred'; ahead: number };

/**
 * claimJob under a per-tenant cap on running jobs (0 = no cap). A job is taken only while fewer
 * than `tenantMaxRunning` of its tenant's other jobs are running with a live lease or queued
 * since before it: within a tenant, jobs start in the order they were created, so a deferred job
 * is never overtaken by a newer one and cannot starve. A running job whose lease expired holds no
 * running place (its worker is gone) but keeps its turn as a waiting one, so it is taken again
 * before newer jobs of its tenant. Claims of one tenant are serialised
 * by a transaction-scoped advisory lock, so two workers cannot both see the last free place.
 */
export async function claimJobWithinTenantCap(
  db: Db,
  input: ClaimJobInput & { tenantMaxRunning: number },
): Promise<FairClaim> {
  assertCount(input.leaseMs, 'leaseMs', { min: 1 });
  assertCount(input.tenantMaxRunning, 'tenantMaxRunning');
  if (input.tenantMaxRunning === 0) {
    const claim = await claimJob(db, input);
    return claim ? { outcome: 'claimed', ...claim } : { outcome: 'finished' };
  }
  if (!isUuid(input.jobId)) return { outcome: 'finished' };
  return db.$transaction(async (tx) => {
    const [target] = await tx.$queryRaw<{ tenantId: string; createdAt: Date }[]>`
      SELECT "tenantId", "createdAt" FROM "TrainingJob"
      WHERE "id" = ${input.jobId}::uuid AND "status" IN ('queued', 'running')`;
    if (target === undefined) return { outcome: 'finished' };
    await tx.$queryRaw`
      SELECT pg_advisory_xact_lock(hashtextextended(${`claim:${target.tenantId}`}::text, 0))::text`;
    // Ahead of this job: the tenant's jobs training now (a live lease), and those waiting for a
    // worker (queued, or running with an expired lease: their worker is gone) created before it.
    const [counted] = await tx.$queryRaw<{ ahead: number }[]>`
      SELECT count(*)::integer AS ahead FROM "TrainingJob"
      WHERE "tenantId" = ${target.tenantId}::uuid AND "id" <> ${input.jobId}::uuid
        AND "status" IN ('queued', 'running')
        AND (("status" = 'running' AND "leaseExpiresAt" > now())
          OR ("createdAt", "id") < (${target.createdAt}::timestamptz, ${input.jobId}::uuid))`;
    const ahead = counted?.ahead ?? 0;
    if (ahead >= input.tenantMaxRunning) return { outcome: 'deferred', ahead };
    const claimed = await claimStatement(tx, input);
    const attempt = claimed[0]?.attempt;
    const job = await tx.trainingJob.findUnique({ where: { id: input.jobId } });
    return attempt === undefined || job === null
      ? { outcome: 'finished' }
      : { outcome: 'claimed', job, attempt };
  });
}

export interface RecordProgressInput {
  jobId: string;
  attempt: number;
  /** iterations done */
  iteration: number;
  /** the latest cost (null if none computed yet) */
  cost: number | null;
  /**
   * Entries of the cost history (J_0, J_costEvery, ...) from entry `costsFrom` on: the whole
   * history when costsFrom is 0, else the entries recorded since the history the row holds.
   */
  costs: Float64Array;
  /**
   * How many entries of the stored history come before `costs` (default 0: replace it). The row
   * keeps that many and `costs` follows them, so a progress write sends only what is new, and
   * writing the same entries again (a retry) changes nothing. It must not exceed the entries the
   * row holds: advance it only past writes that returned true.
   */
  costsFrom?: number;
  /**
   * With a validation split: the validation history (two float64s an entry: the validation cost,
   * then the accuracy or MSE) of the same entries as `costs`, kept and appended the same way.
   * Omitted: empty (no split).
   */
  validationHistory?: Float64Array;
  leaseMs: number;
}

/**
 * Records progress and renews the lease. Returns false if the job is no longer this attempt's
 * (cancelled, failed, or claimed again): the caller must stop working on it.
 */
export async function recordProgress(db: DbOrTx, input: RecordProgressInput): Promise<boolean> {
  assertCount(input.iteration, 'iteration');
  assertCount(input.leaseMs, 'leaseMs', { min: 1 });
  const costsFrom = input.costsFrom ?? 0;
  assertCount(costsFrom, 'costsFrom');
  if (!isUuid(input.jobId)) return false;
  // The history is a bytea of float64s (8 bytes an entry): keep the first costsFrom, append the rest.
  const updated = await db.$executeRaw`
    UPDATE "TrainingJob"
    SET "iteration" = ${input.iteration}::integer, "cost" = ${float8Param(input.cost)}::double precision,
        "costs" = substring("costs" from 1 for ${costsFrom * 8}::integer) || ${float64ToBytes(input.costs)},
        "validationHistory" = substring("validationHistory" from 1 for ${costsFrom * 16}::integer)
          || ${float64ToBytes(input.validationHistory ?? NO_VALUES)},
        "leaseExpiresAt" = now() + ${input.leaseMs}::integer * interval '1 millisecond',
        "updatedAt" = now()
    WHERE "id" = ${input.jobId}::uuid AND "status" = 'running' AND "attempt" = ${input.attempt}::integer`;
  return updated === 1;
}

/** Renews the lease without progress. Returns false if the job is no longer this attempt's. */
export async function renewLease(
  db: DbOrTx,
  input: { jobId: string; attempt: number; leaseMs: number },
): Promise<boolean> {
  assertCount(input.leaseMs, 'leaseMs', { min: 1 });
  if (!isUuid(input.jobId)) return false;
  const updated = await db.$executeRaw`
    UPDATE "TrainingJob"
    SET "leaseExpiresAt" = now() + ${input.leaseMs}::integer * interval '1 millisecond', "updatedAt" = now()
    WHERE "id" = ${input.jobId}::uuid AND "status" = 'running' AND "attempt" = ${input.attempt}::integer`;
  return updated === 1;
}

/**
 * Hands a job back: running (this attempt) → queued, its progress kept, no worker and no lease,
 * so a client sees it waiting for a worker (a graceful shutdown put it back in the queue). The
 * next claim takes it as any queued job, resuming from its checkpoint. Returns false if the job
 * is no longer this attempt's (cancelled, finished, or claimed again): nothing changes.
 */
export async function releaseJob(db: DbOrTx, input: { jobId: string; attempt: number }): Promise<boolean> {
  if (!isUuid(input.jobId)) return false;
  const updated = await db.$executeRaw`
    UPDATE "TrainingJob"
    SET "status" = 'queued', "workerId" = NULL, "leaseExpiresAt" = NULL, "updatedAt" = now()
    WHERE "id" = ${input.jobId}::uuid AND "status" = 'running' AND "attempt" = ${input.attempt}::integer`;
  return updated === 1;
}

export interface SaveCheckpointInput {
  jobId: string;
  attempt: number;
  iteration: number;
  /** @backprop/nn's checkpoint bytes: weights, optimiser moments, rng and early-stopping state */
  snapshot: Uint8Array;
  /** small things: normalisation, ... (finite numbers only) */
  state: Prisma.InputJsonObject;
  /** the cost history up to iteration */
  costs: Float64Array;
  /** the validation history up to iteration (RecordProgressInput's layout); omitted: empty */
  validationHistory?: Float64Array;
}

/**
 * Writes the job's checkpoint (one row per job, replaced each time), only while the job is
 * running with this attempt. Returns false otherwise. The job row is share-locked by the same
 * statement, so a checkpoint can never land after the job finished (which deletes it).
 */
export async function saveCheckpoint(db: DbOrTx, input: SaveCheckpointInput): Promise<boolean> {
  assertCount(input.iteration, 'iteration');
  if (!isUuid(input.jobId)) return false;
  const saved = await db.$executeRaw`
    INSERT INTO "Checkpoint" ("jobId", "iteration", "attempt", "snapshot", "state", "costs", "validationHistory", "updatedAt")
    (SELECT "id", ${input.iteration}::integer, "attempt", ${input.snapshot},
            ${jsonParam(input.state, 'state')}::jsonb,
            ${float64ToBytes(input.costs)}, ${float64ToBytes(input.validationHistory ?? NO_VALUES)}, now()
     FROM "TrainingJob"
     WHERE "id" = ${input.jobId}::uuid AND "status" = 'running' AND "attempt" = ${input.attempt}::integer
     FOR SHARE)
    ON CONFLICT ("jobId") DO UPDATE SET
      "iteration" = EXCLUDED."iteration", "attempt" = EXCLUDED."attempt", "snapshot" = EXCLUDED."snapshot",
      "state" = EXCLUDED."state", "costs" = EXCLUDED."costs", "validationHistory" = EXCLUDED."validationHistory",
      "updatedAt" = EXCLUDED."updatedAt"`;
  return saved === 1;
}

/** The job's latest checkpoint (written by any attempt), or null. */
export async function getCheckpoint(db: DbOrTx, jobId: string): Promise<Checkpoint | null> {
  if (!isUuid(jobId)) return null;
  return db.checkpoint.findUnique({ where: { jobId } });
}

export interface CompleteJobInput {
  jobId: string;
  attempt: number;
  iteration: number;
  cost: number | null;
  costs: Float64Array;
  /** the whole validation history (RecordProgressInput's layout); omitted: empty */
  validationHistory?: Float64Array;
  model: {
    inputSize: number;
    layers: LayerSpec[];
    task: Task;
    classes: (string | number)[] | null;
    /** the network in @backprop/nn's binary format (`serializeBinary`): shape, activations and
     * every weight and bias, bit-exact */
    parameters: Uint8Array;
    normalization: Prisma.InputJsonObject;
    metrics: Prisma.InputJsonObject;
  };
}

const NETWORK_MAGIC = [0x42, 0x50, 0x4e, 0x4e]; // "BPNN", the start of nn's serializeBinary bytes

/** A model's bytes are nn's binary network format: anything else is a caller's bug. */
function assertNetworkBytes(bytes: Uint8Array): void {
  if (bytes.byteLength < 16 || NETWORK_MAGIC.some((byte, i) => bytes[i] !== byte)) {
    throw new RangeError('model.parameters: expected @backprop/nn serializeBinary bytes (starting "BPNN")');
  }
}

/**
 * Finishes a job in one transaction: running (this attempt) → succeeded, the model inserted,
 * the checkpoint deleted. Returns null and changes nothing if the job is not running with this
 * attempt (cancelled, failed, claimed again, or already completed): a late or duplicate finisher
 * can never overwrite a terminal state, and the unique jobId of Model makes a second model
 * impossible even then.
 */
export async function completeJob(db: Db, input: CompleteJobInput): Promise<{ modelId: string } | null> {
  const { model } = input;
  assertCount(input.iteration, 'iteration');
  assertCount(model.inputSize, 'model.inputSize', { min: 1 });
  assertFiniteJson(model.layers, 'model.layers');
  assertFiniteJson(model.normalization, 'model.normalization');
  assertFiniteJson(model.metrics, 'model.metrics');
  if (!isUuid(input.jobId)) return null;
  assertNetworkBytes(model.parameters);
  const parameters = Uint8Array.from(model.parameters);
  const costs = float64ToBytes(input.costs);
  const validationHistory = float64ToBytes(input.validationHistory ?? NO_VALUES);
  return db.$transaction(async (tx) => {
    const finished = await tx.$queryRaw<{ tenantId: string }[]>`
      UPDATE "TrainingJob"
      SET "status" = 'succeeded', "finishedAt" = now(), "leaseExpiresAt" = NULL, "updatedAt" = now(),
          "iteration" = ${input.iteration}::integer, "cost" = ${float8Param(input.cost)}::double precision, "costs" = ${costs},
          "validationHistory" = ${validationHistory}
      WHERE "id" = ${input.jobId}::uuid AND "status" = 'running' AND "attempt" = ${input.attempt}::integer
      RETURNING "tenantId"`;
    const tenantId = finished[0]?.tenantId;
    if (tenantId === undefined) return null;
    const created = await tx.model.create({
      data: {
        tenantId,
        jobId: input.jobId,
        inputSize: model.inputSize,
        layers: model.layers.map(storedLayer),
        task: model.task,
        classes: model.classes ?? Prisma.DbNull,
        parameters,
        normalization: model.normalization,
        metrics: model.metrics,
      },
      select: { id: true },
    });
    await tx.checkpoint.deleteMany({ where: { jobId: input.jobId } });
    await recordJobEvents(tx, input.jobId);
    return { modelId: created.id };
  });
}

export interface FailJobInput {
  jobId: string;
  /** the worker's attempt: the failure only lands if the job is still this attempt's. Omit for
   * failures decided outside an attempt (the reconciler, an exhausted retry budget). */
  attempt?: number;
  /** a stable machine-readable reason, stored as text: the worker writes the contract's
   * JobErrorCode (apps/worker/src/fail-job.ts), e.g. BP_ERR_DIVERGED */
  code: string;
  message: string;
}

/**
 * queued | running → failed, and the checkpoint deleted in the same transaction. Returns false if
 * the job is terminal (or not this attempt's).
 */
export async function failJob(db: Db, input: FailJobInput): Promise<boolean> {
  if (!isUuid(input.jobId)) return false;
  const attempt = input.attempt;
  const attemptCheck =
    attempt === undefined
      ? Prisma.empty
      : Prisma.sql`AND "status" = 'running' AND "attempt" = ${attempt}::integer`;
  const [updated] = await db.$transaction([
    db.$executeRaw`
      UPDATE "TrainingJob"
      SET "status" = 'failed', "errorCode" = ${input.code}, "errorMessage" = ${input.message},
          "finishedAt" = now(), "leaseExpiresAt" = NULL, "updatedAt" = now()
      WHERE "id" = ${input.jobId}::uuid AND "status" IN ('queued', 'running') ${attemptCheck}`,
    deleteCheckpointIfFinished(db, input.jobId),
    recordJobEvents(db, input.jobId),
  ]);
  return updated === 1;
}

/**
 * Deletes the job's checkpoint if the job is terminal: the second statement of every terminal
 * transition. It runs after the status update in the same transaction, as its own statement (a
 * fresh snapshot under READ COMMITTED), so it also sees a checkpoint committed while the update
 * waited for the row; and saveCheckpoint share-locks a running row, so none can land after.
 */
function deleteCheckpointIfFinished(db: Db, jobId: string) {
  return db.$executeRaw`
    DELETE FROM "Checkpoint" c USING "TrainingJob" j
    WHERE c."jobId" = ${jobId}::uuid AND j."id" = c."jobId"
      AND j."status" IN ('succeeded', 'failed', 'cancelled')`;
}

/**
 * The sweep: deletes every checkpoint whose job is terminal (left by code that predates the
 * transactional delete, or written by hand). Returns how many it deleted. The worker's
 * reconciler runs it every round.
 */
export async function deleteCheckpointsOfFinishedJobs(db: DbOrTx): Promise<number> {
  return db.$executeRaw`
    DELETE FROM "Checkpoint" c USING "TrainingJob" j
    WHERE j."id" = c."jobId" AND j."status" IN ('succeeded', 'failed', 'cancelled')`;
}

export type CancelJobResult =
  | { outcome: 'cancelled'; job: JobSummary }
  | { outcome: 'already_terminal'; status: JobStatus }
  | { outcome: 'not_found' };

/**
 * queued | running → cancelled (terminal: a late completion cannot overwrite it), and the
 * checkpoint deleted in the same transaction. The worker learns it from its next
 * recordProgress/renewLease returning false.
 */
export async function cancelJob(db: Db, tenantId: string, jobId: string): Promise<CancelJobResult> {
  if (!isUuid(jobId)) return { outcome: 'not_found' };
  // The update and the read are two statements: in between, the job can only move forward, so a
  // retry settles it (bounded all the same).
  for (let round = 0; round < 3; round++) {
    const [cancelled] = await db.$transaction([
      db.$queryRaw<{ id: string }[]>`
        UPDATE "TrainingJob"
        SET "status" = 'cancelled', "finishedAt" = now(), "leaseExpiresAt" = NULL, "updatedAt" = now()
        WHERE "id" = ${jobId}::uuid AND "tenantId" = ${tenantId}::uuid AND "status" IN ('queued', 'running')
        RETURNING "id"`,
      deleteCheckpointIfFinished(db, jobId),
      recordJobEvents(db, jobId),
    ]);
    const current = await db.trainingJob.findFirst({
      where: { id: jobId, tenantId },
      omit: withoutCosts,
      include: withModelId,
    });
    if (current === null) return { outcome: 'not_found' };
    if (cancelled.length === 1) return { outcome: 'cancelled', job: current };
    if (isTerminalStatus(current.status)) return { outcome: 'already_terminal', status: current.status };
  }
  throw new Error(`cancelJob: job ${jobId} neither cancelled nor terminal`);
}

export interface JobToReconcile {
  id: string;
  tenantId: string;
  status: JobStatus;
  attempt: number;
  createdAt: Date;
  leaseExpiresAt: Date | null;
}

/**
 * Jobs the queue may have lost, across tenants, oldest first: queued for longer than
 * olderThanMs (enqueueing failed, or Redis lost it), and running with an expired lease (the
 * worker died or stalled). A reconciler re-enqueues them with jobId = job id.
 */
export async function findJobsToReconcile(
  db: DbOrTx,
  input: { olderThanMs: number; limit?: number },
): Promise<JobToReconcile[]> {
  assertCount(input.olderThanMs, 'olderThanMs');
  const limit = input.limit ?? 100;
  assertCount(limit, 'limit', { min: 1 });
  return db.$queryRaw<JobToReconcile[]>`
    SELECT "id", "tenantId", "status", "attempt", "createdAt", "leaseExpiresAt"
    FROM "TrainingJob"
    WHERE ("status" = 'queued' AND "createdAt" < now() - ${input.olderThanMs}::integer * interval '1 millisecond')
       OR ("status" = 'running' AND ("leaseExpiresAt" IS NULL OR "leaseExpiresAt" < now()))
    ORDER BY "createdAt"
    LIMIT ${limit}::integer`;
}

// ---- delete ----------------------------------------------------------------------------------

export type DeleteJobResult =
  | { deleted: true }
  | { deleted: false; reason: 'not_found' }
  /** queued or running: cancel it first */
  | { deleted: false; reason: 'active'; status: JobStatus }
  /** it produced a model that still exists: delete the model first */
  | { deleted: false; reason: 'has_model'; modelId: string };

/**
 * Deletes a finished job (succeeded, failed or cancelled) with its cost history and checkpoint,
 * unless its model still exists. A dataset or network deleted earlier and kept only for this job's
 * sake goes too once no job refers to it. The job row is locked first, so a concurrent cancel or
 * model deletion is either before or after, never in between.
 */
export async function deleteJob(db: Db, tenantId: string, id: string): Promise<DeleteJobResult> {
  if (!isUuid(id)) return { deleted: false, reason: 'not_found' };
  return db.$transaction(async (tx) => {
    const [job] = await tx.$queryRaw<{ status: JobStatus; datasetId: string; networkId: string }[]>`
      SELECT "status", "datasetId", "networkId" FROM "TrainingJob"
      WHERE "id" = ${id}::uuid AND "tenantId" = ${tenantId}::uuid FOR UPDATE`;
    if (job === undefined) return { deleted: false, reason: 'not_found' } as const;
    if (!isTerminalStatus(job.status))
      return { deleted: false, reason: 'active', status: job.status } as const;
    const model = await tx.model.findUnique({ where: { jobId: id }, select: { id: true } });
    if (model !== null) return { deleted: false, reason: 'has_model', modelId: model.id } as const;
    await tx.$executeRaw`DELETE FROM "TrainingJob" WHERE "id" = ${id}::uuid`;
    await tx.$executeRaw`
      DELETE FROM "Dataset" d WHERE d."id" = ${job.datasetId}::uuid AND d."deletedAt" IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM "TrainingJob" j WHERE j."datasetId" = d."id")`;
    await tx.$executeRaw`
      DELETE FROM "Network" n WHERE n."id" = ${job.networkId}::uuid AND n."deletedAt" IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM "TrainingJob" j WHERE j."networkId" = n."id")`;
    return { deleted: true } as const;
  });
}
