/** Training jobs: a dataset, a network and how to train it. */
import { z } from 'zod';
import { FiniteNumber, Id, PageQuery, page, StoredText, Timestamp } from './common.ts';
import { JobErrorCode } from './errors.ts';

export const JobStatus = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']);
export type JobStatus = z.infer<typeof JobStatus>;
export const TERMINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

const PARAMETER_KEY = /^[Wb][1-9][0-9]*$/;

/**
 * The first thing wrong with a parameters object, found in one pass. A zod record does not stop
 * at its first bad key or value, so a 10 MB body of `"W1":1,"W2":1,...` would otherwise cost one
 * issue object per key; this gate reports one issue and the record below then only sees valid
 * input.
 */
function firstParameterIssue(value: unknown): { path: (string | number)[]; message: string } | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null; // the record says so
  for (const [key, matrix] of Object.entries(value)) {
    if (!PARAMETER_KEY.test(key)) return { path: [key], message: 'keys are W1, b1, W2, b2, ...' };
    if (!Array.isArray(matrix)) return { path: [key], message: 'expected an array of rows' };
    for (let i = 0; i < matrix.length; i++) {
      const row: unknown = matrix[i];
      if (!Array.isArray(row)) return { path: [key, i], message: 'expected an array of numbers' };
      for (let j = 0; j < row.length; j++) {
        const cell: unknown = row[j];
        if (typeof cell !== 'number' || !Number.isFinite(cell)) {
          return { path: [key, i, j], message: 'must be a finite number' };
        }
      }
    }
  }
  return null;
}

/** Parameters in the course's keys and layout: W1: (n[1], n[0]) as nested rows, b1: (n[1], 1), ... */
export const Parameters = z
  .record(z.string().regex(PARAMETER_KEY, 'keys are W1, b1, W2, b2, ...'), z.array(z.array(FiniteNumber)))
  .meta({ id: 'Parameters' });
/** Parameters in a request: the same, checked by firstParameterIssue first (one issue at most). */
export const ParametersInput = z.preprocess((value, ctx) => {
  const issue = firstParameterIssue(value);
  if (issue) ctx.addIssue({ code: 'custom', ...issue, input: value });
  return value;
}, Parameters);
export type Parameters = z.infer<typeof Parameters>;

/**
 * Whether `value` is valid Parameters, checked where it lies: a zod parse copies every row, and
 * on a worker's idle main thread a copy of a large plan's 1.5 M numbers stays uncollected for as
 * long as the process waits for its next job.
 */
export function isParameters(value: unknown): value is Parameters {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    firstParameterIssue(value) === null
  );
}

/** Each optimiser hyper-parameter and the one optimiser that reads it (a stray one is a mistake). */
const OPTIMIZER_OF_HYPERPARAMETER = [
  ['beta', 'momentum'],
  ['beta1', 'adam'],
  ['beta2', 'adam'],
  ['epsilon', 'adam'],
] as const;

export const Training = z
  .strictObject({
    learningRate: z.number().positive().max(1e3).describe('Step size α of every update, in (0, 1000]'),
    iterations: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('Gradient-descent updates (full batch unless batchSize)'),
    epochs: z.number().int().min(1).optional().describe('Passes over the training samples in mini-batches'),
    batchSize: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('Mini-batch size; omit for full-batch gradient descent'),
    optimizer: z
      .enum(['gd', 'momentum', 'adam'])
      .default('gd')
      .describe(
        'gd: plain gradient descent; momentum: with a velocity (β); adam: with moment estimates (β1, β2, ε)',
      ),
    beta: z
      .number()
      .min(0)
      .lt(1)
      .optional()
      .describe("Momentum's β, in [0, 1); optimizer momentum only (default 0.9)"),
    beta1: z
      .number()
      .min(0)
      .lt(1)
      .optional()
      .describe("Adam's β1 (first moment), in [0, 1); optimizer adam only (default 0.9)"),
    beta2: z
      .number()
      .min(0)
      .lt(1)
      .optional()
      .describe("Adam's β2 (second moment), in [0, 1); optimizer adam only (default 0.999)"),
    epsilon: z.number().positive().optional().describe("Adam's ε, > 0; optimizer adam only (default 1e-8)"),
    l2: z.number().min(0).max(1e6).default(0).describe('L2 regularisation strength λ'),
    seed: z.number().int().min(0).max(0xffffffff).optional().describe('Seeds initialisation and shuffling'),
    validationSplit: z
      .number()
      .min(0)
      .max(0.9)
      .default(0)
      .describe('Fraction of samples held out: round(samples × split) of them, at least one and not all'),
    earlyStopping: z
      .strictObject({ patience: z.number().int().min(1).max(1_000_000) })
      .optional()
      .describe(
        'Stop when the validation cost has not improved for `patience` evaluations; keeps the best weights',
      ),
    normalize: z
      .enum(['standard', 'minmax', 'none'])
      .default('standard')
      .describe(
        'Scale the features before training (and prediction): standard (x-mean)/std, minmax (x-min)/(max-min), or none',
      ),
    costEvery: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('Record the cost every k updates (default: iterations/100)'),
    initialParameters: ParametersInput.optional().describe(
      'Start from these weights instead of a random initialisation',
    ),
    threads: z
      .number()
      .int()
      .min(1)
      .max(64)
      .optional()
      .describe(
        'Threads that share each update (each takes a block of the samples), at most LIMIT_TRAINING_THREADS (default 2, or the limit if lower); thread counts differ only in the last digits (about 1e-12 relative). A worker runs at most WORKER_TRAINING_THREADS of them',
      ),
    dtype: z
      .enum(['float64', 'float32'])
      .optional()
      .describe(
        "Arithmetic of the training: float64 (the default) or float32, about twice as fast on large networks, with costs within about 1e-2 relative of float64's",
      ),
  })
  .superRefine((t, ctx) => {
    if ((t.iterations === undefined) === (t.epochs === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['iterations'],
        message: 'give exactly one of iterations or epochs',
      });
    }
    if (t.epochs !== undefined && t.batchSize === undefined) {
      ctx.addIssue({ code: 'custom', path: ['batchSize'], message: 'epochs need a batchSize' });
    }
    for (const [field, optimizer] of OPTIMIZER_OF_HYPERPARAMETER) {
      if (t[field] !== undefined && t.optimizer !== optimizer) {
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: `${field} applies to optimizer ${optimizer} only, and optimizer is ${t.optimizer}`,
        });
      }
    }
    if (t.earlyStopping && t.validationSplit === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['earlyStopping'],
        message: 'early stopping needs a validationSplit > 0',
      });
    }
  });
export type Training = z.infer<typeof Training>;

export const CreateJob = z
  .strictObject({ datasetId: Id, networkId: Id, training: Training })
  .meta({ id: 'CreateJob' });
export type CreateJob = z.infer<typeof CreateJob>;

export const JobError = z.object({ code: JobErrorCode, message: z.string() });

export const Job = z
  .object({
    id: Id,
    status: JobStatus,
    datasetId: Id,
    networkId: Id,
    training: z
      .record(z.string(), z.unknown())
      .describe('The training options as accepted (defaults filled in)'),
    progress: z.object({ iteration: z.number().int(), iterations: z.number().int() }),
    cost: z.number().nullable().describe('The latest recorded cost'),
    attempts: z.number().int().describe('How many times a worker has started this job'),
    createdAt: Timestamp,
    startedAt: Timestamp.nullable(),
    finishedAt: Timestamp.nullable(),
    error: JobError.nullable(),
    modelId: Id.nullable(),
    worker: z
      .object({
        alive: z
          .boolean()
          .describe(
            "false: the worker stopped reporting (killed, frozen or cut off) and the job waits for another worker, which takes it within about LOCK_DURATION_MS + STALLED_INTERVAL_MS; progress resumes from the job's last checkpoint",
          ),
        lastSeenAt: Timestamp.describe('When the worker last reported'),
      })
      .nullable()
      .describe(
        'The worker training a running job (null unless status is running). A queued job waits for a worker; a queued job with startedAt set was handed back (a worker shut down) and resumes from its checkpoint',
      ),
  })
  .meta({ id: 'Job' });
export type Job = z.infer<typeof Job>;

export const JobCosts = z.object({
  costEvery: z.number().int(),
  costs: z
    .array(z.number().nullable())
    .describe(
      'J_0 (the initial parameters), J_k, J_2k, ... and the final cost; null where a cost was not finite',
    ),
  validation: z
    .object({
      costs: z.array(z.number().nullable()).describe('The cost of the held-out samples (no L2 term)'),
      accuracy: z
        .array(z.number().nullable())
        .optional()
        .describe('Classification: the share of the held-out samples predicted right'),
      mse: z
        .array(z.number().nullable())
        .optional()
        .describe('Regression: the mean squared error over the held-out samples'),
    })
    .optional()
    .describe(
      'Only with a validationSplit: at the same points as `costs` (entry i with costs[i]), the held-out samples scored',
    ),
});

export const JobPage = page(Job);
export const ListJobsQuery = PageQuery.extend({ status: JobStatus.optional() });

export const IdempotencyHeaders = z.object({
  'idempotency-key': StoredText.min(1).max(200).optional(),
});
