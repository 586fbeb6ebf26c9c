/**
 * The OpenAPI transforms: per route, the zod type provider's plus request bodies declared per
 * content type (`body: { content: { 'application/json': { schema } } }`), which it does not
 * convert itself; for the whole document, the provider's plus what makes the document usable as
 * a product (optional bodies, inline request bodies, one schema per shape, response descriptions).
 */
import type { SwaggerTransform } from '@fastify/swagger';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';

type Transform = SwaggerTransform<Parameters<typeof jsonSchemaTransform>[0]['schema']>;
type ContentBody = { content: Record<string, { schema: unknown }> };

function isContentBody(body: unknown): body is ContentBody {
  return typeof body === 'object' && body !== null && 'content' in body;
}

export const openApiTransform: Transform = (input) => {
  const body = input.schema?.body;
  if (!isContentBody(body)) return jsonSchemaTransform(input);
  const { body: _perContentType, ...rest } = input.schema;
  const out = jsonSchemaTransform({ ...input, schema: rest });
  const content = Object.fromEntries(
    Object.entries(body.content).map(([type, { schema }]) => [
      type,
      { schema: jsonSchemaTransform({ ...input, schema: { body: schema } }).schema.body },
    ]),
  );
  return { ...out, schema: { ...out.schema, body: { content } } };
};

type Json = unknown;
type Schemas = Record<string, Json>;
type Response = { description?: string; content?: Record<string, { schema?: Json }> };
type Operation = {
  operationId?: string;
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Json }> };
  responses?: Record<string, Response>;
};
type Document = { paths?: Record<string, Record<string, Operation>>; components?: { schemas?: Schemas } };

const SCHEMA_REF = '#/components/schemas/';
/** The zod type provider names the input variant of a schema `<id>Input` and the output `<id>`. */
const INPUT_SUFFIX = 'Input';

/** A copy of a JSON value with every `$ref` to a component schema passed through `rename`. */
function mapRefs(value: Json, rename: (name: string) => string): Json {
  if (Array.isArray(value)) return value.map((v) => mapRefs(v, rename));
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [
      key,
      key === '$ref' && typeof v === 'string' && v.startsWith(SCHEMA_REF)
        ? SCHEMA_REF + rename(v.slice(SCHEMA_REF.length))
        : mapRefs(v, rename),
    ]),
  );
}

function isRecord(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Passes every `$ref` to a component schema in a JSON value through `rename`, in place. */
function renameRefs(value: Json, rename: (name: string) => string): void {
  if (Array.isArray(value)) for (const v of value) renameRefs(v, rename);
  if (!isRecord(value)) return;
  for (const [key, v] of Object.entries(value)) {
    if (key === '$ref' && typeof v === 'string' && v.startsWith(SCHEMA_REF)) {
      value[key] = SCHEMA_REF + rename(v.slice(SCHEMA_REF.length));
    } else renameRefs(v, rename);
  }
}

/** The component names a JSON value refers to. */
function refsIn(value: Json, into = new Set<string>()): Set<string> {
  mapRefs(value, (name) => {
    into.add(name);
    return name;
  });
  return into;
}

/** The component schemas the paths use, directly or through other components. */
function reachable(paths: Json, schemas: Schemas): Set<string> {
  const seen = new Set<string>();
  const pending = [...refsIn(paths)];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (seen.has(name)) continue;
    seen.add(name);
    pending.push(...refsIn(schemas[name]));
  }
  return seen;
}

/**
 * One schema per shape. The type provider emits every registered schema twice, as parsed
 * (`Job`) and as accepted (`JobInput`), whether or not a route uses both. Keep what the paths use;
 * where both variants are used and describe the same shape (their references aside, when those
 * are the same too), keep one under the plain name; a variant used alone takes the plain name.
 */
function oneSchemaPerShape(doc: Document): void {
  const schemas = doc.components?.schemas;
  if (!schemas || !doc.paths) return;
  const used = reachable(doc.paths, schemas);
  const inputs = [...used].filter((name) => name.endsWith(INPUT_SUFFIX));
  const plain = (name: string) => name.slice(0, -INPUT_SUFFIX.length);
  // An input variant used alone takes the plain name; a pair merges where equal, as a greatest
  // fixed point: assume every pair merges, and drop those that still differ until none does.
  const merged = new Set(inputs);
  const rename = (name: string) => (merged.has(name) ? plain(name) : name);
  for (let changed = true; changed; ) {
    changed = false;
    for (const name of merged) {
      const output = plain(name);
      if (!used.has(output)) continue;
      const same =
        JSON.stringify(mapRefs(schemas[name], rename)) === JSON.stringify(mapRefs(schemas[output], rename));
      if (!same) {
        merged.delete(name);
        changed = true;
      }
    }
  }
  const kept: Schemas = {};
  for (const name of Object.keys(schemas)) {
    if (!used.has(name) || (merged.has(name) && used.has(plain(name)))) continue;
    kept[rename(name)] = mapRefs(schemas[name], rename);
  }
  doc.components = { ...doc.components, schemas: kept };
  renameRefs(doc.paths, rename);
}

/**
 * Request bodies inline, under their schema's name as title. openapi-typescript (default options,
 * `defaultNonNullable`) types a property with a `default` as required everywhere except under a
 * request body, so a body schema kept as a component would make `training.l2` and the like
 * required in generated clients, though the service fills them in.
 */
function inlineRequestBodies(doc: Document): void {
  const schemas = doc.components?.schemas ?? {};
  for (const operations of Object.values(doc.paths ?? {})) {
    for (const operation of Object.values(operations)) {
      for (const media of Object.values(operation.requestBody?.content ?? {})) {
        const ref = isRecord(media.schema) ? media.schema.$ref : undefined;
        if (typeof ref !== 'string' || !ref.startsWith(SCHEMA_REF)) continue;
        const name = ref.slice(SCHEMA_REF.length);
        const schema = schemas[name];
        if (!isRecord(schema)) continue;
        const title = name.endsWith(INPUT_SUFFIX) ? name.slice(0, -INPUT_SUFFIX.length) : name;
        media.schema = { title, ...schema };
      }
    }
  }
}

/** What each error status means here; the body is always the error schema. */
const ERROR_DESCRIPTIONS: Record<string, string> = {
  400: 'Invalid request: `details` name the field and the reason',
  401: 'No valid API key (`Authorization: Bearer <key>`)',
  404: 'No such resource in your tenant',
  409: "Refused in the resource's current state (`details` say what stands in the way)",
  413: 'Over a size limit (`details` name the limit)',
  415: 'A content type this operation does not take',
  422: 'Valid in form but not usable as asked (`details` say why)',
  429: 'Rate limited or over a quota: `Retry-After` says when to try again',
  503: 'A service it depends on is unavailable: try again later',
};

/** What each operation's success answers, and answers it gives besides the errors above. */
const RESPONSE_DESCRIPTIONS: Record<string, Record<string, string>> = {
  getHealth: { 200: 'The process is up' },
  getReadiness: { 200: 'Postgres and Redis answer', 503: 'Postgres or Redis does not answer in time' },
  createDataset: { 201: 'The stored dataset, with its id and statistics (Location: its URL)' },
  listDatasets: { 200: 'A page of datasets and the cursor of the next' },
  getDataset: { 200: 'The dataset' },
  deleteDataset: { 204: 'Deleted' },
  createNetwork: { 201: 'The stored network, with its id and parameter count (Location: its URL)' },
  listNetworks: { 200: 'A page of networks and the cursor of the next' },
  getNetwork: { 200: 'The network' },
  deleteNetwork: { 204: 'Deleted' },
  createJob: { 202: 'The queued job (Location: its URL to poll)' },
  listJobs: { 200: 'A page of jobs and the cursor of the next' },
  getJob: { 200: 'The job: status, progress, and its model once it succeeded' },
  getJobCosts: { 200: 'The recorded costs, in order' },
  cancelJob: { 200: 'The job, cancelled or marked to stop' },
  streamJobEvents: { 200: 'The event stream (text/event-stream), open until the job ends' },
  createJobEventsToken: { 201: "A token that opens this job's event stream, and the stream's URL with it" },
  deleteJob: { 204: 'Deleted' },
  getModel: { 200: 'The model' },
  getModelParameters: { 200: 'The weights and biases, layer by layer' },
  predict: { 200: 'One prediction per sample, in order' },
  deleteModel: { 204: 'Deleted' },
  exportModel: { 200: 'The model file in the requested format (Content-Disposition names it)' },
  listModels: { 200: 'A page of models and the cursor of the next' },
  updateModel: { 200: 'The model with its registry name, version and tags' },
  getRegisteredModel: { 200: 'The versions under the name and its aliases' },
  setModelAlias: { 200: 'The alias, the version and model it points to, and the model it pointed to before' },
  deleteModelAlias: { 204: 'Removed' },
  predictWithAlias: { 200: 'One prediction per sample, in order, and the model that made them' },
  getModelReceipt: { 200: 'The receipt' },
  reproduceJob: { 202: 'The new job, queued (Location: its URL to poll)' },
  dryRunJob: { 200: 'What the job would take, and warnings; nothing was stored or queued' },
  createEvaluation: { 201: 'The stored evaluation with its metrics (Location: its URL)' },
  listEvaluations: { 200: "A page of the model's evaluations and the cursor of the next" },
  getEvaluation: { 200: 'The evaluation' },
  deleteEvaluation: { 204: 'Deleted' },
  getUsage: { 200: 'Usage, remaining allowances and limits' },
  createWebhook: { 201: 'The endpoint and its signing secret, shown only this once (Location: its URL)' },
  listWebhooks: { 200: 'A page of endpoints (without secrets) and the cursor of the next' },
  getWebhook: { 200: 'The endpoint (without its secret)' },
  deleteWebhook: { 204: 'Deleted, with its delivery log' },
  listWebhookDeliveries: {
    200: "A page of the endpoint's deliveries, newest first, and the cursor of the next",
  },
};

/** Real response descriptions in place of @fastify/swagger's "Default Response". */
function describeResponses(doc: Document): void {
  for (const operations of Object.values(doc.paths ?? {})) {
    for (const operation of Object.values(operations)) {
      const own = RESPONSE_DESCRIPTIONS[operation.operationId ?? ''] ?? {};
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        const description = own[status] ?? ERROR_DESCRIPTIONS[status];
        if (description) response.description = description;
      }
    }
  }
}

/** True for a JSON schema that also accepts `null` (a body that may be left out). */
function acceptsNull(schema: unknown): boolean {
  if (!isRecord(schema)) return false;
  return schema.type === 'null' || (Array.isArray(schema.anyOf) && schema.anyOf.some(acceptsNull));
}

type TransformObject = typeof jsonSchemaTransformObject;

/**
 * The zod type provider's document transform, then: optional bodies (@fastify/swagger marks every
 * declared body required, but a route whose body schema accepts null (NoBody: cancel, delete)
 * takes no body at all), request bodies inline, one schema per shape, and response descriptions.
 */
export const openApiTransformObject: TransformObject = (input) => {
  const doc = jsonSchemaTransformObject(input) as Document;
  for (const operations of Object.values(doc.paths ?? {})) {
    for (const operation of Object.values(operations)) {
      const body = operation.requestBody;
      if (body?.content && Object.values(body.content).every((c) => acceptsNull(c.schema)))
        body.required = false;
    }
  }
  inlineRequestBodies(doc);
  oneSchemaPerShape(doc);
  describeResponses(doc);
  return doc as ReturnType<TransformObject>;
};
