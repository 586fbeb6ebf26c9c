/**
 * The JSON form of a dataset upload, from its bytes to a ParsedDataset: JSON.parse, the
 * contract's schema (CreateDatasetJson, with the same bounded error reporting as every other
 * body), then the checks across fields. Big bodies run this in a worker thread
 * (`json-thread.ts`): a 50 MB JSON.parse and its validation would hold the event loop for
 * seconds.
 */
import { Worker } from 'node:worker_threads';
import {
  ApiError,
  ClassLabel,
  CreateDatasetJson,
  ERRORS,
  type ErrorCode,
  limitExceeded,
  Task,
} from '@backprop/contracts';
import { z } from 'zod';
import { type $ZodIssue, type ParseContextInternal, safeParse } from 'zod/v4/core';
import { parseJsonBody } from '../validation.ts';
import type { ParsedDataset } from './store.ts';

export interface JsonLimits {
  LIMIT_DATASET_ROWS: number;
  LIMIT_DATASET_COLUMNS: number;
  LIMIT_DATASET_VALUES: number;
}

/** As the route validator reports: at most this many issues, each message at most MAX_MESSAGE characters. */
const MAX_ISSUES = 10;
const MAX_MESSAGE = 300;

export function parseJsonDataset(
  bytes: Uint8Array,
  queryTask: Task | undefined,
  limits: JsonLimits,
): ParsedDataset {
  const value = parseJsonBody(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  const ctx: ParseContextInternal<$ZodIssue> = { abortEarly: true };
  const result = safeParse(CreateDatasetJson, value, ctx);
  if (!result.success) {
    const issues = result.error.issues.slice(0, MAX_ISSUES).map((issue) => ({
      path: ['body', ...issue.path.map(String)].join('.'),
      message: issue.message.length > MAX_MESSAGE ? `${issue.message.slice(0, MAX_MESSAGE)}…` : issue.message,
    }));
    throw new ApiError('BP_ERR_VALIDATION', issues.map((i) => `${i.path}: ${i.message}`).join('; '), {
      issues,
    });
  }
  const parsed = fromJson(result.data, queryTask, limits);
  return parsed;
}

function fromJson(body: CreateDatasetJson, queryTask: Task | undefined, limits: JsonLimits): ParsedDataset {
  const samples = body.features.length;
  const width = body.features[0]!.length;
  if (samples > limits.LIMIT_DATASET_ROWS) {
    throw limitExceeded('LIMIT_DATASET_ROWS', samples, limits.LIMIT_DATASET_ROWS, 'the number of rows');
  }
  if (width > limits.LIMIT_DATASET_COLUMNS) {
    throw limitExceeded(
      'LIMIT_DATASET_COLUMNS',
      width,
      limits.LIMIT_DATASET_COLUMNS,
      'the number of features',
    );
  }
  if (samples * width > limits.LIMIT_DATASET_VALUES) {
    throw limitExceeded(
      'LIMIT_DATASET_VALUES',
      samples * width,
      limits.LIMIT_DATASET_VALUES,
      'the number of feature values',
    );
  }
  if (body.labels.length !== samples) {
    throw new ApiError(
      'BP_ERR_VALIDATION',
      `labels: ${body.labels.length} labels for ${samples} feature rows`,
      {
        field: 'labels',
      },
    );
  }
  const featureNames = body.featureNames ?? Array.from({ length: width }, (_, j) => `x${j + 1}`);
  if (featureNames.length !== width) {
    throw new ApiError(
      'BP_ERR_VALIDATION',
      `featureNames: ${featureNames.length} names for ${width} features`,
      {
        field: 'featureNames',
      },
    );
  }
  const duplicate = featureNames.findIndex((name, j) => featureNames.indexOf(name) !== j);
  if (duplicate !== -1) {
    throw new ApiError(
      'BP_ERR_VALIDATION',
      `featureNames.${duplicate}: "${featureNames[duplicate]}" appears twice`,
      { field: `featureNames.${duplicate}` },
    );
  }
  const x = new Float64Array(samples * width);
  body.features.forEach((row, i) => {
    if (row.length !== width) {
      throw new ApiError('BP_ERR_VALIDATION', `features.${i}: ${row.length} values, but row 0 has ${width}`, {
        field: `features.${i}`,
      });
    }
    x.set(row, i * width);
  });
  return {
    name: body.name,
    featureNames,
    labelName: 'label',
    x,
    samples,
    labels: body.labels,
    task: body.task ?? queryTask,
  };
}

/** Bodies up to this size are parsed on the main thread: a thread's start costs more than they do. */
const OFF_THREAD_BYTES = 1024 * 1024;

const THREAD_BOOT = new URL('./thread-boot.mjs', import.meta.url);
const THREAD_ENTRY = new URL('./json-thread.ts', import.meta.url).href;

/** What json-thread.ts answers: the parsed dataset (x transferred, not copied) or the refusal. */
export const ThreadAnswer = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    dataset: z.object({
      name: z.string().optional(),
      featureNames: z.array(z.string()),
      labelName: z.string(),
      x: z.instanceof(Float64Array),
      samples: z.number().int(),
      labels: z.array(ClassLabel).readonly(),
      task: Task.optional(),
    }),
  }),
  z.object({
    ok: z.literal(false),
    error: z.object({
      code: z.custom<ErrorCode>((code) => typeof code === 'string' && Object.hasOwn(ERRORS, code)),
      message: z.string(),
      // the details of an ApiError the thread threw: an object of the catalog's shapes
      details: z.custom<ConstructorParameters<typeof ApiError>[2]>(
        (details) => details === undefined || (typeof details === 'object' && details !== null),
      ),
    }),
  }),
]);
export type ThreadAnswer = z.infer<typeof ThreadAnswer>;

/**
 * parseJsonDataset, in a worker thread when the body is big: the main thread only hands over
 * the bytes (transferred) and takes back the Float64Array of features (transferred too).
 */
export async function parseJsonUpload(
  bytes: Buffer,
  queryTask: Task | undefined,
  limits: JsonLimits,
): Promise<ParsedDataset> {
  if (bytes.byteLength <= OFF_THREAD_BYTES) return parseJsonDataset(bytes, queryTask, limits);
  // Fastify's Buffer.concat gives a big body its own ArrayBuffer; copy if not, never transfer a pool.
  const own =
    bytes.buffer instanceof ArrayBuffer &&
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength
      ? new Uint8Array(bytes.buffer)
      : Uint8Array.from(bytes);
  const thread = new Worker(THREAD_BOOT, {
    workerData: {
      entry: THREAD_ENTRY,
      bytes: own,
      queryTask,
      limits: {
        LIMIT_DATASET_ROWS: limits.LIMIT_DATASET_ROWS,
        LIMIT_DATASET_COLUMNS: limits.LIMIT_DATASET_COLUMNS,
        LIMIT_DATASET_VALUES: limits.LIMIT_DATASET_VALUES,
      },
    },
    transferList: [own.buffer],
  });
  try {
    const message = await new Promise<unknown>((resolve, reject) => {
      thread.once('message', resolve);
      thread.once('error', reject);
      thread.once('exit', (code) => reject(new Error(`the JSON parsing thread exited (code ${code})`)));
    });
    const answer = ThreadAnswer.parse(message);
    if (!answer.ok) throw new ApiError(answer.error.code, answer.error.message, answer.error.details);
    return { ...answer.dataset, name: answer.dataset.name, task: answer.dataset.task };
  } finally {
    await thread.terminate();
  }
}
