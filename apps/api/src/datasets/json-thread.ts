/**
 * Worker-thread entry (started by json.ts's parseJsonUpload): parses one JSON dataset upload off
 * the API's main thread and posts back a ThreadAnswer, the features' buffer transferred.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ApiError, Task } from '@backprop/contracts';
import { z } from 'zod';
import { parseJsonDataset, type ThreadAnswer } from './json.ts';

const Request = z.object({
  bytes: z.instanceof(Uint8Array),
  queryTask: Task.optional(),
  limits: z.object({
    LIMIT_DATASET_ROWS: z.number(),
    LIMIT_DATASET_COLUMNS: z.number(),
    LIMIT_DATASET_VALUES: z.number(),
  }),
});

function answer(): { message: ThreadAnswer; transfer: ArrayBuffer[] } {
  try {
    const request = Request.parse(workerData);
    const dataset = parseJsonDataset(request.bytes, request.queryTask, request.limits);
    const buffer = dataset.x.buffer;
    if (!(buffer instanceof ArrayBuffer))
      throw new TypeError('the features are not in a transferable buffer');
    const x = new Float64Array(buffer, dataset.x.byteOffset, dataset.x.length);
    return { message: { ok: true, dataset: { ...dataset, x } }, transfer: [buffer] };
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
