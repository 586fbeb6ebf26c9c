/**
 * The API's configuration, parsed once from the environment at boot. Nothing else reads
 * process.env. Every limit a request can hit is here, with a default that suits one machine.
 */
import { fileURLToPath } from 'node:url';
import { envInt, parseEnv, SharedEnvFields } from '@backprop/contracts';
import { WebhookApiEnvFields } from '@backprop/webhooks';
import { z } from 'zod';

const positive = (def: number) => z.coerce.number().int().min(1).default(def);

/** The items of a comma-separated setting, trimmed, without empty ones. */
function commaSeparated(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/** `CORS_ORIGINS`: comma-separated origins (scheme://host[:port]) or `*`; empty means no CORS at all. */
const origins = z
  .string()
  .default('')
  .transform(commaSeparated)
  .superRefine((list, ctx) => {
    for (const origin of list) {
      if (origin !== '*' && !/^https?:\/\/[^/\s?#]+$/i.test(origin)) {
        ctx.addIssue({ code: 'custom', message: `"${origin}" is not an origin (scheme://host[:port]) or *` });
      }
    }
  });

/**
 * `TRUST_PROXY`: whose X-Forwarded-For to believe for the client address (which the
 * unauthenticated rate limit keys on). `false` (default): nobody, the socket's peer is the client;
 * `true`: everybody (only behind a proxy that overwrites the header); a number: that many proxy
 * hops; otherwise comma-separated proxy addresses or CIDRs.
 */
const trustProxy = z
  .string()
  .default('false')
  .transform((text): boolean | number | string[] => {
    const value = text.trim();
    if (value === '' || value === 'false') return false;
    if (value === 'true') return true;
    if (/^\d+$/.test(value)) return Number(value);
    return commaSeparated(value);
  });

export const ApiEnv = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  ...SharedEnvFields,
  DB_POOL_MAX: envInt(10),
  REQUEST_TIMEOUT_MS: envInt(120_000),
  CONNECTION_TIMEOUT_MS: envInt(30_000),
  /** After an answer sent before its request's body arrived: how long the rest is read and dropped before the close. */
  LINGER_MS: envInt(2_000),
  SHUTDOWN_TIMEOUT_MS: envInt(10_000),
  TRUST_PROXY: trustProxy,
  CORS_ORIGINS: origins,
  /** The dashboard's built files (apps/dashboard/dist by default); empty: no dashboard is served. */
  DASHBOARD_DIR: z.string().default(fileURLToPath(new URL('../../dashboard/dist/', import.meta.url))),

  RATE_LIMIT_MAX: positive(600),
  RATE_LIMIT_WINDOW_MS: positive(60_000),
  RATE_LIMIT_UNAUTHENTICATED_MAX: positive(30),

  /** Request line and headers together (Node's maxHeaderSize): a longer URL or more headers is a 431. */
  LIMIT_HEADER_BYTES: positive(16 * 1024),
  LIMIT_BODY_BYTES: envInt(10 * 1024 * 1024),
  LIMIT_UPLOAD_BYTES: envInt(256 * 1024 * 1024),
  /** One CSV line, in bytes: a longer line is refused as soon as it is seen (a line is parsed whole). */
  LIMIT_CSV_LINE_BYTES: positive(1024 * 1024),
  LIMIT_DATASET_ROWS: envInt(1_000_000),
  LIMIT_DATASET_COLUMNS: envInt(20_000),
  LIMIT_DATASET_VALUES: envInt(64_000_000),
  LIMIT_CLASSES: envInt(1_000),
  LIMIT_LAYERS: envInt(32),
  LIMIT_UNITS_PER_LAYER: envInt(20_000),
  LIMIT_PARAMETERS: envInt(5_000_000),
  LIMIT_ITERATIONS: envInt(1_000_000),
  LIMIT_TRAINING_WORK: envInt(1_000_000_000),
  /** Threads one job may ask for (training.threads); a worker runs at most its WORKER_TRAINING_THREADS. */
  LIMIT_TRAINING_THREADS: positive(4),
  LIMIT_PREDICT_SAMPLES: envInt(10_000),
  /** Tags on one model (PATCH /v1/models/{id}). */
  LIMIT_MODEL_TAGS: envInt(20),
  /** Dry runs: the succeeded jobs their speed is measured from, and the speed before there are any. */
  DRY_RUN_CALIBRATION_JOBS: z.coerce.number().int().min(1).default(20),
  DRY_RUN_DEFAULT_SECONDS_PER_FLOP: z.coerce.number().positive().default(1e-9),
  /** Activations of one forward pass, samples × Σ units: what a training thread or a prediction holds per matrix. */
  LIMIT_ACTIVATION_VALUES: envInt(50_000_000),
  /** Evaluations a model keeps at most (POST /v1/models/:id/evaluations; delete one to make room). */
  LIMIT_MODEL_EVALUATIONS: envInt(100),
  LIMIT_TENANT_STORED_BYTES: envInt(1024 * 1024 * 1024),
  LIMIT_TENANT_ACTIVE_JOBS: envInt(10),
  /** Job event streams (GET /v1/jobs/:id/events) a tenant holds open at once, across API processes. */
  LIMIT_TENANT_EVENT_STREAMS: positive(10),
  /** An event stream sends a heartbeat comment after this long without events. */
  EVENTS_HEARTBEAT_MS: z.coerce.number().int().min(100).default(15_000),
  /** How long a token from POST /v1/jobs/:id/events/token opens that job's stream. */
  EVENTS_TOKEN_TTL_MS: z.coerce.number().int().min(1000).default(60_000),
  /** Heap of a thread that parses or describes a big upload: an upload that needs more is a 413. */
  UPLOAD_THREAD_HEAP_MB: positive(2048),
  /** Webhook registration: WEBHOOK_MAX_ENDPOINTS_PER_TENANT, WEBHOOK_URL_MAX_LENGTH, the secret key. */
  ...WebhookApiEnvFields,
  /** Heap of a thread that evaluates a model on a big dataset: an evaluation that needs more is a 413. */
  EVALUATION_THREAD_HEAP_MB: positive(2048),
  /** Points of an evaluation's ROC curve at most (evenly spaced beyond; the AUC is the whole curve's). */
  EVALUATION_ROC_MAX_POINTS: z.coerce.number().int().min(2).default(1000),
});
export type ApiEnv = z.infer<typeof ApiEnv>;

export function loadApiEnv(source: NodeJS.ProcessEnv = process.env): ApiEnv {
  return parseEnv(ApiEnv, source);
}
