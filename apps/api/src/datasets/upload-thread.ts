/**
 * Worker-thread entry (started by thread.ts's runUploadThread): one CPU-heavy step of an upload,
 * off the API's main thread. `json`: parse and validate a JSON dataset body. `labels`: encode
 * the labels. Posts a ThreadAnswer; typed arrays are
 * transferred back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ApiError, ClassLabel, Task } from '@backprop/contracts';
import { z } from 'zod';
import type { ThreadAnswer } from '../threads/run.ts';
import { parseJsonDataset } from './json.ts';
import { encodeLabels } from './labels.ts';

const Request = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('json'),
    bytes: z.instanceof(Uint8Array),
    queryTask: Task.optional(),
    limits: z.object({
      LIMIT_DATASET_ROWS: z.number(),
      LIMIT_DATASET_COLUMNS: z.number(),
      LIMIT_DATASET_VALUES: z.number(),
    }),
  }),
  z.object({
    kind: z.literal('labels'),
    labels: z.array(ClassLabel),
    task: Task.optional(),
    maxClasses: z.number(),
  }),
]);

/** The buffer behind a result's typed array, to transfer it back. */
function transferable(view: Float64Array): ArrayBuffer {
  if (!(view.buffer instanceof ArrayBuffer)) throw new TypeError('a result is not in a transferable buffer');
  return view.buffer;
}

function answer(): { message: ThreadAnswer; transfer: ArrayBuffer[] } {
  try {
    const request = Request.parse(z.object({ request: z.unknown() }).parse(workerData).request);
    if (request.kind === 'json') {
      const dataset = parseJsonDataset(request.bytes, request.queryTask, request.limits);
      return { message: { ok: true, result: dataset }, transfer: [transferable(dataset.x)] };
    }
    const encoded = encodeLabels(request.labels, request.task, request.maxClasses);
    return { message: { ok: true, result: encoded }, transfer: [transferable(encoded.y)] };
  } catch (err) {
    if (err instanceof ApiError) {
      return {
        message: { ok: false, error: { code: err.code, message: err.message, details: err.details } },
        transfer: [],
      };
    }
    throw err; // a bug: the thread's 'error' event carries it to the request's 500
  }
}

const { message, transfer } = answer();
parentPort?.postMessage(message, transfer);
