/**
 * BackpropClient: every main operation of the API, typed by the contracts' zod schemas (requests
 * as z.input, answers parsed with the schema, so a changed contract is a type error here).
 */
import { randomUUID } from 'node:crypto';
import {
  type CreateJob,
  type CreateNetwork,
  Dataset,
  DatasetPage,
  Job,
  JobCosts,
  type JobEvent,
  JobPage,
  type JobStatus,
  Model,
  Network,
  NetworkPage,
  type PredictRequest,
  PredictResponse,
} from '@backprop/contracts';
import type { z } from 'zod';
import { BackpropError, errorFromResponse } from './errors.ts';
import { type JobEventsOptions, jobEvents } from './events.ts';
import { DEFAULT_RETRY, RETRYABLE_STATUSES, type RetryOptions, retryDelayMs, sleep } from './retry.ts';

export interface ClientOptions {
  /** The API's base URL, e.g. http://localhost:3000 (the client adds /v1). */
  baseUrl: string;
  apiKey: string;
  retry?: Partial<RetryOptions>;
  /** Another fetch (tests, proxies); the global one by default. */
  fetch?: typeof fetch;
}

export interface RequestOptions {
  method?: string;
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  signal?: AbortSignal;
}

export interface UploadCsvOptions {
  name?: string;
  /** The CSV column holding the label ("label" by default). */
  label?: string;
  task?: 'classification' | 'regression';
}

export interface PageOptions {
  limit?: number;
  cursor?: string;
}

export class BackpropClient {
  readonly baseUrl: string;
  private readonly apiKey: string;
  private readonly retry: RetryOptions;
  private readonly fetchImpl: typeof fetch;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.apiKey = options.apiKey;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** The URL of an API path (`/jobs/…`, under /v1). */
  url(path: string, query: RequestOptions['query'] = {}): URL {
    const url = new URL(`${this.baseUrl}/v1${path}`);
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url;
  }

  /**
   * One request, retried on 429/503 after the answer's Retry-After (bounded by `retry`). Answers
   * the successful Response; an unsuccessful one is thrown as a BackpropError.
   */
  async raw(path: string, options: RequestOptions = {}): Promise<Response> {
    const url = this.url(path, options.query);
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await this.fetchImpl(url, {
          method: options.method ?? 'GET',
          headers: { authorization: `Bearer ${this.apiKey}`, ...options.headers },
          body: options.body,
          signal: options.signal,
        });
      } catch (err) {
        if (options.signal?.aborted) throw err;
        throw new BackpropError(0, 'BP_CLIENT_NETWORK', `could not reach ${url.origin}: ${String(err)}`);
      }
      if (response.ok) return response;
      if (RETRYABLE_STATUSES.has(response.status) && attempt < this.retry.maxRetries) {
        const wait = retryDelayMs(attempt, response.headers.get('retry-after'), this.retry);
        await response.body?.cancel().catch(() => undefined);
        await sleep(wait);
        continue;
      }
      throw await errorFromResponse(response);
    }
  }

  /** A request whose answer is JSON, parsed with `schema`. */
  async json<S extends z.ZodType>(
    schema: S,
    path: string,
    options: RequestOptions = {},
  ): Promise<z.output<S>> {
    const response = await this.raw(path, options);
    const parsed = schema.safeParse(await response.json());
    if (!parsed.success) {
      throw new BackpropError(
        response.status,
        'BP_CLIENT_BAD_RESPONSE',
        `the answer to ${options.method ?? 'GET'} ${path} does not match the contract: ${parsed.error.message}`,
      );
    }
    return parsed.data;
  }

  private sendJson<S extends z.ZodType>(
    schema: S,
    method: string,
    path: string,
    body: unknown,
    headers = {},
  ) {
    return this.json(schema, path, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  }

  readonly datasets = {
    /** Upload CSV text, or its gzip bytes (sent with Content-Encoding: gzip). */
    upload: (csv: string | Uint8Array, options: UploadCsvOptions & { gzip?: boolean } = {}) => {
      const gzip = options.gzip ?? (typeof csv !== 'string' && csv[0] === 0x1f && csv[1] === 0x8b);
      return this.json(Dataset, '/datasets', {
        method: 'POST',
        query: { name: options.name, label: options.label, task: options.task },
        headers: { 'content-type': 'text/csv', ...(gzip ? { 'content-encoding': 'gzip' } : {}) },
        body: csv,
      });
    },
    get: (id: string) => this.json(Dataset, `/datasets/${encodeURIComponent(id)}`),
    list: (page: PageOptions = {}) => this.json(DatasetPage, '/datasets', { query: { ...page } }),
  };

  readonly networks = {
    create: (network: z.input<typeof CreateNetwork>) => this.sendJson(Network, 'POST', '/networks', network),
    get: (id: string) => this.json(Network, `/networks/${encodeURIComponent(id)}`),
    list: (page: PageOptions = {}) => this.json(NetworkPage, '/networks', { query: { ...page } }),
  };

  readonly jobs = {
    /**
     * Queue a training job. Every call carries an Idempotency-Key (a new UUID unless given), so
     * a retried request (429/503, or a caller repeating it with the same key) never queues twice.
     */
    create: (job: z.input<typeof CreateJob>, options: { idempotencyKey?: string } = {}) =>
      this.sendJson(Job, 'POST', '/jobs', job, { 'idempotency-key': options.idempotencyKey ?? randomUUID() }),
    get: (id: string) => this.json(Job, `/jobs/${encodeURIComponent(id)}`),
    list: (options: PageOptions & { status?: JobStatus } = {}) =>
      this.json(JobPage, '/jobs', { query: { ...options } }),
    cancel: (id: string) => this.json(Job, `/jobs/${encodeURIComponent(id)}/cancel`, { method: 'POST' }),
    costs: (id: string) => this.json(JobCosts, `/jobs/${encodeURIComponent(id)}/costs`),
    /** The job's live events; ends after its terminal status (see events.ts). */
    events: (id: string, options: JobEventsOptions = {}): AsyncGenerator<JobEvent> =>
      jobEvents(this, id, options),
  };

  readonly models = {
    get: (id: string) => this.json(Model, `/models/${encodeURIComponent(id)}`),
    predict: (id: string, samples: PredictRequest['samples']) =>
      this.sendJson(PredictResponse, 'POST', `/models/${encodeURIComponent(id)}/predictions`, { samples }),
  };
}
