/**
 * The settings the API and the worker must agree on, in one place: the API enqueues on the queue
 * the worker takes from, both read and write the same rows and the same event streams, and the
 * retry budget a job is created with is the one the worker spends. Each app's schema spreads
 * these fields and adds its own.
 */
import { z } from 'zod';

/** A non-negative integer setting with its default. */
export const envInt = (def: number) => z.coerce.number().int().min(0).default(def);

export const SharedEnvFields = {
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: z.string().url().default('postgresql://postgres@127.0.0.1:5432/backprop'),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  /** BullMQ's key prefix: the API and its workers must use the same one. */
  QUEUE_PREFIX: z.string().min(1).default('bull'),
  /** Attempts of a training job (the API creates the queue entry with them; the worker spends them). */
  JOB_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(3),
  /** A job's event stream in Redis: entries kept at most, idle and after-finish expiry. */
  JOB_EVENTS_MAX_LEN: z.coerce.number().int().min(10).default(10_000),
  JOB_EVENTS_IDLE_TTL_MS: z.coerce.number().int().min(1000).default(86_400_000),
  JOB_EVENTS_FINISHED_TTL_MS: z.coerce.number().int().min(1000).default(3_600_000),
};

/** `source` parsed with `schema`, or an error listing every setting that is wrong and why. */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  source: Record<string, string | undefined>,
): z.output<S> {
  const parsed = schema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
