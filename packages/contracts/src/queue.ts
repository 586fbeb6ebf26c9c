/**
 * The queue contract. Payloads carry ids only: Postgres is the system of record and Redis only
 * delivers. The BullMQ job id equals the training job's row id, so a re-enqueue is a no-op while
 * the queue still holds the job.
 */
import { z } from 'zod';
import { Id } from './common.ts';

export const TRAINING_QUEUE = 'training';
export const TRAIN_JOB_NAME = 'train';

export const TrainingJobPayload = z.strictObject({ jobId: Id, tenantId: Id });
export type TrainingJobPayload = z.infer<typeof TrainingJobPayload>;

/** Channel on which cancellations are published so a running worker hears them at once. */
export const CANCEL_CHANNEL = 'backprop:cancel';

/**
 * BullMQ options of every training job (plain data, so this package needs no bullmq import).
 * Retries are for transient failures only: the worker marks deterministic ones unrecoverable.
 * Finished jobs leave Redis soon: Postgres keeps the record.
 */
export function trainingJobOptions(attempts: number) {
  return {
    attempts,
    backoff: { type: 'exponential' as const, delay: 1000 },
    removeOnComplete: { age: 3600, count: 1000 },
    removeOnFail: { age: 24 * 3600, count: 1000 },
  };
}
