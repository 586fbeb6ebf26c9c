/** Job rows as the API shows them. */
import { type Job, JobErrorCode, JobStatus } from '@backprop/contracts';
import { StoredTraining } from '../stored.ts';

export interface JobRow {
  id: string;
  status: string;
  datasetId: string;
  networkId: string;
  training: unknown;
  iteration: number;
  iterations: number;
  cost: number | null;
  attempt: number;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** the last write of the job's row: for a running job, its worker's last lease renewal */
  updatedAt: Date;
  leaseExpiresAt: Date | null;
  errorCode: string | null;
  errorMessage: string | null;
  model?: { id: string } | null;
}

/**
 * `worker.alive` compares the API's clock with a lease the database's clock wrote: a skew between
 * the two only moves the moment it turns false by that skew (hosts run NTP; leases are seconds).
 * Who owns a job is never decided here: that stays a compare-and-set in Postgres.
 */
export function toJob(row: JobRow): Job {
  const now = Date.now();
  return {
    id: row.id,
    status: JobStatus.parse(row.status),
    datasetId: row.datasetId,
    networkId: row.networkId,
    training: StoredTraining.parse(row.training),
    progress: { iteration: row.iteration, iterations: row.iterations },
    // JSON has no NaN or ±Infinity (the db keeps them): a non-finite cost shows as null.
    cost: row.cost !== null && Number.isFinite(row.cost) ? row.cost : null,
    attempts: row.attempt,
    createdAt: row.createdAt.toISOString(),
    startedAt: row.startedAt?.toISOString() ?? null,
    finishedAt: row.finishedAt?.toISOString() ?? null,
    error: row.errorCode ? jobError(row.errorCode, row.errorMessage ?? '') : null,
    modelId: row.model?.id ?? null,
    worker:
      row.status === 'running'
        ? {
            alive: row.leaseExpiresAt !== null && row.leaseExpiresAt.getTime() > now,
            lastSeenAt: row.updatedAt.toISOString(),
          }
        : null,
  };
}

/**
 * A failed job's error in the contract's terms. A code this version does not know (a newer worker
 * wrote it during a rolling deploy) shows as BP_ERR_TRAINING_FAILED, the stored code kept in the
 * message, so a client's switch over JobErrorCode always has a case for it.
 */
function jobError(code: string, message: string): NonNullable<Job['error']> {
  const known = JobErrorCode.safeParse(code);
  if (known.success) return { code: known.data, message };
  return { code: 'BP_ERR_TRAINING_FAILED', message: `${code}: ${message}` };
}
