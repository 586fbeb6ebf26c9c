/**
 * The worker fails jobs through here: db stores an error code as text, and this is where the
 * worker's codes are held to the contract's JobErrorCode, which clients switch on.
 */
import type { JobErrorCode } from '@backprop/contracts';
import { type Db, type FailJobInput, failJob as failJobRow } from '@backprop/db';

export interface JobFailure {
  code: JobErrorCode;
  message: string;
}

/** db's failJob (queued | running → failed, fenced by attempt when given) with a catalog code. */
export function failJob(db: Db, input: FailJobInput & JobFailure): Promise<boolean> {
  return failJobRow(db, input);
}
