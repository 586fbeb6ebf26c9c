/**
 * The error catalog: every error the API answers with has a stable code here, and every error
 * body has the same shape. Clients branch on `code`, people read `message`.
 */
import { z } from 'zod';
import { ErrorDetails } from './error-details.ts';

export const ERRORS = {
  BP_ERR_VALIDATION: { statusCode: 400, error: 'Bad Request' },
  /** the request did not arrive within REQUEST_TIMEOUT_MS (Node answers, before any route) */
  BP_ERR_REQUEST_TIMEOUT: { statusCode: 408, error: 'Request Timeout' },
  BP_ERR_UNAUTHORIZED: { statusCode: 401, error: 'Unauthorized' },
  BP_ERR_NOT_FOUND: { statusCode: 404, error: 'Not Found' },
  BP_ERR_DATASET_NOT_FOUND: { statusCode: 404, error: 'Not Found' },
  BP_ERR_NETWORK_NOT_FOUND: { statusCode: 404, error: 'Not Found' },
  BP_ERR_JOB_NOT_FOUND: { statusCode: 404, error: 'Not Found' },
  BP_ERR_MODEL_NOT_FOUND: { statusCode: 404, error: 'Not Found' },
  BP_ERR_WEBHOOK_NOT_FOUND: { statusCode: 404, error: 'Not Found' },
  BP_ERR_EVALUATION_NOT_FOUND: { statusCode: 404, error: 'Not Found' },
  BP_ERR_JOB_FINISHED: { statusCode: 409, error: 'Conflict' },
  BP_ERR_DATASET_IN_USE: { statusCode: 409, error: 'Conflict' },
  /** a new job names a dataset or network that was deleted (kept only for finished jobs' history) */
  BP_ERR_DATASET_DELETED: { statusCode: 409, error: 'Conflict' },
  BP_ERR_NETWORK_DELETED: { statusCode: 409, error: 'Conflict' },
  BP_ERR_NETWORK_IN_USE: { statusCode: 409, error: 'Conflict' },
  /** DELETE of a queued or running job: cancel it first */
  BP_ERR_JOB_ACTIVE: { statusCode: 409, error: 'Conflict' },
  /** DELETE of a job whose model still exists: delete the model first */
  BP_ERR_JOB_HAS_MODEL: { statusCode: 409, error: 'Conflict' },
  /** DELETE or rename of a model a registry alias points to: move or delete the alias first */
  BP_ERR_MODEL_ALIASED: { statusCode: 409, error: 'Conflict' },
  BP_ERR_PAYLOAD_TOO_LARGE: { statusCode: 413, error: 'Payload Too Large' },
  /** LIMIT_TENANT_STORED_BYTES: what the tenant stores, plus this, would exceed its quota */
  BP_ERR_STORAGE_QUOTA_EXCEEDED: { statusCode: 413, error: 'Payload Too Large' },
  BP_ERR_UNSUPPORTED_MEDIA_TYPE: { statusCode: 415, error: 'Unsupported Media Type' },
  /** LIMIT_HEADER_BYTES: the request line and headers (URL included) are larger than that */
  BP_ERR_HEADERS_TOO_LARGE: { statusCode: 431, error: 'Request Header Fields Too Large' },
  BP_ERR_LIMIT_EXCEEDED: { statusCode: 422, error: 'Unprocessable Entity' },
  BP_ERR_INCOMPATIBLE: { statusCode: 422, error: 'Unprocessable Entity' },
  BP_ERR_BAD_DATA: { statusCode: 422, error: 'Unprocessable Entity' },
  BP_ERR_IDEMPOTENCY_MISMATCH: { statusCode: 422, error: 'Unprocessable Entity' },
  /** RATE_LIMIT_MAX per API key, RATE_LIMIT_UNAUTHENTICATED_MAX per client address; Retry-After says when */
  BP_ERR_RATE_LIMITED: { statusCode: 429, error: 'Too Many Requests' },
  /** LIMIT_TENANT_ACTIVE_JOBS: the tenant already has that many queued or running jobs */
  BP_ERR_TOO_MANY_ACTIVE_JOBS: { statusCode: 429, error: 'Too Many Requests' },
  /** LIMIT_TENANT_EVENT_STREAMS: the tenant already has that many job event streams open */
  BP_ERR_TOO_MANY_EVENT_STREAMS: { statusCode: 429, error: 'Too Many Requests' },
  BP_ERR_INTERNAL: { statusCode: 500, error: 'Internal Server Error' },
  BP_ERR_UNAVAILABLE: { statusCode: 503, error: 'Service Unavailable' },
} as const satisfies Record<string, { statusCode: number; error: string }>;

export type ErrorCode = keyof typeof ERRORS;

/**
 * Why a training job failed: a failed job's `error.code`, written by the worker. Not answers to a
 * request (reading the job succeeds), so they carry no HTTP status; clients switch on them.
 */
export const JobErrorCode = z
  .enum([
    /** the cost became NaN or ±Infinity: training diverged; the message names the learning rate */
    'BP_ERR_DIVERGED',
    /** nn refused the data, network or options, or the job's dataset or network no longer exists */
    'BP_ERR_BAD_DATA',
    /** the training thread's heap outgrew THREAD_MAX_OLD_GENERATION_MB */
    'BP_ERR_OUT_OF_MEMORY',
    /** the training thread threw or exited: a bug; the message says what */
    'BP_ERR_TRAINING_CRASHED',
    /** the worker holding the job stopped (killed, crashed, frozen) more than MAX_STALLED_COUNT times */
    'BP_ERR_WORKER_LOST',
    /** the queue gave up on the job; the message is the queue's last failure */
    'BP_ERR_TRAINING_FAILED',
  ])
  .describe(
    'Why the job failed: BP_ERR_DIVERGED (the cost became NaN or infinite: lower the learning rate), BP_ERR_BAD_DATA (the data, network or options cannot be trained, or were deleted), BP_ERR_OUT_OF_MEMORY (training outgrew THREAD_MAX_OLD_GENERATION_MB), BP_ERR_TRAINING_CRASHED (training crashed: a bug), BP_ERR_WORKER_LOST (the worker holding the job stopped more than MAX_STALLED_COUNT times), BP_ERR_TRAINING_FAILED (the queue gave up; the message says why)',
  );
export type JobErrorCode = z.infer<typeof JobErrorCode>;

export const ErrorBody = z
  .object({
    statusCode: z.number().int(),
    code: z.string(),
    error: z.string(),
    message: z.string(),
    details: ErrorDetails.optional(),
  })
  .meta({ id: 'Error' });
export type ErrorBody = z.infer<typeof ErrorBody>;

/** An error a handler throws on purpose; the API's one error handler turns it into an ErrorBody. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly details: ErrorDetails | undefined;

  constructor(code: ErrorCode, message: string, details?: ErrorDetails) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.statusCode = ERRORS[code].statusCode;
    this.details = details;
  }

  toBody(): ErrorBody {
    const body: ErrorBody = {
      statusCode: this.statusCode,
      code: this.code,
      error: ERRORS[this.code].error,
      message: this.message,
    };
    if (this.details !== undefined) body.details = this.details;
    return body;
  }
}

/** A configured limit was exceeded: the error names the limit, its value and the maximum. */
export function limitExceeded(
  limit: string,
  actual: number,
  max: number,
  what: string,
  code:
    | 'BP_ERR_LIMIT_EXCEEDED'
    | 'BP_ERR_PAYLOAD_TOO_LARGE'
    | 'BP_ERR_STORAGE_QUOTA_EXCEEDED'
    | 'BP_ERR_TOO_MANY_ACTIVE_JOBS'
    | 'BP_ERR_TOO_MANY_EVENT_STREAMS' = 'BP_ERR_LIMIT_EXCEEDED',
): ApiError {
  return new ApiError(code, `${what} is ${actual}, above the limit ${limit} = ${max}`, {
    limit,
    actual,
    max,
  });
}
