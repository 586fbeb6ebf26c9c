/**
 * The shapes of an error body's `details`: one schema each, and ErrorDetails their union, which
 * the OpenAPI document shows (components Error → details). An error without details has none.
 * Objects are loose: a shape may carry more keys (a quota's stored and requested bytes), but each
 * has the keys that identify it.
 */
import { z } from 'zod';

/** Schema validation: every issue (at most 10) with the field's path and the reason. */
export const IssuesDetails = z
  .looseObject({
    issues: z.array(z.object({ path: z.string(), message: z.string() })),
  })
  .meta({ id: 'IssuesDetails' });

/** One bad field of a body, query or upload, named by its path (`labels.3`, `samples.0.1`). */
export const FieldDetails = z
  .looseObject({
    field: z.string(),
    index: z.number().int().optional(),
    line: z.number().int().optional(),
    accepted: z.array(z.string()).optional().describe('the values the field may take'),
  })
  .meta({ id: 'FieldDetails' });

/** A place in an uploaded CSV: the line (1 is the header) and the column (its name, or position). */
export const LineDetails = z
  .looseObject({
    line: z.number().int(),
    column: z.union([z.string(), z.number().int()]).optional(),
  })
  .meta({ id: 'LineDetails' });

/**
 * A configured limit (docs/configuration.md): its name, its value, and what was asked when that is
 * known. Rate limits add the window and when to retry; the storage quota what is stored and
 * what was requested.
 */
export const LimitDetails = z
  .looseObject({
    limit: z.string().describe('the environment variable that sets it, e.g. LIMIT_DATASET_ROWS'),
    max: z.number(),
    actual: z.number().optional(),
    stored: z.number().optional(),
    requested: z.number().optional(),
    windowMs: z.number().optional(),
    retryAfterSeconds: z.number().optional(),
  })
  .meta({ id: 'LimitDetails' });

/**
 * Why a request conflicts with what exists: a `reason` (`in_use`, `referenced`), the `status` of
 * the job in the way, or the id of the job or model concerned. At least one of them.
 */
export const ConflictDetails = z
  .looseObject({
    reason: z.string().optional(),
    status: z.string().optional(),
    jobId: z.string().optional(),
    modelId: z.string().optional(),
  })
  .refine((d) => [d.reason, d.status, d.jobId, d.modelId].some((v) => v !== undefined), {
    message: 'a conflict names a reason, a status, a jobId or a modelId',
  })
  .meta({ id: 'ConflictDetails' });

export const ErrorDetails = z.union([
  IssuesDetails,
  FieldDetails,
  LineDetails,
  LimitDetails,
  ConflictDetails,
]);
export type ErrorDetails = z.infer<typeof ErrorDetails>;
