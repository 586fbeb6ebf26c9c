/** GET /v1/usage: what a tenant consumes, what it may still consume, and the limits that apply. */
import { z } from 'zod';
import { JobStatus } from './jobs.ts';

const Bytes = z.number().int().min(0);
const Count = z.number().int().min(0);

/** Every limit a request can hit, by the name errors give it in `details.limit`. */
export const LIMIT_NAMES = [
  'LIMIT_HEADER_BYTES',
  'LIMIT_BODY_BYTES',
  'LIMIT_UPLOAD_BYTES',
  'LIMIT_CSV_LINE_BYTES',
  'LIMIT_DATASET_ROWS',
  'LIMIT_DATASET_COLUMNS',
  'LIMIT_DATASET_VALUES',
  'LIMIT_CLASSES',
  'LIMIT_LAYERS',
  'LIMIT_UNITS_PER_LAYER',
  'LIMIT_PARAMETERS',
  'LIMIT_ITERATIONS',
  'LIMIT_TRAINING_WORK',
  'LIMIT_TRAINING_THREADS',
  'LIMIT_PREDICT_SAMPLES',
  'LIMIT_MODEL_TAGS',
  'LIMIT_ACTIVATION_VALUES',
  'LIMIT_MODEL_EVALUATIONS',
  'LIMIT_TENANT_STORED_BYTES',
  'LIMIT_TENANT_ACTIVE_JOBS',
  'LIMIT_TENANT_EVENT_STREAMS',
] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

export const Usage = z
  .object({
    storedBytes: z
      .object({
        datasets: Bytes.describe('Σ byteSize of your datasets'),
        models: Bytes.describe('Σ parameter bytes of your models (8 per weight or bias)'),
        reserved: Bytes.describe('The model bytes your queued and running jobs will store when they succeed'),
        checkpoints: Bytes.describe(
          'Checkpoints of your queued and running jobs (weights, optimiser state, cost history); gone when a job finishes',
        ),
        total: Bytes.describe('datasets + models + reserved + checkpoints: what counts against the quota'),
        limit: Bytes.describe('LIMIT_TENANT_STORED_BYTES'),
        remaining: Bytes.describe('limit − total, at least 0: the largest upload that still fits'),
      })
      .describe(
        'Uploads (and jobs, for the model they will store) that would exceed the limit are refused (413)',
      ),
    datasets: Count,
    networks: Count,
    models: Count,
    jobs: z.object(
      Object.fromEntries(JobStatus.options.map((s) => [s, Count])) as Record<JobStatus, typeof Count>,
    ),
    activeJobs: z
      .object({
        count: Count.describe('Queued and running jobs'),
        limit: Count.describe('LIMIT_TENANT_ACTIVE_JOBS'),
        remaining: Count,
      })
      .describe('A new job beyond the limit is refused (429) until one finishes'),
    rateLimit: z
      .object({
        limit: Count.describe('RATE_LIMIT_MAX: requests per window for this API key'),
        windowMs: Count.describe('RATE_LIMIT_WINDOW_MS'),
        remaining: Count.describe('Requests left in the current window (this one counted)'),
        resetSeconds: Count.describe('Seconds until the current window ends'),
      })
      .describe('Per API key, shared by every API process; beyond it requests are 429 with Retry-After'),
    limits: z
      .object(Object.fromEntries(LIMIT_NAMES.map((n) => [n, Count])) as Record<LimitName, typeof Count>)
      .describe('Every configured limit, by the name an error gives in details.limit'),
  })
  .meta({ id: 'Usage' });
export type Usage = z.infer<typeof Usage>;
