/**
 * The worker fails jobs through here: db stores an error code as text, and this is where the
 * worker's codes are held to the contract's JobErrorCode, which clients switch on. A failure
 * that changed the row is also announced as the job's `failed` event.
 */
import type { JobErrorCode } from '@backprop/contracts';
import { type Db, type FailJobInput, failJob as failJobRow } from '@backprop/db';
import type { JobEventPublisher } from './events.ts';

export interface JobFailure {
  code: JobErrorCode;
  message: string;
}

/** db's failJob (queued | running → failed, fenced by attempt when given) with a catalog code. */
export async function failJob(
  db: Db,
  events: JobEventPublisher | undefined,
  input: FailJobInput & JobFailure,
): Promise<boolean> {
  const changed = await failJobRow(db, input);
  if (changed) {
    events?.status(input.jobId, {
      status: 'failed',
      error: { code: input.code, message: input.message },
    });
  }
  return changed;
}
