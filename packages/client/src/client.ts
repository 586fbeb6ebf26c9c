/**
 * BackpropClient: every operation of the API, typed by the contracts' zod schemas (requests
 * as z.input, answers parsed with the schema, so a changed contract is a type error here).
 */
import { randomUUID } from 'node:crypto';
import {
  Alias,
  type CreateDatasetJson,
  CreatedWebhook,
  type CreateEvaluation,
  type CreateJob,
  type CreateNetwork,
  type CreateWebhook,
  Dataset,
  DatasetPage,
  DryRun,
  Evaluation,
  EvaluationPage,
  EventsToken,
  type ExportFormat,
  Job,
  JobCosts,
  type JobEvent,
  JobPage,
  type JobStatus,
  type ListModelsQuery,
  Model,
  ModelPage,
  Network,
  NetworkPage,
  Parameters,
  type PredictRequest,
  PredictResponse,
  Receipt,
  RegisteredModel,
  type UpdateModelRequest,
  Usage,
  Webhook,
  WebhookDeliveryPage,
  WebhookPage,
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
  body?: string | Uint8Array | FormData;
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

  /** Liveness (GET /healthz): true when the process answers. */
  async healthy(): Promise<boolean> {
    return (await this.probe('/healthz')) === 200;
  }

  /** Readiness (GET /readyz): true when the API reaches Postgres and Redis. */
  async ready(): Promise<boolean> {
    return (await this.probe('/readyz')) === 200;
  }

  private async probe(path: string): Promise<number> {
    try {
      const response = await this.fetchImpl(`${this.baseUrl}${path}`);
      await response.body?.cancel();
      return response.status;
    } catch {
      return 0;
    }
  }

  /** A request without an answer body (204). */
  private async send(method: string, path: string, body?: unknown): Promise<void> {
    const response = await this.raw(path, {
      method,
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    await response.body?.cancel();
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
    /** Upload samples as JSON: { features: [[...]], labels: [...] }. */
    create: (dataset: z.input<typeof CreateDatasetJson>, options: Omit<UploadCsvOptions, 'label'> = {}) =>
      this.json(Dataset, '/datasets', {
        method: 'POST',
        query: { name: options.name, task: options.task },
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(dataset),
      }),
    /** Upload the MNIST family's IDX files (each gzipped or not) as one multipart request. */
    uploadIdx: (files: { images: Uint8Array; labels: Uint8Array }, options: { name?: string } = {}) => {
      const form = new FormData();
      form.append('images', new Blob([files.images]), 'images.idx');
      form.append('labels', new Blob([files.labels]), 'labels.idx');
      return this.json(Dataset, '/datasets', { method: 'POST', query: { name: options.name }, body: form });
    },
    get: (id: string) => this.json(Dataset, at('datasets', id)),
    list: (page: PageOptions = {}) => this.json(DatasetPage, '/datasets', { query: { ...page } }),
    delete: (id: string) => this.send('DELETE', at('datasets', id)),
  };

  readonly networks = {
    create: (network: z.input<typeof CreateNetwork>) => this.sendJson(Network, 'POST', '/networks', network),
    get: (id: string) => this.json(Network, at('networks', id)),
    list: (page: PageOptions = {}) => this.json(NetworkPage, '/networks', { query: { ...page } }),
    delete: (id: string) => this.send('DELETE', at('networks', id)),
  };

  readonly jobs = {
    /**
     * Queue a training job. Every call carries an Idempotency-Key (a new UUID unless given), so
     * a retried request (429/503, or a caller repeating it with the same key) never queues twice.
     */
    create: (job: z.input<typeof CreateJob>, options: { idempotencyKey?: string } = {}) =>
      this.sendJson(Job, 'POST', '/jobs', job, { 'idempotency-key': options.idempotencyKey ?? randomUUID() }),
    /** What a job would take (parameters, memory, duration) and warnings; nothing is queued. */
    dryRun: (job: z.input<typeof CreateJob>) => this.sendJson(DryRun, 'POST', '/jobs/dry-run', job),
    get: (id: string) => this.json(Job, at('jobs', id)),
    list: (options: PageOptions & { status?: JobStatus } = {}) =>
      this.json(JobPage, '/jobs', { query: { ...options } }),
    cancel: (id: string) => this.json(Job, `${at('jobs', id)}/cancel`, { method: 'POST' }),
    delete: (id: string) => this.send('DELETE', at('jobs', id)),
    costs: (id: string) => this.json(JobCosts, `${at('jobs', id)}/costs`),
    /** Start the job's resolved plan again; the same Idempotency-Key rule as create. */
    reproduce: (id: string, options: { idempotencyKey?: string } = {}) =>
      this.json(Job, `${at('jobs', id)}/reproduce`, {
        method: 'POST',
        headers: { 'idempotency-key': options.idempotencyKey ?? randomUUID() },
      }),
    /** A short-lived token for one job's event stream (for EventSource, which sends no headers). */
    eventsToken: (id: string) => this.json(EventsToken, `${at('jobs', id)}/events/token`, { method: 'POST' }),
    /** The job's live events; ends after its terminal status (see events.ts). */
    events: (id: string, options: JobEventsOptions = {}): AsyncGenerator<JobEvent> =>
      jobEvents(this, id, options),
  };

  readonly models = {
    get: (id: string) => this.json(Model, at('models', id)),
    list: (query: Omit<z.input<typeof ListModelsQuery>, 'limit'> & PageOptions = {}) =>
      this.json(ModelPage, '/models', { query: { ...query } }),
    /** Set a registry name (its next version; null unregisters) and/or replace the tags. */
    update: (id: string, changes: z.input<typeof UpdateModelRequest>) =>
      this.sendJson(Model, 'PATCH', at('models', id), changes),
    delete: (id: string) => this.send('DELETE', at('models', id)),
    parameters: (id: string) => this.json(Parameters, `${at('models', id)}/parameters`),
    receipt: (id: string) => this.json(Receipt, `${at('models', id)}/receipt`),
    predict: (id: string, samples: PredictRequest['samples']) =>
      this.sendJson(PredictResponse, 'POST', `${at('models', id)}/predictions`, { samples }),
    /** The model as a file: json and js as text, onnx as bytes. */
    export: async (id: string, format: ExportFormat): Promise<Uint8Array> => {
      const response = await this.raw(`${at('models', id)}/export`, { query: { format } });
      return new Uint8Array(await response.arrayBuffer());
    },
  };

  readonly evaluations = {
    create: (modelId: string, evaluation: z.input<typeof CreateEvaluation>) =>
      this.sendJson(Evaluation, 'POST', `${at('models', modelId)}/evaluations`, evaluation),
    list: (modelId: string, page: PageOptions = {}) =>
      this.json(EvaluationPage, `${at('models', modelId)}/evaluations`, { query: { ...page } }),
    get: (modelId: string, id: string) =>
      this.json(Evaluation, `${at('models', modelId)}${at('evaluations', id)}`),
    delete: (modelId: string, id: string) =>
      this.send('DELETE', `${at('models', modelId)}${at('evaluations', id)}`),
  };

  readonly registry = {
    /** A registry name's versions and aliases. */
    get: (name: string) => this.json(RegisteredModel, at('registry', name)),
    setAlias: (name: string, alias: string, version: number) =>
      this.sendJson(Alias, 'PUT', `${at('registry', name)}${at('aliases', alias)}`, { version }),
    deleteAlias: (name: string, alias: string) =>
      this.send('DELETE', `${at('registry', name)}${at('aliases', alias)}`),
    /** Predict with the model an alias points to now (`cat-classifier@production`). */
    predict: (name: string, alias: string, samples: PredictRequest['samples']) =>
      this.sendJson(PredictResponse, 'POST', `${at('registry', name)}${at('aliases', alias)}/predictions`, {
        samples,
      }),
  };

  readonly webhooks = {
    /** Register an endpoint; the answer carries its signing secret, shown this once. */
    create: (webhook: z.input<typeof CreateWebhook>) =>
      this.sendJson(CreatedWebhook, 'POST', '/webhooks', webhook),
    get: (id: string) => this.json(Webhook, at('webhooks', id)),
    list: (page: PageOptions = {}) => this.json(WebhookPage, '/webhooks', { query: { ...page } }),
    delete: (id: string) => this.send('DELETE', at('webhooks', id)),
    deliveries: (id: string, page: PageOptions = {}) =>
      this.json(WebhookDeliveryPage, `${at('webhooks', id)}/deliveries`, { query: { ...page } }),
  };

  /** This tenant's use of its quotas. */
  readonly usage = () => this.json(Usage, '/usage');
}

/** `/collection/id`, the id encoded for a URL. */
const at = (collection: string, id: string) => `/${collection}/${encodeURIComponent(id)}`;
