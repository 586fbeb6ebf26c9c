/**
 * The JSON form of a dataset upload, from its bytes to a JsonDataset: JSON.parse, the
 * contract's schema (CreateDatasetJson, with the same bounded error reporting as every other
 * body), then the checks across fields. Big bodies run this in a worker thread
 * (upload-thread.ts): a 50 MB JSON.parse and its validation would hold the event loop for
 * seconds.
 */
import { ApiError, ClassLabel, CreateDatasetJson, Task } from '@backprop/contracts';
import { z } from 'zod';
import { type $ZodIssue, type ParseContextInternal, safeParse } from 'zod/v4/core';
import { ownBuffer } from '../threads/run.ts';
import { parseJsonBody } from '../validation.ts';
import { checkDatasetShape, type DatasetLimits } from './limits.ts';
import type { ReadUpload } from './store.ts';
import { runUploadThread } from './thread.ts';

/** A parsed JSON upload: its values in one array (bounded by the JSON body's size). */
export interface JsonDataset extends ReadUpload {
  /** samples × features, row per sample. */
  x: Float64Array;
}

export type JsonLimits = DatasetLimits;

/** What parseJsonUpload needs besides the dataset limits: the heap of the thread that parses. */
export interface JsonUploadLimits extends JsonLimits {
  UPLOAD_THREAD_HEAP_MB: number;
}

/** As the route validator reports: at most this many issues, each message at most MAX_MESSAGE characters. */
const MAX_ISSUES = 10;
const MAX_MESSAGE = 300;

export function parseJsonDataset(
  bytes: Uint8Array,
  queryTask: Task | undefined,
  limits: JsonLimits,
): JsonDataset {
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

function fromJson(body: CreateDatasetJson, queryTask: Task | undefined, limits: JsonLimits): JsonDataset {
  const samples = body.features.length;
  const width = body.features[0]!.length;
  checkDatasetShape(samples, width, limits, {
    samples: 'the number of rows',
    features: 'the number of features',
    values: 'the number of feature values',
  });
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

const ParsedInThread = z.object({
  name: z.string().optional(),
  featureNames: z.array(z.string()),
  labelName: z.string(),
  x: z.instanceof(Float64Array),
  samples: z.number().int(),
  labels: z.array(ClassLabel).readonly(),
  task: Task.optional(),
});

/**
 * parseJsonDataset, in a worker thread when the body is big: the main thread only hands over
 * the bytes and takes back the Float64Array of features (both transferred, not copied).
 */
export async function parseJsonUpload(
  bytes: Buffer,
  queryTask: Task | undefined,
  limits: JsonUploadLimits,
): Promise<JsonDataset> {
  if (bytes.byteLength <= OFF_THREAD_BYTES) return parseJsonDataset(bytes, queryTask, limits);
  const own = new Uint8Array(ownBuffer(bytes));
  const result = ParsedInThread.parse(
    await runUploadThread(
      {
        kind: 'json',
        bytes: own,
        queryTask,
        limits: {
          LIMIT_DATASET_ROWS: limits.LIMIT_DATASET_ROWS,
          LIMIT_DATASET_COLUMNS: limits.LIMIT_DATASET_COLUMNS,
          LIMIT_DATASET_VALUES: limits.LIMIT_DATASET_VALUES,
        },
      },
      [own.buffer],
      limits.UPLOAD_THREAD_HEAP_MB,
    ),
  );
  return { ...result, name: result.name, task: result.task };
}
